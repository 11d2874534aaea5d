// SPDX-License-Identifier: MIT
/* Pre-shared key files, read the same way by iiofabd and the iiofab tool. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iiofab/auth.h>

/* Reads up to cap bytes; -errno on a read error. */
static ssize_t read_upto(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static int check_key(const char *path, int fd, struct iiofab_key *key, ssize_t n,
		     const struct iiofab_logger *lg)
{
	uint8_t extra;

	if (n < 0) {
		iiofab_log_err(lg, "cannot read key file %s: %s", path, strerror((int)-n));
		return (int)n;
	}
	if (n == IIOFAB_KEY_MAX && read_upto(fd, &extra, 1) > 0) {
		iiofab_log_err(lg, "key file %s is longer than %d bytes", path, IIOFAB_KEY_MAX);
		return -EFBIG;
	}
	if (n > 0 && key->bytes[n - 1] == '\n')
		n--;
	if (n < IIOFAB_KEY_MIN) {
		iiofab_log_err(lg, "key file %s holds %zd byte(s); a key needs at least %d "
			       "(e.g. head -c 32 /dev/urandom > %s)", path, n, IIOFAB_KEY_MIN, path);
		return -EINVAL;
	}
	key->len = (size_t)n;
	return 0;
}

int iiofab_key_read(const char *path, struct iiofab_key *key,
		    const struct iiofab_logger *lg)
{
	struct stat st;
	int fd, err;

	key->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		iiofab_log_err(lg, "cannot open key file %s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077))
		iiofab_log_warn(lg, "key file %s is readable by group or others", path);
	err = check_key(path, fd, key, read_upto(fd, key->bytes, sizeof(key->bytes)), lg);
	close(fd);
	if (err)
		iiofab_key_wipe(key);
	return err;
}

void iiofab_key_wipe(struct iiofab_key *key)
{
	explicit_bzero(key->bytes, sizeof(key->bytes));
	key->len = 0;
}
