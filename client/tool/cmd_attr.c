// SPDX-License-Identifier: MIT
/* iiofab attr: read or write one device, buffer or channel attribute. */
#include <errno.h>
#include <stdio.h>

#include "tool.h"

/* What the arguments after DEVICE name. */
struct attr_target {
	const struct iiofab_channel *ch;	/* NULL: a device attribute */
	const char *attr;
	const char *value;			/* NULL: read */
};

/*
 * DEVICE [CHANNEL] ATTR [VALUE]: with three names after the URI the second
 * is a CHANNEL when the device has such a channel and no such attribute.
 * 0, or -ENOENT after saying which channel is missing.
 */
static int attr_target(const struct tool_opts *o,
		       const struct iiofab_device *dev, struct attr_target *t)
{
	const char *const *a = (const char *const *)o->args + 2;
	bool with_channel = o->nargs == 5 ||
		(o->nargs == 4 && !o->buffer_attr &&
		 !iiofab_device_find_attr(dev, a[0]) &&
		 iiofab_device_find_channel(dev, a[0], o->output_channel));

	*t = (struct attr_target){ .attr = a[0] };
	if (!with_channel) {
		t->value = o->nargs == 4 ? a[1] : NULL;
		return 0;
	}
	t->ch = iiofab_device_find_channel(dev, a[0], o->output_channel);
	if (!t->ch) {
		tool_err("device %s has no %s channel '%s'", iiofab_device_get_id(dev),
			 o->output_channel ? "output" : "input", a[0]);
		return -ENOENT;
	}
	t->attr = a[1];
	t->value = o->nargs == 5 ? a[2] : NULL;
	return 0;
}

/* Reads into buf or writes t->value: what the library returns. */
static int attr_access(const struct tool_opts *o,
		       const struct iiofab_device *dev,
		       const struct attr_target *t, char *buf, size_t len)
{
	if (t->value && t->ch)
		return iiofab_channel_attr_write(t->ch, t->attr, t->value);
	if (t->value && o->buffer_attr)
		return iiofab_device_buffer_attr_write(dev, t->attr, t->value);
	if (t->value)
		return iiofab_device_attr_write(dev, t->attr, t->value);
	if (t->ch)
		return iiofab_channel_attr_read(t->ch, t->attr, buf, len);
	if (o->buffer_attr)
		return iiofab_device_buffer_attr_read(dev, t->attr, buf, len);
	return iiofab_device_attr_read(dev, t->attr, buf, len);
}

static int run_attr(const struct tool_opts *o)
{
	const struct iiofab_device *dev;
	struct attr_target t;
	struct iiofab_ctx *ctx;
	char buf[4096];
	int ret, status = TOOL_EXIT_FAIL;

	if (o->nargs < 3 || o->nargs > 5)
		return tool_usage("%s", "attr takes URI DEVICE [CHANNEL] ATTR [VALUE]");
	if (tool_connect(o, o->args[0], &ctx))
		return TOOL_EXIT_FAIL;
	dev = tool_find_device(ctx, o->args[1]);
	if (!dev || attr_target(o, dev, &t))
		goto out_disconnect;
	if (t.ch && o->buffer_attr) {
		tool_err("--buffer takes no CHANNEL");
		goto out_disconnect;
	}
	ret = attr_access(o, dev, &t, buf, sizeof(buf));
	if (ret < 0) {
		tool_err("cannot %s %s%s%s attribute '%s': %s",
			 t.value ? "write" : "read", iiofab_device_get_id(dev),
			 t.ch ? " " : "", t.ch ? iiofab_channel_get_id(t.ch) : "",
			 t.attr, iiofab_strerror(ret));
		goto out_disconnect;
	}
	if (!t.value)
		printf("%s\n", buf);
	status = fflush(stdout) ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out_disconnect:
	iiofab_disconnect(ctx);
	return status;
}

static const struct tool_cmd_opt attr_opts[] = {
	{ TOOL_OPT_BUFFER, NULL },
	{ TOOL_OPT_OUTPUT_CHANNEL, NULL },
};

const struct tool_cmd tool_cmd_attr = {
	.name = "attr",
	.summary = "read or write one attribute",
	.args = "URI DEVICE [CHANNEL] ATTR [VALUE]",
	.help =
	"Read an attribute (print its value) or, with VALUE, write it.\n"
	"DEVICE is an id (iio:device0), name or label; CHANNEL an id (voltage0)\n"
	"or name. With three names after the URI, the second is taken as a\n"
	"CHANNEL when the device has such a channel and no such attribute, and\n"
	"the command reads that channel attribute; otherwise it writes a device\n"
	"attribute.\n",
	.opts = attr_opts,
	.n_opts = TOOL_ARRAY_SIZE(attr_opts),
	.run = run_attr,
};
