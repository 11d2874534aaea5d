// SPDX-License-Identifier: MIT
/*
 * iiofabd: serves a board's IIO converters to RDMA hosts.
 * main() parses options and prepares the process; srv_run() does the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iiofab/uri.h>

#include "srv.h"

#ifndef IIOFABD_VERSION
#define IIOFABD_VERSION "unknown"
#endif

/* Enough for a few 64 MiB arenas plus control buffers if unlimited is refused. */
#define MEMLOCK_MIN	(256ull << 20)

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
		IIOFAB_DEFAULT_PORT, IIOFAB_DEFAULT_PORT, SRV_PSK_MIN,
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

static int read_psk(const char *path, struct srv_config *cfg)
{
	struct stat stbuf;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "iiofabd: cannot open key file %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &stbuf) == 0 && (stbuf.st_mode & 0077))
		fprintf(stderr, "iiofabd: warning: key file %s is readable by group or others\n",
			path);
	n = read(fd, cfg->psk, sizeof(cfg->psk));
	if (n < 0) {
		err = -errno;
		fprintf(stderr, "iiofabd: cannot read key file %s: %s\n", path, strerror(errno));
		goto out_close;
	}
	if (n == (ssize_t)sizeof(cfg->psk)) {
		char extra;

		if (read(fd, &extra, 1) > 0) {
			fprintf(stderr, "iiofabd: key file %s is longer than %d bytes\n", path,
				SRV_PSK_MAX);
			err = -EFBIG;
			goto out_close;
		}
	}
	if (n > 0 && cfg->psk[n - 1] == '\n')
		n--;
	if (n < SRV_PSK_MIN) {
		fprintf(stderr, "iiofabd: key file %s holds %zd byte(s); a key needs at least %d "
			"(e.g. head -c 32 /dev/urandom > %s)\n", path, n, SRV_PSK_MIN, path);
		err = -EINVAL;
		goto out_close;
	}
	cfg->psk_len = (size_t)n;
out_close:
	close(fd);
	return err;
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct srv_config *cfg;
	const char *psk_file = NULL;
	struct iiofab_uri listen_uri;
	char port[8];
	int c, err, level;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		perror("iiofabd");
		return 1;
	}
	cfg->log_level = SRV_LOG_INFO;
	while ((c = getopt_long(argc, argv, "l:k:L:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_listen(optarg, &listen_uri, cfg) < 0) {
				fprintf(stderr, "iiofabd: bad --listen '%s' (ADDR[:PORT], [IPV6ADDR][:PORT] or :PORT)\n",
					optarg);
				goto out_usage;
			}
			break;
		case 'k':
			psk_file = optarg;
			break;
		case 'I':
			cfg->insecure = true;
			break;
		case 'L':
			level = srv_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "iiofabd: bad --log-level '%s' (error, warn, info, debug)\n",
					optarg);
				goto out_usage;
			}
			cfg->log_level = (enum srv_log_level)level;
			break;
		case 'h':
			usage(stdout);
			free(cfg);
			return 0;
		case 'V':
			printf("iiofabd %s (protocol %d)\n", IIOFABD_VERSION, IIOFAB_WIRE_VERSION);
			free(cfg);
			return 0;
		default:
			goto out_usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iiofabd: unexpected argument '%s'\n", argv[optind]);
		goto out_usage;
	}
	if (!cfg->listen_port) {
		snprintf(port, sizeof(port), "%d", IIOFAB_DEFAULT_PORT);
		cfg->listen_port = port;
	}
	if (psk_file && read_psk(psk_file, cfg) < 0)
		goto out_fail;
	if (!psk_file && !cfg->insecure) {
		fprintf(stderr, "iiofabd: no --psk-file given: refusing to serve without "
			"authentication. Give --psk-file FILE, or --insecure to accept any client.\n");
		goto out_usage;
	}
	if (raise_memlock() < 0)
		goto out_fail;
	err = srv_run(cfg);
	explicit_bzero(cfg->psk, sizeof(cfg->psk));
	free(cfg);
	return err < 0 ? 1 : 0;

out_usage:
	fprintf(stderr, "Try 'iiofabd --help' for more information.\n");
	explicit_bzero(cfg->psk, sizeof(cfg->psk));
	free(cfg);
	return 2;
out_fail:
	explicit_bzero(cfg->psk, sizeof(cfg->psk));
	free(cfg);
	return 1;
}
