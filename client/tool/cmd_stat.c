// SPDX-License-Identifier: MIT
/* iiofab stat: the server's counters and its registration path. */
#include <inttypes.h>
#include <stdio.h>

#include "tool.h"

static int print_stat(void *user, const char *key, uint64_t value)
{
	printf("%s: %" PRIu64 "\n", key, value);
	return 0;
}

static int run_stat(const struct tool_opts *o)
{
	struct iiofab_ctx *ctx;
	char reg_path[256];
	int ret;

	if (o->nargs != 1)
		return tool_usage("%s", "stat takes exactly one URI");
	if (tool_connect(o, o->args[0], &ctx))
		return TOOL_EXIT_FAIL;
	ret = iiofab_ctx_get_server_stats(ctx, print_stat, NULL, reg_path,
					  sizeof(reg_path));
	if (ret)
		tool_err("cannot read the server's counters: %s", iiofab_strerror(ret));
	else
		printf("reg_path: %s\n", reg_path);
	iiofab_disconnect(ctx);
	return ret || fflush(stdout) ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}

const struct tool_cmd tool_cmd_stat = {
	.name = "stat",
	.summary = "print the server's counters",
	.args = "URI",
	.help =
	"Print the server's counters (streams, clients, registration path, lost\n"
	"blocks, ...), one 'key: value' per line.\n",
	.run = run_stat,
};
