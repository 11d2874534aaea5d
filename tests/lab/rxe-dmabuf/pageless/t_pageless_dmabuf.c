// SPDX-License-Identifier: GPL-2.0
/*
 * Lab only: exports dma-bufs whose sg tables hold a DMA address but no
 * struct pages, as exporters of device memory do, so that the lab can
 * check that the dma-buf rxe refuses such memory. Nothing ever accesses
 * the address.
 *   fd = ioctl(open("/dev/t_pageless_dmabuf"), T_PAGELESS_CREATE, bytes)
 */
#include <linux/dma-buf.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#define T_PAGELESS_CREATE	_IO('t', 1)
#define T_PAGELESS_ADDR		0x100000000000ull

static struct sg_table *t_pageless_map(struct dma_buf_attachment *at,
				       enum dma_data_direction dir)
{
	struct sg_table *sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);

	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, 1, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	sg_dma_address(sgt->sgl) = T_PAGELESS_ADDR;
	sg_dma_len(sgt->sgl) = at->dmabuf->size;
	return sgt;
}

static void t_pageless_unmap(struct dma_buf_attachment *at, struct sg_table *sgt,
			     enum dma_data_direction dir)
{
	sg_free_table(sgt);
	kfree(sgt);
}

static void t_pageless_release(struct dma_buf *buf)
{
}

static const struct dma_buf_ops t_pageless_ops = {
	.map_dma_buf = t_pageless_map,
	.unmap_dma_buf = t_pageless_unmap,
	.release = t_pageless_release,
};

static long t_pageless_ioctl(struct file *file, unsigned int cmd, unsigned long bytes)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *buf;
	int fd;

	if (cmd != T_PAGELESS_CREATE)
		return -ENOTTY;
	if (!bytes || bytes & ~PAGE_MASK || bytes > SZ_1G)
		return -EINVAL;
	info.ops = &t_pageless_ops;
	info.size = bytes;
	info.flags = O_RDWR;
	info.priv = (void *)&t_pageless_ops;	/* required, unused */
	buf = dma_buf_export(&info);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	fd = dma_buf_fd(buf, O_CLOEXEC);
	if (fd < 0)
		dma_buf_put(buf);
	return fd;
}

static const struct file_operations t_pageless_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = t_pageless_ioctl,
};

static struct miscdevice t_pageless_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "t_pageless_dmabuf",
	.fops = &t_pageless_fops,
};
module_misc_device(t_pageless_dev);

MODULE_DESCRIPTION("iiofab lab: dma-bufs without struct pages");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
