// SPDX-License-Identifier: MIT
/* iiofab info: the server's devices, channels and attribute values. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* An attribute value, or why it could not be read; the errors after which
 * the connection is gone, so that no further read is worth trying. */
static int print_value(const char *indent, const char *attr, int ret,
		       const char *buf)
{
	printf("%s%s = ", indent, attr);
	if (ret < 0)
		printf("ERROR: %s\n", iiofab_strerror(ret));
	else
		printf("%s\n", buf);
	return ret == -ECONNRESET || ret == -ETIMEDOUT ? ret : 0;
}

static int print_dev_attrs(const struct iiofab_device *dev, bool buffer)
{
	unsigned int n = buffer ? iiofab_device_get_buffer_attrs_count(dev) :
			 iiofab_device_get_attrs_count(dev);
	char buf[4096];
	int ret = 0;

	printf("    %u %s attributes:\n", n, buffer ? "buffer" : "device");
	for (unsigned int i = 0; i < n && !ret; i++) {
		const char *a = buffer ? iiofab_device_get_buffer_attr(dev, i) :
				iiofab_device_get_attr(dev, i);

		ret = buffer ? iiofab_device_buffer_attr_read(dev, a, buf, sizeof(buf)) :
		      iiofab_device_attr_read(dev, a, buf, sizeof(buf));
		ret = print_value("      ", a, ret, buf);
	}
	return ret;
}

static int print_channel(const struct iiofab_channel *ch)
{
	const struct iiofab_data_format *f = iiofab_channel_get_format(ch);
	char buf[4096];
	int ret = 0;

	printf("      %s", iiofab_channel_get_id(ch));
	if (iiofab_channel_get_name(ch)[0])
		printf(" (%s)", iiofab_channel_get_name(ch));
	printf(": %s", iiofab_channel_is_output(ch) ? "output" : "input");
	if (iiofab_channel_get_scan_index(ch) >= 0)
		printf(", index %d, format %ce:%c%u/%u>>%u",
		       iiofab_channel_get_scan_index(ch), f->big_endian ? 'b' : 'l',
		       f->is_signed ? 's' : 'u', f->bits, f->storage_bits, f->shift);
	printf(", %u attributes\n", iiofab_channel_get_attrs_count(ch));
	for (unsigned int j = 0; j < iiofab_channel_get_attrs_count(ch) && !ret; j++) {
		const char *a = iiofab_channel_get_attr(ch, j);

		ret = iiofab_channel_attr_read(ch, a, buf, sizeof(buf));
		ret = print_value("        ", a, ret, buf);
	}
	return ret;
}

static const char *kind_str(enum iiofab_device_kind k)
{
	return k == IIOFAB_DEVICE_INPUT ? "input" :
	       k == IIOFAB_DEVICE_OUTPUT ? "output" : "other";
}

static int print_device(const struct iiofab_device *dev)
{
	unsigned int nch = iiofab_device_get_channels_count(dev);
	int ret;

	printf("  %s: %s", iiofab_device_get_id(dev), iiofab_device_get_name(dev));
	if (iiofab_device_get_label(dev)[0])
		printf(" (label %s)", iiofab_device_get_label(dev));
	printf(", %s, %u channels\n", kind_str(iiofab_device_get_kind(dev)), nch);
	ret = print_dev_attrs(dev, false);
	if (!ret)
		ret = print_dev_attrs(dev, true);
	if (!ret)
		printf("    %u channels:\n", nch);
	for (unsigned int i = 0; i < nch && !ret; i++)
		ret = print_channel(iiofab_device_get_channel(dev, i));
	return ret;
}

static int run_info(const struct tool_opts *o)
{
	struct iiofab_ctx *ctx;
	unsigned int n;
	int ret = 0;

	if (o->nargs != 1)
		return tool_usage("%s", "info takes exactly one URI");
	if (tool_connect(o, o->args[0], &ctx))
		return TOOL_EXIT_FAIL;
	n = iiofab_ctx_get_devices_count(ctx);
	printf("%s: %u device%s\n", o->args[0], n, n == 1 ? "" : "s");
	for (unsigned int i = 0; i < n && !ret; i++)
		ret = print_device(iiofab_ctx_get_device(ctx, i));
	if (fflush(stdout) || ferror(stdout)) {
		tool_err("cannot write the output: %s", strerror(errno));
		ret = -EIO;
	}
	if (ret)
		tool_err("info: %s", iiofab_strerror(ret));
	iiofab_disconnect(ctx);
	return ret ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}

const struct tool_cmd tool_cmd_info = {
	.name = "info",
	.summary = "list devices, channels and attributes with their values",
	.args = "URI",
	.help =
	"List the server's devices: id, name, label, kind, device and buffer\n"
	"attributes with their current values, and every channel with its scan\n"
	"index, sample format and attributes.\n",
	.run = run_info,
};
