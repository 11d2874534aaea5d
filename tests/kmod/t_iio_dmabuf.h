/* SPDX-License-Identifier: MIT */
/*
 * IIO DMABUF uapi (Linux 6.12, include/uapi/linux/iio/buffer.h). The build
 * machine's linux-libc-dev predates it, so the definitions are repeated here
 * and checked against the kernel's own header when that one has them.
 */
#ifndef T_IIO_DMABUF_H
#define T_IIO_DMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/iio/buffer.h>

#ifndef IIO_BUFFER_DMABUF_ATTACH_IOCTL
#define IIO_BUFFER_DMABUF_CYCLIC		(1 << 0)
#define IIO_BUFFER_DMABUF_SUPPORTED_FLAGS	0x00000001

struct iio_dmabuf {
	__u32 fd;
	__u32 flags;
	__u64 bytes_used;
};

#define IIO_BUFFER_DMABUF_ATTACH_IOCTL	_IOW('i', 0x92, int)
#define IIO_BUFFER_DMABUF_DETACH_IOCTL	_IOW('i', 0x93, int)
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL	_IOW('i', 0x94, struct iio_dmabuf)
#endif

#ifndef IIO_BUFFER_GET_FD_IOCTL
#define IIO_BUFFER_GET_FD_IOCTL		_IOWR('i', 0x91, int)
#endif

#endif /* T_IIO_DMABUF_H */
