// SPDX-License-Identifier: MIT
/*
 * Protocol status codes and their errno equivalents. Hosts may disagree on
 * errno numbering, so only these codes travel; each side converts here.
 */
#include <errno.h>

#include <iiofab/wire.h>

struct status_info {
	const char *name;
	const char *text;
	int err;		/* positive errno */
};

static const struct status_info statuses[] = {
	[IIOFAB_WIRE_STATUS_OK] = { "OK", "success", 0 },
	[IIOFAB_WIRE_STATUS_BAD_MESSAGE] = { "BAD_MESSAGE", "malformed message", EBADMSG },
	[IIOFAB_WIRE_STATUS_UNSUPPORTED_VERSION] = { "UNSUPPORTED_VERSION", "protocol version not supported", EPROTONOSUPPORT },
	[IIOFAB_WIRE_STATUS_AUTH_REQUIRED] = { "AUTH_REQUIRED", "server requires a pre-shared key", EACCES },
	[IIOFAB_WIRE_STATUS_AUTH_FAILED] = { "AUTH_FAILED", "authentication failed", EKEYREJECTED },
	[IIOFAB_WIRE_STATUS_NO_DEVICE] = { "NO_DEVICE", "no such device", ENODEV },
	[IIOFAB_WIRE_STATUS_NO_CHANNEL] = { "NO_CHANNEL", "no such channel", ENXIO },
	[IIOFAB_WIRE_STATUS_NO_ATTRIBUTE] = { "NO_ATTRIBUTE", "no such attribute", ENOENT },
	[IIOFAB_WIRE_STATUS_INVALID_ARGUMENT] = { "INVALID_ARGUMENT", "invalid argument", EINVAL },
	[IIOFAB_WIRE_STATUS_BUSY] = { "BUSY", "device or resource busy", EBUSY },
	[IIOFAB_WIRE_STATUS_NO_MEMORY] = { "NO_MEMORY", "out of memory on the server", ENOMEM },
	[IIOFAB_WIRE_STATUS_IO_ERROR] = { "IO_ERROR", "input/output error on the server", EIO },
	[IIOFAB_WIRE_STATUS_NO_STREAM] = { "NO_STREAM", "no such stream", ESRCH },
	[IIOFAB_WIRE_STATUS_BAD_BLOCK] = { "BAD_BLOCK", "bad block index or generation", ERANGE },
	[IIOFAB_WIRE_STATUS_PERMISSION] = { "PERMISSION", "permission denied", EPERM },
	[IIOFAB_WIRE_STATUS_INTERNAL] = { "INTERNAL", "internal server error", EREMOTEIO },
	[IIOFAB_WIRE_STATUS_UNSUPPORTED] = { "UNSUPPORTED", "operation not supported", EOPNOTSUPP },
};

static const struct status_info *status_find(int32_t status)
{
	if (status < 0 || status > IIOFAB_WIRE_STATUS_MAX)
		return NULL;
	return &statuses[status];
}

int iiofab_wire_status_to_errno(int32_t status)
{
	const struct status_info *si = status_find(status);

	return si ? -si->err : -EPROTO;
}

int32_t iiofab_wire_status_from_errno(int err)
{
	int32_t st;

	if (err < 0)
		err = -err;
	if (!err)
		return IIOFAB_WIRE_STATUS_OK;
	for (st = 1; st <= IIOFAB_WIRE_STATUS_MAX; st++)
		if (statuses[st].err == err)
			return st;
	/* Synonyms a server may meet on its way to the IIO and RDMA layers. */
	switch (err) {
	case ENOSYS:
	case ENOTTY:
		return IIOFAB_WIRE_STATUS_UNSUPPORTED;
	case EAGAIN:
		return IIOFAB_WIRE_STATUS_BUSY;
	case ENOSPC:
	case ENOBUFS:
		return IIOFAB_WIRE_STATUS_NO_MEMORY;
	case EROFS:
		return IIOFAB_WIRE_STATUS_PERMISSION;
	case EKEYREVOKED:
	case EKEYEXPIRED:
		return IIOFAB_WIRE_STATUS_AUTH_FAILED;
	case EMSGSIZE:
	case EPROTO:
		return IIOFAB_WIRE_STATUS_BAD_MESSAGE;
	case ENAMETOOLONG:
	case EDOM:
	case E2BIG:
		return IIOFAB_WIRE_STATUS_INVALID_ARGUMENT;
	case ETIMEDOUT:
		return IIOFAB_WIRE_STATUS_IO_ERROR;
	}
	return IIOFAB_WIRE_STATUS_INTERNAL;
}

const char *iiofab_wire_status_str(int32_t status)
{
	const struct status_info *si = status_find(status);

	return si ? si->text : "unknown protocol status";
}

const char *iiofab_wire_status_name(int32_t status)
{
	const struct status_info *si = status_find(status);

	return si ? si->name : "UNKNOWN";
}

const char *iiofab_wire_reg_path_name(unsigned int path)
{
	switch (path) {
	case IIOFAB_WIRE_REG_DMABUF:
		return "dmabuf-mr";
	case IIOFAB_WIRE_REG_MEMFD:
		return "memfd-mr";
	default:
		return "unknown";
	}
}

const char *iiofab_wire_mode_name(unsigned int mode)
{
	switch (mode) {
	case IIOFAB_WIRE_MODE_EXCLUSIVE:
		return "exclusive";
	case IIOFAB_WIRE_MODE_FANOUT:
		return "fanout";
	case IIOFAB_WIRE_MODE_SHARD:
		return "shard";
	default:
		return "unknown";
	}
}
