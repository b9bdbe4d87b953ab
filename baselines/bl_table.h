/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bl_table.h - the read-mostly workload's table entry, shared by every
 * baseline (mutex, rwlock, urcu flavours) so they all copy and check the
 * same bytes.
 *
 * An entry is valid when be_check equals the hash of the other fields: a
 * reader that sees a half-written entry (a torn read) finds a mismatch.
 */
#ifndef LWKT_BASELINES_BL_TABLE_H
#define LWKT_BASELINES_BL_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define BL_TABLE_SLOTS 64u	/* power of two */
#define BL_ENTRY_WORDS 6u

struct bl_entry {
	uint64_t be_gen;			/* update generation */
	uint64_t be_val[BL_ENTRY_WORDS];
	uint64_t be_check;
};

static inline uint64_t
bl_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t
bl_entry_hash(const struct bl_entry *e)
{
	uint64_t h = bl_mix(e->be_gen);
	for (unsigned i = 0; i < BL_ENTRY_WORDS; i++)
		h = bl_mix(h ^ e->be_val[i]);
	return h;
}

/* Fills e for generation `gen` of slot `slot`. */
static inline void
bl_entry_fill(struct bl_entry *e, uint64_t slot, uint64_t gen)
{
	e->be_gen = gen;
	for (unsigned i = 0; i < BL_ENTRY_WORDS; i++)
		e->be_val[i] = bl_mix(slot * 131 + gen * 7 + i);
	e->be_check = bl_entry_hash(e);
}

static inline bool
bl_entry_ok(const struct bl_entry *e)
{
	return e->be_check == bl_entry_hash(e);
}

/* Spreads P updates per 100 operations evenly: call once per operation;
 * true means "this one is an update". */
static inline bool
bl_update_due(unsigned *acc, unsigned pct)
{
	*acc += pct;
	if (*acc >= 100) {
		*acc -= 100;
		return true;
	}
	return false;
}

#endif /* LWKT_BASELINES_BL_TABLE_H */
