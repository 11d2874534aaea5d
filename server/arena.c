// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "srv_arena.h"
#include <iiofab/uapi.h>

static int ioctl_restart(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : ret;
}

static int udmabuf_create(int memfd, uint64_t offset, uint64_t size)
{
	struct udmabuf_create req = {
		.memfd = (uint32_t)memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = offset,
		.size = size,
	};
	int dev, fd;

	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	fd = ioctl(dev, UDMABUF_CREATE, &req);
	if (fd < 0)
		fd = -errno;
	close(dev);
	return fd;
}

int srv_arena_create(struct srv_arena **out, size_t block_size,
		     unsigned int count)
{
	struct srv_arena *a;
	unsigned int made;
	int err;

	if (!block_size || !count || block_size % (size_t)sysconf(_SC_PAGESIZE))
		return -EINVAL;
	a = calloc(1, sizeof(*a) + count * sizeof(a->dmabuf[0]));
	if (!a)
		return -ENOMEM;
	a->block_size = block_size;
	a->count = count;
	a->size = block_size * count;
	a->buf_fd = -1;

	a->memfd = memfd_create("iiofab-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (a->memfd < 0) {
		err = -errno;
		goto out_free;
	}
	if (ftruncate(a->memfd, (off_t)a->size) < 0) {
		err = -errno;
		goto out_close_memfd;
	}
	/*
	 * udmabuf needs F_SEAL_SHRINK (pages must stay); GROW keeps the MR and
	 * the block table describing the whole file. Never F_SEAL_WRITE.
	 */
	if (fcntl(a->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto out_close_memfd;
	}
	a->map = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, a->memfd, 0);
	if (a->map == MAP_FAILED) {
		err = -errno;
		goto out_close_memfd;
	}
	for (made = 0; made < count; made++) {
		int fd = udmabuf_create(a->memfd, (uint64_t)made * block_size,
					block_size);

		if (fd < 0) {
			err = fd;
			goto out_close_dmabufs;
		}
		a->dmabuf[made] = fd;
	}
	*out = a;
	return 0;

out_close_dmabufs:
	while (made--)
		close(a->dmabuf[made]);
	munmap(a->map, a->size);
out_close_memfd:
	close(a->memfd);
out_free:
	free(a);
	return err;
}

void srv_arena_detach(struct srv_arena *a)
{
	if (a->buf_fd < 0)
		return;
	/* Safe while queued: the driver detaches after the last fence. */
	while (a->attached) {
		int fd = a->dmabuf[--a->attached];

		(void)ioctl_restart(a->buf_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &fd);
	}
	a->buf_fd = -1;
}

int srv_arena_attach(struct srv_arena *a, int buf_fd)
{
	int err;

	if (a->buf_fd >= 0)
		return -EBUSY;
	a->buf_fd = buf_fd;
	for (a->attached = 0; a->attached < a->count; a->attached++) {
		int fd = a->dmabuf[a->attached];

		err = ioctl_restart(buf_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &fd);
		if (err < 0)
			goto out_detach;
	}
	return 0;

out_detach:
	srv_arena_detach(a);
	/* EPERM/ENODEV from ATTACH mean "this buffer has no DMABUF ops". */
	return (err == -EPERM || err == -ENODEV) ? -EOPNOTSUPP : err;
}

int srv_arena_enqueue(struct srv_arena *a, unsigned int blk, size_t bytes_used,
		      uint32_t flags)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	struct iio_dmabuf req;
	int fd, err;

	if (blk >= a->count || a->buf_fd < 0 || !bytes_used || bytes_used > a->block_size)
		return -EINVAL;
	fd = a->dmabuf[blk];
	/*
	 * END before every enqueue hands the CPU's view back to the device;
	 * udmabuf rejects END without a START, and START does not wait here
	 * because the block's fences have all signalled.
	 */
	err = ioctl_restart(fd, DMA_BUF_IOCTL_SYNC, &sync);
	if (err < 0)
		return err;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	err = ioctl_restart(fd, DMA_BUF_IOCTL_SYNC, &sync);
	if (err < 0)
		return err;
	req = (struct iio_dmabuf){ .fd = (uint32_t)fd, .flags = flags, .bytes_used = bytes_used };
	err = ioctl(a->buf_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req);
	return err < 0 ? -errno : 0;
}

void srv_arena_destroy(struct srv_arena *a)
{
	if (!a)
		return;
	srv_arena_detach(a);
	for (unsigned int i = 0; i < a->count; i++)
		close(a->dmabuf[i]);
	munmap(a->map, a->size);
	close(a->memfd);
	free(a);
}
