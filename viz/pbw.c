/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pbw.c - protocol-buffers wire-format writer (see pbw.h).  A failed
 * allocation sets b->oom and drops the write; the caller checks oom once
 * per packet, so the hot path has no error branches.
 */
#include "pbw.h"

#include <stdlib.h>
#include <string.h>

void
pbw_free(struct pbw *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool
reserve(struct pbw *b, size_t more)
{
	if (b->n + more <= b->cap)
		return true;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < b->n + more)
		nc *= 2;
	uint8_t *np = realloc(b->p, nc);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = nc;
	return true;
}

size_t
pbw_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
pbw_varint_to(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

void
pbw_raw(struct pbw *b, const void *p, size_t n)
{
	if (!n || !reserve(b, n))
		return;
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void
pbw_varint(struct pbw *b, uint64_t v)
{
	if (!reserve(b, 10))
		return;
	b->n += pbw_varint_to(b->p + b->n, v);
}

void
pbw_tag(struct pbw *b, unsigned field, unsigned wt)
{
	pbw_varint(b, (uint64_t)field << 3 | wt);
}

void
pbw_u64(struct pbw *b, unsigned field, uint64_t v)
{
	pbw_tag(b, field, PBW_VARINT);
	pbw_varint(b, v);
}

void
pbw_i64(struct pbw *b, unsigned field, int64_t v)
{
	/* int32/int64: a negative value is its 64-bit two's complement
	 * (10 bytes), not zigzag (that is sint64). */
	pbw_u64(b, field, (uint64_t)v);
}

void
pbw_fixed64(struct pbw *b, unsigned field, uint64_t v)
{
	uint8_t le[8];

	pbw_tag(b, field, PBW_I64);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));	/* little-endian */
	pbw_raw(b, le, 8);
}

void
pbw_bytes(struct pbw *b, unsigned field, const void *p, size_t n)
{
	pbw_tag(b, field, PBW_LEN);
	pbw_varint(b, n);
	pbw_raw(b, p, n);
}

void
pbw_str(struct pbw *b, unsigned field, const char *s)
{
	pbw_bytes(b, field, s, strlen(s));
}

void
pbw_msg(struct pbw *b, unsigned field, const struct pbw *sub)
{
	if (sub->oom)
		b->oom = true;
	pbw_bytes(b, field, sub->p, sub->n);
}
