// SPDX-License-Identifier: MIT
/*
 * Writes a seed corpus for the decoder fuzz targets: one valid message per
 * type, as a whole message under <dir>/msg/ and as a body under
 * <dir>/<decoder>/. Valid seeds get the fuzzer past the first length
 * checks at once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <iiofab/wire.h>

#include "t_wire_util.h"

static const char *const decoder_of[] = {
	[IIOFAB_MSG_HELLO] = "hello",
	[IIOFAB_MSG_CHALLENGE] = "challenge",
	[IIOFAB_MSG_AUTH] = "auth",
	[IIOFAB_MSG_WELCOME] = "welcome",
	[IIOFAB_MSG_ERROR] = "error",
	[IIOFAB_MSG_OK] = "ok",
	[IIOFAB_MSG_LIST] = NULL,
	[IIOFAB_MSG_DEVICES] = "devices",
	[IIOFAB_MSG_DEVICE_INFO] = "device_info",
	[IIOFAB_MSG_DEVICE] = "device",
	[IIOFAB_MSG_ATTR_READ] = "attr_read",
	[IIOFAB_MSG_ATTR_WRITE] = "attr_write",
	[IIOFAB_MSG_ATTR_VALUE] = "attr_value",
	[IIOFAB_MSG_OPEN_STREAM] = "open_stream",
	[IIOFAB_MSG_STREAM_INFO] = "stream_info",
	[IIOFAB_MSG_START] = "stream_ctl",
	[IIOFAB_MSG_STOP] = NULL,
	[IIOFAB_MSG_CLOSE] = NULL,
	[IIOFAB_MSG_READY] = "ready",
	[IIOFAB_MSG_RELEASE] = "release",
	[IIOFAB_MSG_FREE] = "free",
	[IIOFAB_MSG_SUBMIT] = "submit",
	[IIOFAB_MSG_STATS] = NULL,
	[IIOFAB_MSG_STATS_REPLY] = "stats_reply",
	[IIOFAB_MSG_STREAM_EVENT] = "stream_event",
};

static int write_file(const char *dir, const char *sub, const char *name,
		      const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	if (n && fwrite(p, n, 1, f) != 1) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

static int run(const char *dir)
{
	union iiofab_wire_msg m;
	uint8_t buf[IIOFAB_WIRE_MAX_MSG];
	uint16_t type;
	int n, ret;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (type = 1; type <= IIOFAB_MSG_TYPE_MAX; type++) {
		t_fill(type, &m);
		n = iiofab_wire_encode(buf, sizeof(buf), type, type, &m);
		if (n < 0)
			return n;
		ret = write_file(dir, "msg", iiofab_wire_type_name(type), buf, (size_t)n);
		if (!ret && decoder_of[type])
			ret = write_file(dir, decoder_of[type], "seed", buf + IIOFAB_WIRE_HDR_SIZE,
					 (size_t)n - IIOFAB_WIRE_HDR_SIZE);
		if (ret)
			return ret;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	ret = run(argv[1]);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[0], strerror(-ret));
		return 1;
	}
	return 0;
}
