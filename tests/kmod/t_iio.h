/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the kmod.* lab tests: sysfs attributes of the simulated
 * converters, IIO buffer fds, and udmabuf blocks carved from one memfd.
 * Every int function returns >= 0 or -errno.
 */
#ifndef T_IIO_H
#define T_IIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* Prints "FAIL: <where>: <what>" and returns 1 from the caller's scope. */
#define T_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			t_fail(__func__, __LINE__, __VA_ARGS__);	\
			return 1;					\
		}							\
	} while (0)

void t_fail(const char *func, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void t_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double t_now(void);
void t_sleep_ms(unsigned int ms);

/* The iio:deviceN number of the simulated converter labelled @label. */
int t_find_device(const char *label);

int t_attr_write(int dev, const char *attr, const char *value);
int t_attr_write_u64(int dev, const char *attr, uint64_t value);
int t_attr_read_u64(int dev, const char *attr, uint64_t *value);
int t_attr_read(int dev, const char *attr, char *buf, size_t len);

/* Enables exactly the channels in @mask (bit c = voltage<c>). */
int t_set_channels(int dev, bool output, unsigned int nchans, unsigned int mask);
int t_buffer_enable(int dev, bool on);

/* Opens /dev/iio:deviceN and returns the buffer0 fd through *buf_fd. */
int t_open_buffer(int dev, int *chr_fd, int *buf_fd);

struct t_arena {
	int memfd;
	uint8_t *map;
	size_t block_size;
	unsigned int nblocks;
	int *fds;
};

int t_arena_create(struct t_arena *arena, unsigned int nblocks, size_t block_size);
void t_arena_destroy(struct t_arena *arena);
/*
 * A streaming DMABUF setup: an arena of nblocks x block_size, the buffer fd
 * of device dev, every block attached and enqueued whole (not enabled).
 * On failure everything taken is released.
 */
struct t_stream {
	struct t_arena arena;
	int chr_fd;
	int buf_fd;
};

int t_stream_open(struct t_stream *st, int dev, unsigned int nblocks, size_t block_size);
void t_stream_close(struct t_stream *st);

static inline void *t_arena_block(struct t_arena *arena, unsigned int i)
{
	return arena->map + (size_t)i * arena->block_size;
}

int t_dmabuf_attach(int buf_fd, int dmabuf_fd);
int t_dmabuf_detach(int buf_fd, int dmabuf_fd);
int t_dmabuf_enqueue(int buf_fd, int dmabuf_fd, uint64_t bytes, bool cyclic);
/* 1 when no fence is pending, 0 on timeout. */
int t_dmabuf_wait(int dmabuf_fd, int timeout_ms);
int t_dmabuf_sync(int dmabuf_fd, bool start, bool write);
/* A sync_file fd holding the dmabuf's current fences, for their status later. */
int t_dmabuf_export_fence(int dmabuf_fd);
/* Status of a sync_file: 1 signalled, 0 pending, negative = fence error. */
int t_sync_file_status(int sync_fd, int *status);

/* The ramp value of channel @c at sample index @n. */
static inline uint16_t t_ramp(uint64_t n, unsigned int c)
{
	return (uint16_t)(n + 4096u * c);
}

/*
 * Checks @nscans interleaved scans of the channels in @chans against the
 * ramp from sample index @n; returns the number of mismatching values and
 * reports the first one.
 */
uint64_t t_ramp_check(const uint16_t *data, uint64_t nscans, uint64_t n,
		      const unsigned int *chans, unsigned int nchans);
void t_ramp_fill(uint16_t *data, uint64_t nscans, uint64_t n,
		 const unsigned int *chans, unsigned int nchans);

/*
 * The counter pattern: the enabled channel at position @pos of scan @n
 * (0 = lowest enabled scan index) holds bits [16 (pos mod 4), +16) of n.
 */
static inline uint16_t t_counter(uint64_t n, unsigned int pos)
{
	return (uint16_t)(n >> (16 * (pos % 4)));
}

/*
 * The scan index one counter scan identifies: all 64 bits with 4 or more
 * channels, n mod 2^(16 nchans) with fewer.
 */
uint64_t t_counter_index(const uint16_t *scan, unsigned int nchans);
/* As t_ramp_check()/t_ramp_fill(), for the counter from scan index @n. */
uint64_t t_counter_check(const uint16_t *data, uint64_t nscans, uint64_t n,
			 unsigned int nchans);
void t_counter_fill(uint16_t *data, uint64_t nscans, uint64_t n,
		    unsigned int nchans);

#endif /* T_IIO_H */
