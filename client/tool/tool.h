/* SPDX-License-Identifier: MIT */
/*
 * The rooms of the iiofab tool and what each offers the others.
 *
 *   main.c       the table of commands, help, dispatch
 *   cmd_*.c      one command each: its table entry and its run()
 *   options.c    every option, defined once; parsing and option help
 *   session.c    connection, key file, device and channel lookup, streams
 *   wait.c       waits on a stream, an input and SIGINT/SIGTERM (signalfd)
 *   progress.c   the progress line of capture and play
 *   verify.c     the pattern and accounting checks of capture --verify
 *   log.c        the tool's messages and the library's log callback
 *
 * Calls go one way: main -> cmd_* -> session, wait, progress, verify ->
 * options -> log. Exit statuses (TOOL_EXIT_*) come only out of a command's
 * run() and main(); every other int function returns 0 or -errno.
 */
#ifndef IIOFAB_TOOL_H
#define IIOFAB_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <iiofab.h>
#include <iiofab/log.h>

#include "bench_stats.h"
#include "pattern.h"

#define TOOL_EXIT_OK	0
#define TOOL_EXIT_FAIL	1
#define TOOL_EXIT_USAGE	2

#define TOOL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- options (options.c) --------------------------------------------- */

/* Every option the tool has; the first ones every command takes. */
enum tool_opt {
	TOOL_OPT_PSK_FILE,
	TOOL_OPT_INSECURE,
	TOOL_OPT_TIMEOUT,
	TOOL_OPT_VERBOSE,
	TOOL_OPT_QUIET,
	TOOL_OPT_HELP,
	TOOL_OPT_VERSION,
	TOOL_OPT_CHANNELS,
	TOOL_OPT_SAMPLES,
	TOOL_OPT_SECONDS,
	TOOL_OPT_BLOCK_SIZE,
	TOOL_OPT_BLOCKS,
	TOOL_OPT_OUTPUT,
	TOOL_OPT_INPUT,
	TOOL_OPT_CYCLIC,
	TOOL_OPT_VERIFY,
	TOOL_OPT_VERIFY_RAMP,
	TOOL_OPT_DELAY_MS,
	TOOL_OPT_PREFILL,
	TOOL_OPT_NO_PROGRESS,
	TOOL_OPT_BUFFER,
	TOOL_OPT_OUTPUT_CHANNEL,
	TOOL_OPT_WARMUP,
	TOOL_OPT_JSON,
	TOOL_OPT_MODE,
	TOOL_OPT_BLOCK_LOG,
	TOOL_OPT_PUSH,
	TOOL_OPT_SYNC,
	TOOL_OPT_COUNT
};

/* The parsed command line. */
struct tool_opts {
	const char *psk_file;
	bool insecure;
	unsigned int timeout_ms;	/* 0: the library's defaults */
	int verbosity;			/* 0 normal, <0 quiet, >0 verbose */
	bool help;
	bool version;
	const char *channels;		/* as given; checked by tool_list_next() */
	uint64_t samples;
	double seconds;
	size_t block_size;
	bool block_size_set;
	unsigned int blocks;
	const char *output;
	const char *input;
	bool cyclic;
	enum tool_pattern verify;	/* --verify, --verify-ramp */
	unsigned int delay_ms;
	unsigned int prefill;		/* play --prefill; 0: every block */
	bool no_progress;
	bool buffer_attr;
	bool output_channel;
	double warmup;
	bool json;
	enum iiofab_stream_mode mode;
	const char *block_log;
	enum tool_pattern push;		/* bench --push: an output stream */
	bool sync;			/* bench --sync: SIGUSR1 bounds the window */
	uint32_t seen;			/* bit n: option n was given */
	int nargs;			/* the arguments after the command */
	char **args;
};

/* An option as one command takes it; help NULL: the option's own line. */
struct tool_cmd_opt {
	enum tool_opt id;
	const char *help;
};

/* One command: everything main.c needs to list, document and run it. */
struct tool_cmd {
	const char *name;
	const char *summary;		/* one line for the main help */
	const char *args;		/* after "iiofab NAME [OPTIONS] " */
	const char *help;		/* what it does and prints, ends in '\n' */
	const struct tool_cmd_opt *opts;	/* besides the common ones */
	size_t n_opts;
	int (*run)(const struct tool_opts *o);	/* returns a TOOL_EXIT_* */
};

extern const struct tool_cmd tool_cmd_info;
extern const struct tool_cmd tool_cmd_attr;
extern const struct tool_cmd tool_cmd_capture;
extern const struct tool_cmd tool_cmd_play;
extern const struct tool_cmd tool_cmd_bench;
extern const struct tool_cmd tool_cmd_stat;

/*
 * Parses every option into o (GNU argument permutation, "--" ends them)
 * and leaves the other arguments in o->args. Stops at --version. 0, or
 * -EINVAL after printing the usage error.
 */
int tool_parse_args(int argc, char **argv, struct tool_opts *o);
/* -EINVAL (reported) when o holds an option cmd does not take. */
int tool_check_options(const struct tool_opts *o, const struct tool_cmd *cmd);
/* Prints a usage error; returns TOOL_EXIT_USAGE for run() to return. */
int tool_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The "Options:" section of cmd's help, and the common options. */
void tool_print_options(FILE *f, const struct tool_cmd *cmd);
void tool_print_common_options(FILE *f);
/* Room for a channel name of --channels. */
#define TOOL_NAME_MAX 256
/*
 * The next name of a comma-separated list such as --channels, copied into
 * buf and *list moved past it: 0, -ENOENT at the end of the list,
 * -ENAMETOOLONG when the name does not fit.
 */
int tool_list_next(const char **list, char *buf, size_t len);
/* The op timeout the library applies: --timeout, else its default. */
unsigned int tool_op_timeout_ms(const struct tool_opts *o);

/* ---- messages (log.c) ------------------------------------------------ */

/* "iiofab: <message>" on stderr. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's log callback: "iiofab: <level>: <message>". */
void tool_lib_log(void *user, enum iiofab_log_level level, const char *msg);
/* The level -q, nothing or -v (-vv) select. */
enum iiofab_log_level tool_log_level(int verbosity);
/* A common/ logger printing as tool_lib_log() does, at that level. */
struct iiofab_logger tool_logger(int verbosity);

/* ---- connection and streams (session.c) ------------------------------ */

struct tool_session {
	struct iiofab_ctx *ctx;
	const struct iiofab_device *dev;
	uint64_t mask;			/* the channels to stream */
	struct iiofab_stream *stream;
	/* CLOCK_MONOTONIC ns at each step, for the time to the first block. */
	uint64_t begin_ns, connected_ns, opened_ns, started_ns, first_ns;
};

/* Connects to uri with the options' key, timeouts and verbosity. */
int tool_connect(const struct tool_opts *o, const char *uri,
		 struct iiofab_ctx **ctx);
/* Finds DEVICE or says which devices the server has; NULL then. */
const struct iiofab_device *tool_find_device(const struct iiofab_ctx *ctx,
					     const char *name);
/*
 * Connects to o->args[0], finds the input (ADC) or output (DAC) device
 * o->args[1] and the channel mask of --channels. 0, or -errno after
 * saying why; s is then closed.
 */
int tool_session_open(struct tool_session *s, const struct tool_opts *o,
		      bool output);
/* Opens the stream on s's device and channels; -v describes it. */
int tool_session_stream(struct tool_session *s, const struct tool_opts *o,
			bool output, size_t block_size, unsigned int blocks);
int tool_session_start(struct tool_session *s);
/* Closes the stream and the connection; a closed s is fine. */
void tool_session_close(struct tool_session *s);
/* Notes a block that landed: the first one ends the startup. */
void tool_session_landed(struct tool_session *s, const struct iiofab_block *b);
/* The same for an output stream's block back at ns, consumed. */
void tool_session_consumed(struct tool_session *s, uint64_t ns);
/* Where the time to the first block went; total 0 before one landed. */
void tool_session_startup(const struct tool_session *s, struct bench_startup *out);
/* For -v: "iiofab: first block after T ms: connect ... A ms, ...". */
void tool_print_startup(const struct tool_session *s);
/* Where the stream's channels sit in a scan; -EINVAL unless pattern fits
 * it (tool_layout_check()). */
int tool_stream_layout(const struct iiofab_stream *stream,
		       enum tool_pattern pattern, struct tool_layout *l);
/* The library's counters of an input stream, for -v. */
void tool_print_input_stats(const struct iiofab_stream *stream);
/* "iiofab: N blocks submitted, C consumed, M SUBMIT messages", for -v. */
void tool_print_output_stats(const struct iiofab_stream_stats *st);

/* ---- waiting (wait.c) ------------------------------------------------ */

/*
 * SIGINT and SIGTERM arrive through a signalfd polled beside the stream's
 * fd, so a streaming command stops where it chooses and still reports.
 */
struct tool_wait {
	int sfd;		/* the signalfd, -1 before tool_wait_open() */
	int signo;		/* the signal that arrived, 0 while none did */
	unsigned int marks;	/* SIGUSR1s (bench --sync) not taken yet */
	int stream_fd;		/* iiofab_stream_fd(), -1 before a stream */
	uint64_t op_ns;		/* the op timeout */
};

#define TOOL_WAIT_INIT { .sfd = -1, .stream_fd = -1 }

/* What tool_wait() saw: bits of its result. */
#define TOOL_WAKE_STREAM	0x1
#define TOOL_WAKE_FD		0x2

/* Blocks SIGINT and SIGTERM (and SIGUSR1 with --sync) and opens the
 * signalfd. */
int tool_wait_open(struct tool_wait *w, const struct tool_opts *o);
void tool_wait_close(struct tool_wait *w);
/* From now on tool_wait() also watches stream. */
void tool_wait_attach(struct tool_wait *w, const struct iiofab_stream *stream);
/* True once SIGINT or SIGTERM arrived. */
bool tool_wait_interrupted(struct tool_wait *w);
/* Takes one SIGUSR1 that arrived (--sync): true when there was one. */
bool tool_wait_take_mark(struct tool_wait *w);
/*
 * Waits until the stream's fd or fd (when >= 0) is readable or until_ns
 * (CLOCK_MONOTONIC) comes: TOOL_WAKE_* bits, 0 at until_ns, -EINTR on a
 * signal, -EAGAIN while a SIGUSR1 is not taken, or -errno.
 */
int tool_wait(struct tool_wait *w, int fd, uint64_t until_ns);
/* Sleeps ms milliseconds: 0, or -EINTR when a signal cut it short. */
int tool_wait_sleep(struct tool_wait *w, unsigned int ms);
/*
 * The next block of an input stream, waiting until until_ns at most: 0,
 * -EAGAIN at until_ns, -ETIMEDOUT when the server sent nothing for the op
 * timeout (counted across -EAGAIN returns), -EINTR on a signal, -EAGAIN
 * also while a SIGUSR1 is not taken, or the stream's error.
 */
int tool_wait_block(struct tool_wait *w, struct iiofab_stream *stream,
		    uint64_t until_ns, struct iiofab_block **block);
/* The same for a free block of an output stream: its index, or as above. */
int tool_wait_free(struct tool_wait *w, struct iiofab_stream *stream,
		   uint64_t until_ns, void **data);

/* ---- the progress line (progress.c) ---------------------------------- */

struct tool_progress {
	bool on;		/* stderr is a terminal, and not -q or --no-progress */
	bool shown;		/* a line is on the terminal, not ended yet */
	uint64_t t0_ns;		/* the rate's start */
	uint64_t last_ns;	/* last drawn */
};

void tool_progress_init(struct tool_progress *p, const struct tool_opts *o);
void tool_progress_start(struct tool_progress *p);
/*
 * "N samples, R MB/s, C <what>" at most twice a second; final draws it
 * once more and ends the line.
 */
void tool_progress_show(struct tool_progress *p, uint64_t samples,
			uint64_t bytes, uint64_t count, const char *what,
			bool final);
/* Ends a drawn line, so a message that follows starts a line of its own. */
void tool_progress_break(struct tool_progress *p);

/* ---- the pattern check (verify.c) ------------------------------------ */

struct tool_verifier {
	enum tool_pattern pattern;
	struct tool_layout l;
	uint64_t checked_blocks;
	uint64_t bad_blocks;
	uint64_t bad_samples;
	uint64_t torn_blocks;		/* bad blocks not even self-consistent */
	uint64_t misplaced_blocks;	/* intact, but not at their first_sample */
	/* The accounting: every block starts where the last one ended plus
	 * the loss it reports. */
	uint64_t next_scan;		/* end of the last block, as reported */
	bool shard;			/* other hosts get the blocks between */
	bool started;
	uint64_t start;			/* where this host's stream began: a
					 * fan-out joiner's first block less its loss */
	uint64_t delivered;		/* scans in checked blocks */
	uint64_t lost;			/* lost_samples of checked blocks */
	uint64_t account_errors;	/* blocks that broke that rule */
};

/* -EINVAL for a sample format the check does not handle. */
int tool_verify_init(struct tool_verifier *v, enum tool_pattern pattern,
		     const struct iiofab_stream *s);
void tool_verify_block(struct tool_verifier *v, const struct iiofab_block *b);
/*
 * The "account:" and "verify:" summary lines; false when a block was bad,
 * broke the accounting, or none was checked.
 */
bool tool_verify_report(const struct tool_verifier *v);

#endif /* IIOFAB_TOOL_H */
