// SPDX-License-Identifier: MIT
/*
 * iiofabd: serves a board's IIO converters to RDMA hosts.
 * main() parses options and prepares the process; srv_run() does the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <iiofab/auth.h>
#include <iiofab/log.h>
#include <iiofab/uri.h>

#include "srv.h"

#ifndef IIOFABD_VERSION
#define IIOFABD_VERSION "unknown"
#endif

/* Enough for a few 64 MiB arenas plus control buffers if unlimited is refused. */
#define MEMLOCK_MIN	(256ull << 20)

/* Says what is wrong (fmt may be NULL: getopt already did) and gives the usage status. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("iiofabd: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "Try 'iiofabd --help' for more information.\n");
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: iiofabd [OPTION]...\n"
"Serve this board's IIO converters (ADC streams, attributes) to hosts over RDMA.\n"
"\n"
"Hosts connect with rdma_cm (RC, port %d by default), authenticate with a\n"
"pre-shared key, and pull ADC blocks with one-sided RDMA READs straight out of\n"
"the DMABUFs the converter fills: the board CPU never touches a sample.\n"
"\n"
"Options:\n"
"  -l, --listen ADDR[:PORT]  listen on this local address (an address of an RDMA\n"
"                            device, e.g. rxe0's); IPv6 in brackets,\n"
"                            [ADDR]:PORT; ':PORT' or no option listens on every\n"
"                            IPv4 address.\n"
"                            Default port: %d.\n"
"  -k, --psk-file FILE       the pre-shared key: the file's bytes (one trailing\n"
"                            newline is ignored), at least %d bytes. Clients prove\n"
"                            they hold it with HMAC-SHA256 challenge-response;\n"
"                            no address, key or device information reaches a\n"
"                            client before it has.\n"
"      --insecure            accept clients without a key. Without --psk-file\n"
"                            this must be given explicitly, else iiofabd refuses\n"
"                            to start. With --psk-file, clients that do send a\n"
"                            MAC must still send the right one.\n"
"  -L, --log-level LEVEL     error, warn, info (default) or debug; logs go to\n"
"                            standard error.\n"
"  -h, --help                show this help and exit\n"
"  -V, --version             show the version and exit\n"
"\n"
"Testing (never in service; off unless given):\n"
"      --test-tear-every N   take every Nth announced ADC block back from its\n"
"                            clients right after its READY, so their RDMA READ\n"
"                            of it overlaps its reuse by the converter: clients\n"
"                            must find it torn, discard it and report its scans\n"
"                            lost. Counted as test_tears (and blocks_lost) by\n"
"                            STATS.\n"
"\n"
"Memory:\n"
"  Each stream is one sealed memfd of BLOCKS x BLOCK_SIZE bytes with a udmabuf per\n"
"  block attached to the IIO buffer. Each client gets its own protection domain\n"
"  and memory registration, tried as ibv_reg_dmabuf_mr per block first and as\n"
"  ibv_reg_mr over the memfd mapping otherwise (soft-RoCE); both are zero-copy,\n"
"  and the path taken is logged and reported by the STATS request. Registered\n"
"  memory counts against RLIMIT_MEMLOCK: iiofabd raises it to unlimited, or\n"
"  exits if it cannot get at least %llu MiB (run as root, grant CAP_IPC_LOCK or\n"
"  set LimitMEMLOCK=infinity in the service unit).\n"
"\n"
"Requirements: the board kernel with IIO DMABUF (Linux 6.9 or later), udmabuf\n"
"(/dev/udmabuf), an RDMA device and rdma_ucm.\n"
"\n"
"Signals: SIGINT and SIGTERM stop every stream, detach the DMABUFs, deregister\n"
"all memory, disconnect the clients and exit with status 0.\n"
"\n"
"Exit status: 0 after a clean shutdown, 1 on a start-up or runtime error,\n"
"2 on a usage error.\n"
"\n"
"Examples:\n"
"  head -c 32 /dev/urandom > /etc/iiofab.key\n"
"  iiofabd --listen 10.77.0.1 --psk-file /etc/iiofab.key\n"
"  iiofabd --listen 10.77.0.1:7790 --insecure --log-level debug\n",
		IIOFAB_DEFAULT_PORT, IIOFAB_DEFAULT_PORT, IIOFAB_KEY_MIN,
		(unsigned long long)(MEMLOCK_MIN >> 20));
}

/*
 * ADDR[:PORT] through the project's URI rules (IPv6 in brackets), plus
 * ":PORT" for every IPv4 address.
 */
static int parse_listen(const char *arg, struct iiofab_uri *uri,
			struct srv_config *cfg)
{
	char any[16];
	int err;

	if (arg[0] == ':') {
		snprintf(any, sizeof(any), "0.0.0.0%.7s", arg);
		err = iiofab_uri_parse_hostport(any, IIOFAB_DEFAULT_PORT, uri);
	} else {
		err = iiofab_uri_parse_hostport(arg, IIOFAB_DEFAULT_PORT, uri);
	}
	if (err)
		return err;
	cfg->listen_addr = uri->host;
	cfg->listen_port = uri->service;
	return 0;
}

/* The daemon's log line: "iiofabd[<realtime s.ms>] <level>: <message>". */
static void log_stderr(void *arg, int level, const char *msg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* One fprintf per line so concurrent writers (tests) do not interleave. */
	fprintf(stderr, "iiofabd[%lld.%03ld] %s: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, iiofab_logger_level_name(level), msg);
}

static int raise_memlock(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return -errno;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < MEMLOCK_MIN) {
		fprintf(stderr,
			"iiofabd: RLIMIT_MEMLOCK is %llu KiB and cannot be raised; RDMA "
			"registration of stream memory needs at least %llu MiB. Run as root, "
			"grant CAP_IPC_LOCK, or set LimitMEMLOCK=infinity / ulimit -l unlimited.\n",
			(unsigned long long)(rl.rlim_cur >> 10),
			(unsigned long long)(MEMLOCK_MIN >> 20));
		return -ENOMEM;
	}
	return 0;
}

enum { PARSED = -1 };

static int parse_count(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v || v > UINT32_MAX || s[0] == '-')
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* Fills cfg from the options: PARSED, or the exit status when done already. */
static int parse_args(int argc, char **argv, struct srv_config *cfg, struct iiofab_uri *listen,
		      const char **psk_file)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "test-tear-every", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, level;

	while ((c = getopt_long(argc, argv, "l:k:L:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_listen(optarg, listen, cfg) < 0)
				return usage_error("bad --listen '%s' (ADDR[:PORT], "
						   "[IPV6ADDR][:PORT] or :PORT)", optarg);
			break;
		case 'k':
			*psk_file = optarg;
			break;
		case 'I':
			cfg->insecure = true;
			break;
		case 'L':
			level = iiofab_logger_level_parse(optarg);
			if (level < 0)
				return usage_error("bad --log-level '%s' (error, warn, info, debug)",
						   optarg);
			cfg->log.level = level;
			break;
		case 'T':
			if (parse_count(optarg, &cfg->test_tear_every) < 0)
				return usage_error("bad --test-tear-every '%s' (a block count, 1 or more)",
						   optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("iiofabd %s (protocol %d)\n", IIOFABD_VERSION, IIOFAB_WIRE_VERSION);
			return 0;
		default:
			return usage_error(NULL);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!*psk_file && !cfg->insecure)
		return usage_error("no --psk-file given: refusing to serve without "
				   "authentication. Give --psk-file FILE, or --insecure to accept "
				   "any client.");
	return PARSED;
}

static int run(int argc, char **argv, struct srv_config *cfg)
{
	const char *psk_file = NULL;
	struct iiofab_uri listen_uri;
	char port[8];
	int status;

	cfg->log = (struct iiofab_logger){ log_stderr, NULL, IIOFAB_LOGGER_INFO };
	status = parse_args(argc, argv, cfg, &listen_uri, &psk_file);
	if (status != PARSED)
		return status;
	if (!cfg->listen_port) {
		snprintf(port, sizeof(port), "%d", IIOFAB_DEFAULT_PORT);
		cfg->listen_port = port;
	}
	if (psk_file && iiofab_key_read(psk_file, &cfg->psk, &cfg->log) < 0)
		return 1;
	if (raise_memlock() < 0)
		return 1;
	return srv_run(cfg) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct srv_config *cfg = calloc(1, sizeof(*cfg));
	int status;

	if (!cfg) {
		perror("iiofabd");
		return 1;
	}
	status = run(argc, argv, cfg);
	iiofab_key_wipe(&cfg->psk);
	free(cfg);
	return status;
}
