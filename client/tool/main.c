// SPDX-License-Identifier: MIT
/*
 * iiofab: command-line client of libiiofab.
 *
 *   iiofab COMMAND [OPTIONS] ARGS...
 *
 * The commands are the table below, one file each (cmd_*.c); the help is
 * put together from their entries and from the options they name.
 * Options may appear anywhere (GNU argument permutation); "--" ends them.
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* Every command, in the order the help lists them. */
static const struct tool_cmd *const commands[] = {
	&tool_cmd_info,
	&tool_cmd_attr,
	&tool_cmd_capture,
	&tool_cmd_play,
	&tool_cmd_bench,
	&tool_cmd_stat,
};

static const struct tool_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < TOOL_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static void print_main_help(void)
{
	fputs("Usage: iiofab COMMAND [OPTIONS] ARGS...\n"
	      "Stream samples of a remote IIO converter served by iiofabd over RDMA.\n"
	      "\n"
	      "Commands:\n", stdout);
	for (size_t i = 0; i < TOOL_ARRAY_SIZE(commands); i++)
		printf("  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Run 'iiofab COMMAND --help' for the options of a command.\n"
	      "Options may appear anywhere on the command line; '--' ends them.\n"
	      "\n", stdout);
	tool_print_common_options(stdout);
}

static void print_command_help(const struct tool_cmd *cmd)
{
	printf("Usage: iiofab %s [OPTIONS] %s\n%s\n", cmd->name, cmd->args,
	       cmd->help);
	if (cmd->n_opts) {
		tool_print_options(stdout, cmd);
		putchar('\n');
	}
	tool_print_common_options(stdout);
}

/* Answers --version or --help, or runs the command: the exit status. */
static int run(struct tool_opts *o)
{
	const struct tool_cmd *cmd = NULL;

	if (o->version) {
		printf("iiofab %s\n", iiofab_version());
		return TOOL_EXIT_OK;
	}
	if (o->nargs > 0) {
		cmd = find_command(o->args[0]);
		if (!cmd)
			return tool_usage("unknown command '%s'", o->args[0]);
		o->args++;
		o->nargs--;
	}
	if (o->help) {
		if (cmd)
			print_command_help(cmd);
		else
			print_main_help();
		return fflush(stdout) ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
	}
	if (!cmd)
		return tool_usage("%s", "no command given");
	if (tool_check_options(o, cmd))
		return TOOL_EXIT_USAGE;
	return cmd->run(o);
}

int main(int argc, char **argv)
{
	struct tool_opts o;

	if (tool_parse_args(argc, argv, &o))
		return TOOL_EXIT_USAGE;
	return run(&o);
}
