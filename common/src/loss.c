// SPDX-License-Identifier: MIT
/* Sample-loss accounting from READY entries; see loss.h. */
#include <errno.h>
#include <string.h>

#include <iiofab/loss.h>

void iiofab_loss_init(struct iiofab_loss *l, uint64_t start_sample)
{
	memset(l, 0, sizeof(*l));
	l->next_sample = start_sample;
}

int iiofab_loss_block_scans(uint32_t bytes_used, uint16_t scan_bytes, uint64_t *scans)
{
	if (!scan_bytes)
		return -EINVAL;
	if (bytes_used % scan_bytes)
		return -EBADMSG;
	*scans = bytes_used / scan_bytes;
	return 0;
}

/* Moves past the block and books the gap before it as lost. */
static int account(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		   uint64_t scans)
{
	uint64_t gap;

	/* Blocks arrive in order and never overlap; anything else is a server bug. */
	if (e->seq < l->next_seq || e->first_sample < l->next_sample ||
	    scans > UINT64_MAX - e->first_sample)
		return -EBADMSG;
	gap = e->first_sample - l->next_sample;
	l->missing_blocks += e->seq - l->next_seq;
	l->pending_lost += gap;
	l->lost_samples += gap;
	l->next_sample = e->first_sample + scans;
	l->next_seq = e->seq + 1;
	return 0;
}

int iiofab_loss_deliver(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
			uint64_t scans, uint64_t *lost)
{
	int ret = account(l, e, scans);

	if (ret)
		return ret;
	*lost = iiofab_loss_take_pending(l);
	l->delivered_blocks++;
	l->delivered_samples += scans;
	return 0;
}

int iiofab_loss_torn(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans)
{
	int ret = account(l, e, scans);

	if (ret)
		return ret;
	l->pending_lost += scans;
	l->lost_samples += scans;
	l->torn_blocks++;
	l->torn_samples += scans;
	return 0;
}

uint64_t iiofab_loss_take_pending(struct iiofab_loss *l)
{
	uint64_t lost = l->pending_lost;

	l->pending_lost = 0;
	return lost;
}
