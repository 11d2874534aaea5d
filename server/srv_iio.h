/* SPDX-License-Identifier: MIT */
/*
 * IIO access through libiio's local backend. Only iio.c includes <iio.h>;
 * the rest of the daemon sees libiio objects as opaque pointers.
 */
#ifndef IIOFAB_SRV_IIO_H
#define IIOFAB_SRV_IIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iio_device;
struct iio_channel;
struct iiofab_logger;
struct srv_iio;

enum srv_iio_kind {
	SRV_IIO_INPUT = 0,
	SRV_IIO_OUTPUT = 1,
	SRV_IIO_OTHER = 2,
};

enum srv_iio_scope {
	SRV_IIO_SCOPE_DEVICE = 0,
	SRV_IIO_SCOPE_CHANNEL = 1,
	SRV_IIO_SCOPE_BUFFER = 2,
};

#define SRV_IIO_MAX_SCAN 64

struct srv_chan_info {
	const char *id;
	const char *name;	/* "" when the channel has none */
	bool output;
	int scan_index;		/* -1: not scannable */
	bool is_signed;
	uint8_t bits;
	uint8_t storage_bits;
	uint8_t shift;
	bool big_endian;
	unsigned int repeat;
	unsigned int n_attrs;
};

struct srv_scan {
	unsigned int n;
	unsigned int scan_bytes;
	struct srv_chan_info ch[SRV_IIO_MAX_SCAN];	/* scan order */
};

int srv_iio_open(struct srv_iio **out, const struct iiofab_logger *log);
void srv_iio_close(struct srv_iio *iio);

unsigned int srv_iio_device_count(const struct srv_iio *iio);
const struct iio_device *srv_iio_device(const struct srv_iio *iio, unsigned int i);
/* By id ("iio:device0"), then name, then label. NULL when none matches. */
const struct iio_device *srv_iio_find_device(const struct srv_iio *iio,
					     const char *key);

const char *srv_iio_dev_id(const struct iio_device *dev);
const char *srv_iio_dev_name(const struct iio_device *dev);	/* never NULL */
const char *srv_iio_dev_label(const struct iio_device *dev);	/* never NULL */
enum srv_iio_kind srv_iio_dev_kind(const struct iio_device *dev);
unsigned int srv_iio_dev_attr_count(const struct iio_device *dev);
const char *srv_iio_dev_attr(const struct iio_device *dev, unsigned int i);
unsigned int srv_iio_dev_buffer_attr_count(const struct iio_device *dev);
const char *srv_iio_dev_buffer_attr(const struct iio_device *dev, unsigned int i);
unsigned int srv_iio_dev_channel_count(const struct iio_device *dev);
void srv_iio_chan_info(const struct iio_device *dev, unsigned int i,
		       struct srv_chan_info *info);
const char *srv_iio_chan_attr(const struct iio_device *dev, unsigned int chan,
			      unsigned int i);

/*
 * Attribute access. chan is used for SRV_IIO_SCOPE_CHANNEL only.
 * Returns the value length (read) or 0 (write); -ENXIO when the channel does
 * not exist, -ENOENT when the attribute does not, other -errno from sysfs.
 */
int srv_iio_attr_read(const struct iio_device *dev, enum srv_iio_scope scope,
		      const char *chan, bool output, const char *attr,
		      char *buf, size_t len);
int srv_iio_attr_write(const struct iio_device *dev, enum srv_iio_scope scope,
		       const char *chan, bool output, const char *attr,
		       const char *value);

/*
 * Layout of one interleaved scan for the channels whose scan indices are set
 * in mask. -ENOENT if a bit names no scannable channel of that direction,
 * -EINVAL for an empty mask.
 */
int srv_iio_scan_layout(const struct iio_device *dev, bool output,
			uint64_t mask, struct srv_scan *scan);
/* Enables exactly the channels in scan (of that direction), disables the rest. */
int srv_iio_scan_enable(const struct iio_device *dev, bool output,
			const struct srv_scan *scan);
void srv_iio_scan_disable(const struct iio_device *dev, bool output);

/*
 * A device attribute holding a count (overruns, underruns), read on every
 * block: one open sysfs file re-read with pread, instead of libiio's
 * open-read-close per read. -ENOENT when the device has no such attribute.
 */
int srv_iio_counter_open(const struct iio_device *dev, const char *attr);
int srv_iio_counter_read(int fd, uint64_t *val);

/* A DMABUF-capable buffer fd for buffer 0 of dev (IIO_BUFFER_GET_FD_IOCTL). */
int srv_iio_buffer_open(const struct iio_device *dev);
int srv_iio_buffer_set_length(const struct iio_device *dev, unsigned long scans);
int srv_iio_buffer_enable(const struct iio_device *dev, bool on);

#endif
