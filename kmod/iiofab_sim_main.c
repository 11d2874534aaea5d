// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * iiofab_sim: simulated high-speed IIO ADCs and DACs with DMABUF buffers.
 *
 * One platform device "iiofab-sim" (64-bit DMA mask, so DMABUF attachments
 * never bounce) parents `adcs` ADC and `dacs` DAC IIO devices of `channels`
 * 16-bit voltage channels each. See README.md for the attributes.
 */
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include <linux/iio/iio.h>
#include <linux/iio/sysfs.h>

#include "iiofab_sim.h"

#define IIOFAB_SIM_MAX_CONVERTERS	8
#define IIOFAB_SIM_MAX_RATE		100000000

static unsigned int adcs = 1;
module_param(adcs, uint, 0444);
MODULE_PARM_DESC(adcs, "Number of simulated ADCs (default 1, at most 8)");

static unsigned int dacs = 1;
module_param(dacs, uint, 0444);
MODULE_PARM_DESC(dacs, "Number of simulated DACs (default 1, at most 8)");

static unsigned int channels = 4;
module_param(channels, uint, 0444);
MODULE_PARM_DESC(channels, "Channels per converter (default 4, 1 to 16)");

static bool counters = true;
module_param(counters, bool, 0444);
MODULE_PARM_DESC(counters,
		 "Give ADCs an overruns and DACs an underruns attribute (default 1; 0: neither, like mainline IIO drivers)");

/* iio_priv() of each IIO device. */
struct iiofab_sim_state {
	struct iiofab_sim_conv *conv;
};

enum iiofab_sim_counter {
	IIOFAB_SIM_OVERRUNS,
	IIOFAB_SIM_UNDERRUNS,
	IIOFAB_SIM_SAMPLES_CONSUMED,
	IIOFAB_SIM_PATTERN_ERRORS,
	IIOFAB_SIM_SAMPLES_PRODUCED,
};

static const char * const iiofab_sim_pattern_names[] = {
	[IIOFAB_SIM_PATTERN_RAMP] = "ramp",
	[IIOFAB_SIM_PATTERN_SINE] = "sine",
	[IIOFAB_SIM_PATTERN_COUNTER] = "counter",
};

static struct iiofab_sim_conv *to_conv(struct device *dev)
{
	struct iiofab_sim_state *st = iio_priv(dev_to_iio_dev(dev));

	return st->conv;
}

static ssize_t iiofab_sim_counter_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct iiofab_sim_conv *conv = to_conv(dev);
	const u64_stats_t *counter;

	switch ((enum iiofab_sim_counter)to_iio_dev_attr(attr)->address) {
	case IIOFAB_SIM_OVERRUNS:
		counter = &conv->overruns;
		break;
	case IIOFAB_SIM_UNDERRUNS:
		counter = &conv->underruns;
		break;
	case IIOFAB_SIM_SAMPLES_CONSUMED:
		counter = &conv->samples_consumed;
		break;
	case IIOFAB_SIM_PATTERN_ERRORS:
		counter = &conv->pattern_errors;
		break;
	case IIOFAB_SIM_SAMPLES_PRODUCED:
		counter = &conv->samples_produced;
		break;
	default:
		return -EINVAL;
	}
	return sysfs_emit(buf, "%llu\n", iiofab_sim_counter_read(conv, counter));
}

static ssize_t pattern_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  iiofab_sim_pattern_names[READ_ONCE(to_conv(dev)->pattern)]);
}

static ssize_t pattern_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct iio_dev *indio_dev = dev_to_iio_dev(dev);
	struct iiofab_sim_conv *conv = to_conv(dev);
	int pattern, ret;

	pattern = sysfs_match_string(iiofab_sim_pattern_names, buf);
	if (pattern < 0)
		return pattern;
	/* A DAC checks what it can lock onto or count; a sine it cannot. */
	if (iiofab_sim_conv_is_output(conv) && pattern == IIOFAB_SIM_PATTERN_SINE)
		return -EINVAL;

	/*
	 * The engine computes the pattern once, at enable. Direct mode holds
	 * off enable until the new value is in place, and fails with -EBUSY
	 * while the buffer runs.
	 */
	ret = iio_device_claim_direct_mode(indio_dev);
	if (ret)
		return ret;
	WRITE_ONCE(conv->pattern, pattern);
	iio_device_release_direct_mode(indio_dev);
	return len;
}

/* Test only: the ADC skips the next N scans inside the block it fills. */
static ssize_t inject_drop_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct iiofab_sim_conv *conv = to_conv(dev);
	u64 scans;
	int ret;

	ret = kstrtou64(buf, 10, &scans);
	if (ret)
		return ret;
	/* Writes add up, modulo 2^64 like the scan index itself. */
	atomic64_add((s64)scans, &conv->drop_pending);
	return len;
}

static IIO_DEVICE_ATTR_RW(pattern, 0);
static IIO_CONST_ATTR_NAMED(adc_pattern_available, pattern_available,
			    "ramp sine counter");
static IIO_CONST_ATTR_NAMED(dac_pattern_available, pattern_available,
			    "ramp counter");
static IIO_DEVICE_ATTR(overruns, 0444, iiofab_sim_counter_show, NULL,
		       IIOFAB_SIM_OVERRUNS);
static IIO_DEVICE_ATTR(samples_produced, 0444, iiofab_sim_counter_show, NULL,
		       IIOFAB_SIM_SAMPLES_PRODUCED);
static IIO_DEVICE_ATTR_WO(inject_drop, 0);
static IIO_DEVICE_ATTR(underruns, 0444, iiofab_sim_counter_show, NULL,
		       IIOFAB_SIM_UNDERRUNS);
static IIO_DEVICE_ATTR(samples_consumed, 0444, iiofab_sim_counter_show, NULL,
		       IIOFAB_SIM_SAMPLES_CONSUMED);
static IIO_DEVICE_ATTR(pattern_errors, 0444, iiofab_sim_counter_show, NULL,
		       IIOFAB_SIM_PATTERN_ERRORS);

static struct attribute *iiofab_sim_adc_attrs[] = {
	&iio_dev_attr_pattern.dev_attr.attr,
	&iio_const_attr_adc_pattern_available.dev_attr.attr,
	&iio_dev_attr_overruns.dev_attr.attr,
	&iio_dev_attr_samples_produced.dev_attr.attr,
	&iio_dev_attr_inject_drop.dev_attr.attr,
	NULL
};

static struct attribute *iiofab_sim_dac_attrs[] = {
	&iio_dev_attr_pattern.dev_attr.attr,
	&iio_const_attr_dac_pattern_available.dev_attr.attr,
	&iio_dev_attr_samples_consumed.dev_attr.attr,
	&iio_dev_attr_pattern_errors.dev_attr.attr,
	&iio_dev_attr_underruns.dev_attr.attr,
	NULL
};

/*
 * counters=0 drops the loss counters, as most mainline drivers have none.
 * The core gives this callback the whole device group (channel attributes
 * too), so it passes everything else through unchanged.
 */
static umode_t iiofab_sim_attr_visible(struct kobject *kobj,
				       struct attribute *attr, int n)
{
	if (!counters && (attr == &iio_dev_attr_overruns.dev_attr.attr ||
			  attr == &iio_dev_attr_underruns.dev_attr.attr))
		return 0;
	return attr->mode;
}

static const struct attribute_group iiofab_sim_adc_group = {
	.attrs = iiofab_sim_adc_attrs,
	.is_visible = iiofab_sim_attr_visible,
};

static const struct attribute_group iiofab_sim_dac_group = {
	.attrs = iiofab_sim_dac_attrs,
	.is_visible = iiofab_sim_attr_visible,
};

static int iiofab_sim_read_raw(struct iio_dev *indio_dev,
			       struct iio_chan_spec const *chan,
			       int *val, int *val2, long mask)
{
	struct iiofab_sim_state *st = iio_priv(indio_dev);

	switch (mask) {
	case IIO_CHAN_INFO_SAMP_FREQ:
		*val = READ_ONCE(st->conv->sampling_frequency);
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:
		/* Full scale +-1 V: 1000 mV / 2^15 per LSB. */
		*val = 1000;
		*val2 = 15;
		return IIO_VAL_FRACTIONAL_LOG2;
	default:
		return -EINVAL;
	}
}

static int iiofab_sim_write_raw(struct iio_dev *indio_dev,
				struct iio_chan_spec const *chan,
				int val, int val2, long mask)
{
	struct iiofab_sim_state *st = iio_priv(indio_dev);
	int ret;

	switch (mask) {
	case IIO_CHAN_INFO_SAMP_FREQ:
		if (val < 0 || val2 || val > IIOFAB_SIM_MAX_RATE)
			return -EINVAL;
		/* The engine paces with the rate it read at enable (see pattern). */
		ret = iio_device_claim_direct_mode(indio_dev);
		if (ret)
			return ret;
		WRITE_ONCE(st->conv->sampling_frequency, val);
		iio_device_release_direct_mode(indio_dev);
		return 0;
	default:
		return -EINVAL;
	}
}

static int iiofab_sim_write_raw_get_fmt(struct iio_dev *indio_dev,
					struct iio_chan_spec const *chan,
					long mask)
{
	return mask == IIO_CHAN_INFO_SAMP_FREQ ? IIO_VAL_INT : IIO_VAL_INT_PLUS_MICRO;
}

static const struct iio_info iiofab_sim_adc_info = {
	.read_raw = iiofab_sim_read_raw,
	.write_raw = iiofab_sim_write_raw,
	.write_raw_get_fmt = iiofab_sim_write_raw_get_fmt,
	.attrs = &iiofab_sim_adc_group,
};

static const struct iio_info iiofab_sim_dac_info = {
	.read_raw = iiofab_sim_read_raw,
	.write_raw = iiofab_sim_write_raw,
	.write_raw_get_fmt = iiofab_sim_write_raw_get_fmt,
	.attrs = &iiofab_sim_dac_group,
};

#define IIOFAB_SIM_CHAN(_out, _i) {					\
	.type = IIO_VOLTAGE,						\
	.indexed = 1,							\
	.channel = (_i),						\
	.output = (_out),						\
	.scan_index = (_i),						\
	.scan_type = {							\
		.sign = 's',						\
		.realbits = 16,						\
		.storagebits = 16,					\
		.endianness = IIO_LE,					\
	},								\
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),		\
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),	\
}

/*
 * Every converter has the first `channels` entries of its direction's
 * table: num_channels says how many the IIO core sees.
 */
static const struct iio_chan_spec iiofab_sim_adc_channels[] = {
	IIOFAB_SIM_CHAN(0, 0),
	IIOFAB_SIM_CHAN(0, 1),
	IIOFAB_SIM_CHAN(0, 2),
	IIOFAB_SIM_CHAN(0, 3),
	IIOFAB_SIM_CHAN(0, 4),
	IIOFAB_SIM_CHAN(0, 5),
	IIOFAB_SIM_CHAN(0, 6),
	IIOFAB_SIM_CHAN(0, 7),
	IIOFAB_SIM_CHAN(0, 8),
	IIOFAB_SIM_CHAN(0, 9),
	IIOFAB_SIM_CHAN(0, 10),
	IIOFAB_SIM_CHAN(0, 11),
	IIOFAB_SIM_CHAN(0, 12),
	IIOFAB_SIM_CHAN(0, 13),
	IIOFAB_SIM_CHAN(0, 14),
	IIOFAB_SIM_CHAN(0, 15),
};

static const struct iio_chan_spec iiofab_sim_dac_channels[] = {
	IIOFAB_SIM_CHAN(1, 0),
	IIOFAB_SIM_CHAN(1, 1),
	IIOFAB_SIM_CHAN(1, 2),
	IIOFAB_SIM_CHAN(1, 3),
	IIOFAB_SIM_CHAN(1, 4),
	IIOFAB_SIM_CHAN(1, 5),
	IIOFAB_SIM_CHAN(1, 6),
	IIOFAB_SIM_CHAN(1, 7),
	IIOFAB_SIM_CHAN(1, 8),
	IIOFAB_SIM_CHAN(1, 9),
	IIOFAB_SIM_CHAN(1, 10),
	IIOFAB_SIM_CHAN(1, 11),
	IIOFAB_SIM_CHAN(1, 12),
	IIOFAB_SIM_CHAN(1, 13),
	IIOFAB_SIM_CHAN(1, 14),
	IIOFAB_SIM_CHAN(1, 15),
};

static_assert(ARRAY_SIZE(iiofab_sim_adc_channels) == IIOFAB_SIM_MAX_CHANNELS);
static_assert(ARRAY_SIZE(iiofab_sim_dac_channels) == IIOFAB_SIM_MAX_CHANNELS);

/* Unbinding, bounded: see iiofab_sim_conv_put(). */
static void iiofab_sim_conv_put_action(void *conv)
{
	iiofab_sim_conv_put(conv);
}

static int iiofab_sim_add(struct device *dev, bool output, unsigned int index)
{
	struct iiofab_sim_state *st;
	struct iiofab_sim_conv *conv;
	struct iio_dev *indio_dev;
	int ret;

	conv = iiofab_sim_conv_alloc(dev, output);
	if (!conv)
		return -ENOMEM;
	ret = devm_add_action_or_reset(dev, iiofab_sim_conv_put_action, conv);
	if (ret)
		return ret;

	indio_dev = devm_iio_device_alloc(dev, sizeof(*st));
	if (!indio_dev)
		return -ENOMEM;
	st = iio_priv(indio_dev);
	st->conv = conv;

	indio_dev->name = output ? "iiofab-sim-dac" : "iiofab-sim-adc";
	indio_dev->label = devm_kasprintf(dev, GFP_KERNEL, "%s%u",
					  output ? "dac" : "adc", index);
	if (!indio_dev->label)
		return -ENOMEM;
	indio_dev->info = output ? &iiofab_sim_dac_info : &iiofab_sim_adc_info;
	indio_dev->modes = INDIO_BUFFER_HARDWARE;
	indio_dev->channels = output ? iiofab_sim_dac_channels :
				       iiofab_sim_adc_channels;
	indio_dev->num_channels = channels;

	ret = iio_device_attach_buffer(indio_dev, &conv->buffer);
	if (ret)
		return ret;

	return devm_iio_device_register(dev, indio_dev);
}

static int __init iiofab_sim_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	unsigned int i;
	int ret;

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return dev_err_probe(dev, ret, "no 64-bit DMA mask\n");

	for (i = 0; i < adcs; i++) {
		ret = iiofab_sim_add(dev, false, i);
		if (ret)
			return dev_err_probe(dev, ret, "cannot add ADC %u\n", i);
	}
	for (i = 0; i < dacs; i++) {
		ret = iiofab_sim_add(dev, true, i);
		if (ret)
			return dev_err_probe(dev, ret, "cannot add DAC %u\n", i);
	}
	return 0;
}

static struct platform_driver iiofab_sim_driver = {
	.driver = {
		.name = "iiofab-sim",
		/* Probing happens once, at load; there is nothing to rebind. */
		.suppress_bind_attrs = true,
	},
};

/* The one device this module creates; needed again at exit. */
static struct platform_device *iiofab_sim_pdev;

static int __init iiofab_sim_init(void)
{
	if (!channels || channels > IIOFAB_SIM_MAX_CHANNELS ||
	    adcs > IIOFAB_SIM_MAX_CONVERTERS || dacs > IIOFAB_SIM_MAX_CONVERTERS) {
		pr_err("iiofab_sim: need 1 <= channels <= %d, adcs and dacs <= %d\n",
		       IIOFAB_SIM_MAX_CHANNELS, IIOFAB_SIM_MAX_CONVERTERS);
		return -EINVAL;
	}

	/* Probes once, now, and fails the load if probing fails. */
	iiofab_sim_pdev = platform_create_bundle(&iiofab_sim_driver,
						 iiofab_sim_probe, NULL, 0,
						 NULL, 0);
	return PTR_ERR_OR_ZERO(iiofab_sim_pdev);
}
module_init(iiofab_sim_init);

static void __exit iiofab_sim_exit(void)
{
	platform_device_unregister(iiofab_sim_pdev);
	platform_driver_unregister(&iiofab_sim_driver);
}
module_exit(iiofab_sim_exit);

MODULE_DESCRIPTION("iiofab simulated IIO ADC/DAC with DMABUF buffers");
MODULE_LICENSE("Dual MIT/GPL");
