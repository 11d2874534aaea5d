// SPDX-License-Identifier: MIT
/*
 * Device discovery and attribute access through libiio's local backend.
 *
 * libiio 0.24's own buffer object reads through fileio, so streaming does
 * not use it: the buffer fd comes from IIO_BUFFER_GET_FD_IOCTL, while the
 * scan-element and buffer attributes still go through libiio.
 */
#include <errno.h>
#include <fcntl.h>
#include <iio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "srv_iio.h"
#include <iiofab/log.h>
#include <iiofab/match.h>
#include <iiofab/scan.h>
#include <iiofab/uapi.h>

struct srv_iio {
	struct iio_context *ctx;
	const struct iiofab_logger *log;
};

/* libiio returns negative errno from ssize_t calls; keep it, clamp to int. */
static int from_iio_ssize(ssize_t ret)
{
	if (ret < 0)
		return ret < -4095 ? -EIO : (int)ret;
	return ret > 0x7fffffff ? 0x7fffffff : (int)ret;
}

int srv_iio_open(struct srv_iio **out, const struct iiofab_logger *log)
{
	struct srv_iio *iio;
	int err;

	iio = calloc(1, sizeof(*iio));
	if (!iio)
		return -ENOMEM;
	iio->log = log;
	/* NULL + errno (libiio's constructor convention). */
	iio->ctx = iio_create_local_context();
	if (!iio->ctx) {
		err = errno ? -errno : -ENODEV;
		goto out_free;
	}
	iiofab_log_info(log, "iio: local context with %u device(s)",
		 iio_context_get_devices_count(iio->ctx));
	*out = iio;
	return 0;

out_free:
	free(iio);
	return err;
}

void srv_iio_close(struct srv_iio *iio)
{
	if (!iio)
		return;
	iio_context_destroy(iio->ctx);
	free(iio);
}

unsigned int srv_iio_device_count(const struct srv_iio *iio)
{
	return iio_context_get_devices_count(iio->ctx);
}

const struct iio_device *srv_iio_device(const struct srv_iio *iio, unsigned int i)
{
	return iio_context_get_device(iio->ctx, i);
}

static const char *match_field(const void *table, unsigned int i, enum iiofab_match_field f)
{
	const struct iio_device *dev = iio_context_get_device(table, i);

	return f == IIOFAB_MATCH_ID ? iio_device_get_id(dev) :
	       f == IIOFAB_MATCH_NAME ? iio_device_get_name(dev) : iio_device_get_label(dev);
}

const struct iio_device *srv_iio_find_device(const struct srv_iio *iio,
					     const char *key)
{
	int i = iiofab_match_device(key, iio->ctx, iio_context_get_devices_count(iio->ctx),
				    match_field);

	return i < 0 ? NULL : iio_context_get_device(iio->ctx, (unsigned int)i);
}

const char *srv_iio_dev_id(const struct iio_device *dev)
{
	return iio_device_get_id(dev);
}

const char *srv_iio_dev_name(const struct iio_device *dev)
{
	const char *s = iio_device_get_name(dev);

	return s ? s : "";
}

const char *srv_iio_dev_label(const struct iio_device *dev)
{
	const char *s = iio_device_get_label(dev);

	return s ? s : "";
}

enum srv_iio_kind srv_iio_dev_kind(const struct iio_device *dev)
{
	unsigned int n = iio_device_get_channels_count(dev);
	bool in = false, out = false;

	for (unsigned int i = 0; i < n; i++) {
		const struct iio_channel *chn = iio_device_get_channel(dev, i);

		if (!iio_channel_is_scan_element(chn))
			continue;
		if (iio_channel_is_output(chn))
			out = true;
		else
			in = true;
	}
	if (out)
		return SRV_IIO_OUTPUT;
	return in ? SRV_IIO_INPUT : SRV_IIO_OTHER;
}

unsigned int srv_iio_dev_attr_count(const struct iio_device *dev)
{
	return iio_device_get_attrs_count(dev);
}

const char *srv_iio_dev_attr(const struct iio_device *dev, unsigned int i)
{
	return iio_device_get_attr(dev, i);
}

unsigned int srv_iio_dev_buffer_attr_count(const struct iio_device *dev)
{
	return iio_device_get_buffer_attrs_count(dev);
}

const char *srv_iio_dev_buffer_attr(const struct iio_device *dev, unsigned int i)
{
	return iio_device_get_buffer_attr(dev, i);
}

unsigned int srv_iio_dev_channel_count(const struct iio_device *dev)
{
	return iio_device_get_channels_count(dev);
}

static void chan_info(const struct iio_channel *chn, struct srv_chan_info *info)
{
	const struct iio_data_format *fmt = iio_channel_get_data_format(chn);
	const char *name = iio_channel_get_name(chn);

	memset(info, 0, sizeof(*info));
	info->id = iio_channel_get_id(chn);
	info->name = name ? name : "";
	info->output = iio_channel_is_output(chn);
	info->scan_index = iio_channel_is_scan_element(chn) ?
			   (int)iio_channel_get_index(chn) : -1;
	info->is_signed = fmt->is_signed;
	info->bits = fmt->bits;
	info->storage_bits = fmt->length;
	info->shift = fmt->shift;
	info->big_endian = fmt->is_be;
	info->repeat = fmt->repeat ? fmt->repeat : 1;
	info->n_attrs = iio_channel_get_attrs_count(chn);
}

void srv_iio_chan_info(const struct iio_device *dev, unsigned int i,
		       struct srv_chan_info *info)
{
	chan_info(iio_device_get_channel(dev, i), info);
}

const char *srv_iio_chan_attr(const struct iio_device *dev, unsigned int chan,
			      unsigned int i)
{
	return iio_channel_get_attr(iio_device_get_channel(dev, chan), i);
}

static int resolve_attr(const struct iio_device *dev, enum srv_iio_scope scope,
			const char *chan, bool output, const char *attr,
			const struct iio_channel **chn)
{
	*chn = NULL;
	switch (scope) {
	case SRV_IIO_SCOPE_DEVICE:
		return iio_device_find_attr(dev, attr) ? 0 : -ENOENT;
	case SRV_IIO_SCOPE_BUFFER:
		return iio_device_find_buffer_attr(dev, attr) ? 0 : -ENOENT;
	case SRV_IIO_SCOPE_CHANNEL:
		*chn = iio_device_find_channel(dev, chan, output);
		if (!*chn)
			return -ENXIO;
		return iio_channel_find_attr(*chn, attr) ? 0 : -ENOENT;
	}
	return -EINVAL;
}

int srv_iio_attr_read(const struct iio_device *dev, enum srv_iio_scope scope,
		      const char *chan, bool output, const char *attr,
		      char *buf, size_t len)
{
	const struct iio_channel *chn;
	ssize_t ret;
	int err;

	err = resolve_attr(dev, scope, chan, output, attr, &chn);
	if (err)
		return err;
	if (scope == SRV_IIO_SCOPE_DEVICE)
		ret = iio_device_attr_read(dev, attr, buf, len);
	else if (scope == SRV_IIO_SCOPE_BUFFER)
		ret = iio_device_buffer_attr_read(dev, attr, buf, len);
	else
		ret = iio_channel_attr_read(chn, attr, buf, len);
	err = from_iio_ssize(ret);
	if (err < 0)
		return err;
	/* libiio counts the NUL; strip it and a trailing newline. */
	buf[len - 1] = '\0';
	err = (int)strlen(buf);
	while (err > 0 && buf[err - 1] == '\n')
		buf[--err] = '\0';
	return err;
}

int srv_iio_attr_write(const struct iio_device *dev, enum srv_iio_scope scope,
		       const char *chan, bool output, const char *attr,
		       const char *value)
{
	const struct iio_channel *chn;
	ssize_t ret;
	int err;

	err = resolve_attr(dev, scope, chan, output, attr, &chn);
	if (err)
		return err;
	if (scope == SRV_IIO_SCOPE_DEVICE)
		ret = iio_device_attr_write(dev, attr, value);
	else if (scope == SRV_IIO_SCOPE_BUFFER)
		ret = iio_device_buffer_attr_write(dev, attr, value);
	else
		ret = iio_channel_attr_write(chn, attr, value);
	err = from_iio_ssize(ret);
	return err < 0 ? err : 0;
}

/* The scannable channel of that direction with scan index idx, or NULL. */
static const struct iio_channel *scan_channel(const struct iio_device *dev, bool output, int idx)
{
	unsigned int n = iio_device_get_channels_count(dev);

	for (unsigned int i = 0; i < n; i++) {
		const struct iio_channel *chn = iio_device_get_channel(dev, i);

		if (iio_channel_is_scan_element(chn) && iio_channel_is_output(chn) == output &&
		    iio_channel_get_index(chn) == idx)
			return chn;
	}
	return NULL;
}

int srv_iio_scan_layout(const struct iio_device *dev, bool output,
			uint64_t mask, struct srv_scan *scan)
{
	struct iiofab_scan_elem elems[SRV_IIO_MAX_SCAN];
	int bytes;

	if (!mask)
		return -EINVAL;
	memset(scan, 0, sizeof(*scan));
	/* Scan order is ascending scan index, whatever libiio's list order. */
	for (int idx = 0; idx < 64; idx++) {
		const struct iio_channel *chn;
		struct srv_chan_info *ci = &scan->ch[scan->n];

		if (!(mask & (1ULL << idx)))
			continue;
		chn = scan_channel(dev, output, idx);
		if (!chn)
			return -ENOENT;
		chan_info(chn, ci);
		elems[scan->n] = (struct iiofab_scan_elem){ ci->storage_bits, (uint16_t)ci->repeat };
		scan->n++;
	}
	bytes = iiofab_scan_layout(elems, scan->n, NULL);
	if (bytes < 0)
		return bytes;
	scan->scan_bytes = (unsigned int)bytes;
	return 0;
}

/*
 * libiio 0.24 keeps a channel's "en" file as a private attribute that only
 * its own fileio buffer writes; the legacy scan_elements path is written
 * through the device attribute call, which the local backend passes on as a
 * path relative to the device directory.
 */
static int chan_set_enabled(const struct iio_channel *chn, bool on)
{
	const struct iio_device *dev = iio_channel_get_device(chn);
	char path[256];

	snprintf(path, sizeof(path), "scan_elements/%s_%s_en",
		 iio_channel_is_output(chn) ? "out" : "in", iio_channel_get_id(chn));
	return from_iio_ssize(iio_device_attr_write(dev, path, on ? "1" : "0"));
}

int srv_iio_scan_enable(const struct iio_device *dev, bool output,
			const struct srv_scan *scan)
{
	unsigned int n = iio_device_get_channels_count(dev);

	for (unsigned int i = 0; i < n; i++) {
		const struct iio_channel *chn = iio_device_get_channel(dev, i);
		bool on = false;
		int err;

		if (!iio_channel_is_scan_element(chn) ||
		    iio_channel_is_output(chn) != output)
			continue;
		for (unsigned int j = 0; j < scan->n; j++)
			if (scan->ch[j].scan_index == iio_channel_get_index(chn))
				on = true;
		err = chan_set_enabled(chn, on);
		if (err < 0)
			return err;
	}
	return 0;
}

void srv_iio_scan_disable(const struct iio_device *dev, bool output)
{
	unsigned int n = iio_device_get_channels_count(dev);

	for (unsigned int i = 0; i < n; i++) {
		const struct iio_channel *chn = iio_device_get_channel(dev, i);

		if (iio_channel_is_scan_element(chn) &&
		    iio_channel_is_output(chn) == output)
			(void)chan_set_enabled(chn, false);
	}
}

int srv_iio_buffer_open(const struct iio_device *dev)
{
	char path[64];
	int devfd, fd, err;

	snprintf(path, sizeof(path), "/dev/%s", iio_device_get_id(dev));
	devfd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (devfd < 0)
		return -errno;
	fd = 0;	/* buffer index in, fd out */
	if (ioctl(devfd, IIO_BUFFER_GET_FD_IOCTL, &fd) < 0) {
		err = -errno;
		goto out_close_dev;
	}
	/*
	 * The buffer fd keeps the device alive; closing the chardev lets
	 * other tools open it for attributes meanwhile.
	 */
	close(devfd);
	/* Never let an enqueue wait on fences inside the event loop. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;

out_close_dev:
	close(devfd);
	return err;
}

int srv_iio_buffer_set_length(const struct iio_device *dev, unsigned long scans)
{
	char v[32];

	snprintf(v, sizeof(v), "%lu", scans);
	int err = from_iio_ssize(iio_device_buffer_attr_write(dev, "length", v));

	return err < 0 ? err : 0;
}

int srv_iio_buffer_enable(const struct iio_device *dev, bool on)
{
	int err = from_iio_ssize(iio_device_buffer_attr_write(dev, "enable",
							      on ? "1" : "0"));

	return err < 0 ? err : 0;
}

int srv_iio_counter_open(const struct iio_device *dev, const char *attr)
{
	char path[256];
	int fd;

	if (!iio_device_find_attr(dev, attr))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/%s",
		 iio_device_get_id(dev), attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int srv_iio_counter_read(int fd, uint64_t *val)
{
	char buf[32];
	char *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	*val = strtoull(buf, &end, 10);
	return end != buf ? 0 : -EINVAL;
}
