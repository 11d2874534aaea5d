/* SPDX-License-Identifier: MIT */
/* The device table of a context: what the board has, as loaded at connect. */
#ifndef IIOFAB_DEVICES_H
#define IIOFAB_DEVICES_H

#include <stdbool.h>

#include "iiofab.h"

struct iiofab_channel {
	const struct iiofab_device *dev;
	char *id;
	char *name;
	bool output;
	int scan_index;
	struct iiofab_data_format fmt;
	unsigned int n_attrs;
	char **attrs;
};

struct iiofab_device {
	struct iiofab_ctx *ctx;
	char *id;
	char *name;
	char *label;
	enum iiofab_device_kind kind;
	unsigned int n_attrs;
	char **attrs;
	unsigned int n_buffer_attrs;
	char **buffer_attrs;
	unsigned int n_channels;
	struct iiofab_channel *channels;
};

/* Fills ctx's table (LIST, then DEVICE_INFO per device). */
int devices_load(struct iiofab_ctx *ctx);
/* Frees the table, also a partly loaded one. */
void devices_free(struct iiofab_ctx *ctx);

#endif /* IIOFAB_DEVICES_H */
