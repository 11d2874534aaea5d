// SPDX-License-Identifier: MIT
/* Sample-loss accounting from READY entries; see loss.h. */
#include <errno.h>
#include <string.h>

#include <iiofab/loss.h>

void iiofab_loss_init(struct iiofab_loss *l, bool contiguous)
{
	memset(l, 0, sizeof(*l));
	l->contiguous = contiguous;
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

/* Anything that fails here is a server bug, and the stream cannot be trusted. */
static bool in_order(const struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans)
{
	if (scans > UINT64_MAX - e->first_sample)
		return false;
	if (e->flags & IIOFAB_WIRE_READY_REDELIVERED)
		return !l->contiguous;
	if (!l->started)
		return true;
	if (e->seq < l->next_seq)
		return false;
	if (e->first_sample < l->next_sample)
		return false;
	return !l->contiguous || e->first_sample - l->next_sample == e->lost;
}

static int account(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		   uint64_t scans)
{
	if (!in_order(l, e, scans))
		return -EBADMSG;
	l->pending_lost += e->lost;
	l->lost_samples += e->lost;
	if (e->flags & IIOFAB_WIRE_READY_REDELIVERED) {
		l->redelivered_blocks++;
		return 0;
	}
	l->started = true;
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

/* An entry whose scans never reach the application: they count as lost. */
static int lose(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		uint64_t scans)
{
	int ret = account(l, e, scans);

	if (ret)
		return ret;
	l->pending_lost += scans;
	l->lost_samples += scans;
	return 0;
}

int iiofab_loss_torn(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans)
{
	int ret = lose(l, e, scans);

	if (ret)
		return ret;
	l->torn_blocks++;
	l->torn_samples += scans;
	return 0;
}

int iiofab_loss_drop(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans)
{
	int ret = lose(l, e, scans);

	if (!ret)
		l->dropped_blocks++;
	return ret;
}

void iiofab_loss_drops_add(struct iiofab_loss_drops *d, const struct iiofab_wire_ready_entry *e,
			   uint64_t scans)
{
	uint64_t lost = d->any ? d->last.lost + d->scans + e->lost : e->lost;

	d->last = *e;
	d->last.lost = lost;
	d->scans = scans;
	d->any = true;
}

int iiofab_loss_drops_flush(struct iiofab_loss *l, struct iiofab_loss_drops *d)
{
	int ret;

	if (!d->any)
		return 0;
	ret = iiofab_loss_drop(l, &d->last, d->scans);
	d->any = false;
	return ret;
}

uint64_t iiofab_loss_take_pending(struct iiofab_loss *l)
{
	uint64_t lost = l->pending_lost;

	l->pending_lost = 0;
	return lost;
}
