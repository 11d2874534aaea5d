/* SPDX-License-Identifier: MIT */
/*
 * The kernel interfaces userspace needs for IIO DMABUF streaming, for
 * systems whose installed headers predate them (IIO DMABUF arrived in
 * Linux 6.9, udmabuf in 4.20, DMA_BUF_IOCTL_EXPORT_SYNC_FILE in 6.0).
 * The system header wins when it has a definition; the values below are
 * the kernel's ABI (include/uapi/linux/iio/buffer.h, udmabuf.h, dma-buf.h)
 * and cannot change.
 */
#ifndef IIOFAB_UAPI_H
#define IIOFAB_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#if defined(__has_include)
#if __has_include(<linux/iio/buffer.h>)
#include <linux/iio/buffer.h>
#endif
#if __has_include(<linux/udmabuf.h>)
#include <linux/udmabuf.h>
#endif
#if __has_include(<linux/dma-buf.h>)
#include <linux/dma-buf.h>
#endif
#endif

/* IIO buffer chardev and DMABUF ioctls (Linux 5.13 / 6.9). */
#ifndef IIO_BUFFER_GET_FD_IOCTL
#define IIO_BUFFER_GET_FD_IOCTL			_IOWR('i', 0x91, int)
#endif

#ifndef IIO_BUFFER_DMABUF_ENQUEUE_IOCTL
#define IIO_BUFFER_DMABUF_CYCLIC		(1 << 0)
#define IIO_BUFFER_DMABUF_SUPPORTED_FLAGS	0x00000001

struct iio_dmabuf {
	__u32 fd;
	__u32 flags;
	__u64 bytes_used;
};

#define IIO_BUFFER_DMABUF_ATTACH_IOCTL		_IOW('i', 0x92, int)
#define IIO_BUFFER_DMABUF_DETACH_IOCTL		_IOW('i', 0x93, int)
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL		_IOW('i', 0x94, struct iio_dmabuf)
#endif

#ifndef IIO_BUFFER_DMABUF_CYCLIC
#define IIO_BUFFER_DMABUF_CYCLIC		(1 << 0)
#endif

/* udmabuf: a dmabuf over a sealed memfd slice. */
#ifndef UDMABUF_CREATE
#define UDMABUF_FLAGS_CLOEXEC	0x01

struct udmabuf_create {
	__u32 memfd;
	__u32 flags;
	__u64 offset;
	__u64 size;
};

#define UDMABUF_CREATE		_IOW('u', 0x42, struct udmabuf_create)
#endif

/* dma-buf CPU access and fence export. */
#ifndef DMA_BUF_IOCTL_SYNC
struct dma_buf_sync {
	__u64 flags;
};

#define DMA_BUF_SYNC_READ	(1 << 0)
#define DMA_BUF_SYNC_WRITE	(2 << 0)
#define DMA_BUF_SYNC_RW		(DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START	(0 << 2)
#define DMA_BUF_SYNC_END	(1 << 2)
#define DMA_BUF_BASE		'b'
#define DMA_BUF_IOCTL_SYNC	_IOW(DMA_BUF_BASE, 0, struct dma_buf_sync)
#endif

#ifndef DMA_BUF_IOCTL_EXPORT_SYNC_FILE
struct dma_buf_export_sync_file {
	__u32 flags;
	__s32 fd;
};

#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE	_IOWR('b', 2, struct dma_buf_export_sync_file)
#endif

#endif /* IIOFAB_UAPI_H */
