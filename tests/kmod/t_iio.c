// SPDX-License-Identifier: MIT
#include "t_iio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#include <iiofab/uapi.h>

#define T_SYSFS "/sys/bus/iio/devices"

void t_fail(const char *func, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: %s:%d: ", func, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void t_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void t_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int t_path(char *buf, size_t len, int dev, const char *attr)
{
	int n = snprintf(buf, len, T_SYSFS "/iio:device%d/%s", dev, attr);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int t_attr_read(int dev, const char *attr, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd, ret;

	ret = t_path(path, sizeof(path), dev, attr);
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int t_attr_write(int dev, const char *attr, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	ssize_t n;
	int fd, ret;

	ret = t_path(path, sizeof(path), dev, attr);
	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	ret = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return ret;
}

int t_attr_write_u64(int dev, const char *attr, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	return t_attr_write(dev, attr, buf);
}

int t_attr_read_u64(int dev, const char *attr, uint64_t *value)
{
	char buf[64], *end;
	int ret;

	ret = t_attr_read(dev, attr, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*value = strtoull(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

int t_find_device(const char *label)
{
	struct dirent *de;
	DIR *dir;
	int found = -ENODEV;

	dir = opendir(T_SYSFS);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char name[64], lab[64];
		int dev;

		if (sscanf(de->d_name, "iio:device%d", &dev) != 1)
			continue;
		if (t_attr_read(dev, "name", name, sizeof(name)) ||
		    t_attr_read(dev, "label", lab, sizeof(lab)))
			continue;
		if (!strncmp(name, "iiofab-sim-", 11) && !strcmp(lab, label)) {
			found = dev;
			break;
		}
	}
	closedir(dir);
	return found;
}

int t_set_channels(int dev, bool output, unsigned int nchans, unsigned int mask)
{
	unsigned int c;
	int ret;

	for (c = 0; c < nchans; c++) {
		char attr[64];

		snprintf(attr, sizeof(attr), "scan_elements/%s_voltage%u_en",
			 output ? "out" : "in", c);
		ret = t_attr_write(dev, attr, mask & (1u << c) ? "1" : "0");
		if (ret)
			return ret;
	}
	return 0;
}

int t_buffer_enable(int dev, bool on)
{
	return t_attr_write(dev, "buffer0/enable", on ? "1" : "0");
}

int t_open_buffer(int dev, int *chr_fd, int *buf_fd)
{
	char path[64];
	int fd, idx = 0;

	snprintf(path, sizeof(path), "/dev/iio:device%d", dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, IIO_BUFFER_GET_FD_IOCTL, &idx) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*chr_fd = fd;
	*buf_fd = idx;
	return 0;
}

int t_arena_create(struct t_arena *arena, unsigned int nblocks, size_t block_size)
{
	size_t total = (size_t)nblocks * block_size;
	unsigned int i;
	int udev, ret;

	memset(arena, 0, sizeof(*arena));
	arena->memfd = -1;
	arena->block_size = block_size;
	arena->fds = calloc(nblocks, sizeof(*arena->fds));
	if (!arena->fds)
		return -ENOMEM;

	arena->memfd = memfd_create("t_arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (arena->memfd < 0)
		goto out_errno;
	if (ftruncate(arena->memfd, (off_t)total) < 0)
		goto out_errno;
	/* udmabuf needs the size pinned down, and writes must stay possible. */
	if (fcntl(arena->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		goto out_errno;
	arena->map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED,
			  arena->memfd, 0);
	if (arena->map == MAP_FAILED) {
		arena->map = NULL;
		goto out_errno;
	}

	udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (udev < 0)
		goto out_errno;
	for (i = 0; i < nblocks; i++) {
		struct udmabuf_create create = {
			.memfd = (uint32_t)arena->memfd,
			.flags = UDMABUF_FLAGS_CLOEXEC,
			.offset = (uint64_t)i * block_size,
			.size = block_size,
		};
		int fd = ioctl(udev, UDMABUF_CREATE, &create);

		if (fd < 0) {
			ret = -errno;
			close(udev);
			t_arena_destroy(arena);
			return ret;
		}
		arena->fds[arena->nblocks++] = fd;
	}
	close(udev);
	return 0;

out_errno:
	ret = -errno;
	t_arena_destroy(arena);
	return ret;
}

void t_arena_destroy(struct t_arena *arena)
{
	unsigned int i;

	for (i = 0; i < arena->nblocks; i++)
		close(arena->fds[i]);
	free(arena->fds);
	if (arena->map)
		munmap(arena->map, arena->block_size * arena->nblocks);
	if (arena->memfd >= 0)
		close(arena->memfd);
	memset(arena, 0, sizeof(*arena));
	arena->memfd = -1;
}

int t_dmabuf_attach(int buf_fd, int dmabuf_fd)
{
	return ioctl(buf_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dmabuf_fd) < 0 ? -errno : 0;
}

int t_dmabuf_detach(int buf_fd, int dmabuf_fd)
{
	return ioctl(buf_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dmabuf_fd) < 0 ? -errno : 0;
}

int t_dmabuf_enqueue(int buf_fd, int dmabuf_fd, uint64_t bytes, bool cyclic)
{
	struct iio_dmabuf req = {
		.fd = (uint32_t)dmabuf_fd,
		.flags = cyclic ? IIO_BUFFER_DMABUF_CYCLIC : 0,
		.bytes_used = bytes,
	};

	return ioctl(buf_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0 ? -errno : 0;
}

int t_dmabuf_wait(int dmabuf_fd, int timeout_ms)
{
	/* POLLOUT: no fence of either direction is pending. */
	struct pollfd pfd = { .fd = dmabuf_fd, .events = POLLOUT };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n > 0 && (pfd.revents & POLLOUT);
}

int t_dmabuf_sync(int dmabuf_fd, bool start, bool write)
{
	struct dma_buf_sync sync = {
		.flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
			 (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ),
	};
	int ret;

	do {
		ret = ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &sync);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : 0;
}

int t_dmabuf_export_fence(int dmabuf_fd)
{
	struct dma_buf_export_sync_file req = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

	return ioctl(dmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &req) < 0 ? -errno : req.fd;
}

int t_sync_file_status(int sync_fd, int *status)
{
	struct sync_file_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(sync_fd, SYNC_IOC_FILE_INFO, &info) < 0)
		return -errno;
	*status = info.status;
	return 0;
}

uint64_t t_ramp_check(const uint16_t *data, uint64_t nscans, uint64_t n,
		      const unsigned int *chans, unsigned int nchans)
{
	uint64_t bad = 0, i;
	unsigned int k;

	for (i = 0; i < nscans; i++) {
		for (k = 0; k < nchans; k++) {
			uint16_t want = t_ramp(n + i, chans[k]);
			uint16_t got = data[i * nchans + k];

			if (got == want)
				continue;
			if (!bad)
				fprintf(stderr, "mismatch at scan %" PRIu64
					" channel %u: got %u, want %u\n",
					n + i, chans[k], got, want);
			bad++;
		}
	}
	return bad;
}

void t_ramp_fill(uint16_t *data, uint64_t nscans, uint64_t n,
		 const unsigned int *chans, unsigned int nchans)
{
	uint64_t i;
	unsigned int k;

	for (i = 0; i < nscans; i++)
		for (k = 0; k < nchans; k++)
			data[i * nchans + k] = t_ramp(n + i, chans[k]);
}

uint64_t t_counter_index(const uint16_t *scan, unsigned int nchans)
{
	uint64_t n = 0;
	unsigned int k;

	for (k = 0; k < nchans && k < 4; k++)
		n |= (uint64_t)scan[k] << (16 * k);
	return n;
}

uint64_t t_counter_check(const uint16_t *data, uint64_t nscans, uint64_t n,
			 unsigned int nchans)
{
	uint64_t bad = 0, i;
	unsigned int k;

	for (i = 0; i < nscans; i++) {
		for (k = 0; k < nchans; k++) {
			uint16_t want = t_counter(n + i, k);
			uint16_t got = data[i * nchans + k];

			if (got == want)
				continue;
			if (!bad)
				fprintf(stderr, "mismatch at scan %" PRIu64
					" position %u: got %#06x, want %#06x\n",
					n + i, k, got, want);
			bad++;
		}
	}
	return bad;
}

void t_counter_fill(uint16_t *data, uint64_t nscans, uint64_t n,
		    unsigned int nchans)
{
	uint64_t i;
	unsigned int k;

	for (i = 0; i < nscans; i++)
		for (k = 0; k < nchans; k++)
			data[i * nchans + k] = t_counter(n + i, k);
}

int t_stream_open(struct t_stream *st, int dev, unsigned int nblocks, size_t block_size)
{
	unsigned int i;
	int ret;

	ret = t_arena_create(&st->arena, nblocks, block_size);
	if (ret)
		return ret;
	ret = t_open_buffer(dev, &st->chr_fd, &st->buf_fd);
	if (ret)
		goto out_destroy_arena;
	for (i = 0; i < nblocks; i++) {
		ret = t_dmabuf_attach(st->buf_fd, st->arena.fds[i]);
		if (!ret)
			ret = t_dmabuf_enqueue(st->buf_fd, st->arena.fds[i], block_size, false);
		if (ret)
			goto out_close_buffer;
	}
	return 0;

out_close_buffer:
	/* Closing the buffer fd detaches every attached block. */
	close(st->buf_fd);
	close(st->chr_fd);
out_destroy_arena:
	t_arena_destroy(&st->arena);
	return ret;
}

void t_stream_close(struct t_stream *st)
{
	close(st->buf_fd);
	close(st->chr_fd);
	t_arena_destroy(&st->arena);
}
