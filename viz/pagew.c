/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pagew.c - byte buffers, varints, zlib+base64 and the levels of detail
 * of the timeline page (see pagew.h).
 */
#include "pagew.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int
viz_buf_reserve(struct viz_buf *b, size_t more)
{
	if (b->cap - b->n >= more)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->n < more)
		cap *= 2;
	unsigned char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
viz_buf_put(struct viz_buf *b, const void *p, size_t n)
{
	if (viz_buf_reserve(b, n))
		return -1;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

void
viz_buf_free(struct viz_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
viz_buf_get_uv(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;

	for (int s = 0; s < 64 && *p < end; s += 7) {
		unsigned char c = *(*p)++;
		r |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
viz_deflate_b64(struct viz_buf *out, const unsigned char *src, size_t n,
		int level)
{
	uLongf zn = compressBound((uLong)n);
	unsigned char *z = malloc(zn);

	if (!z)
		return -1;
	if (compress2(z, &zn, src, (uLong)n, level) != Z_OK) {
		free(z);
		return -1;
	}
	size_t bn = (zn + 2) / 3 * 4;
	if (viz_buf_reserve(out, bn)) {
		free(z);
		return -1;
	}
	unsigned char *o = out->p + out->n;
	size_t i = 0;
	for (; i + 2 < zn; i += 3) {
		uint32_t v = (uint32_t)z[i] << 16 | (uint32_t)z[i + 1] << 8 | z[i + 2];
		*o++ = (unsigned char)b64[v >> 18];
		*o++ = (unsigned char)b64[(v >> 12) & 63];
		*o++ = (unsigned char)b64[(v >> 6) & 63];
		*o++ = (unsigned char)b64[v & 63];
	}
	if (i < zn) {
		uint32_t v = (uint32_t)z[i] << 16 | (i + 1 < zn ? (uint32_t)z[i + 1] << 8 : 0);
		*o++ = (unsigned char)b64[v >> 18];
		*o++ = (unsigned char)b64[(v >> 12) & 63];
		*o++ = i + 1 < zn ? (unsigned char)b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	out->n += bn;
	free(z);
	return 0;
}

/* ---- levels of detail */

const char *const viz_lod_col_name[VIZ_LOD__COLS] = {
	"busy", "crit", "ipi", "svc", "wait", "spans", "marks", "arrows",
	"worst", "domtid",
};

void
viz_lod_init(struct viz_lod *l)
{
	memset(l, 0, sizeof(*l));
	l->w = VIZ_LOD_W0;
}

void
viz_lod_fini(struct viz_lod *l)
{
	for (size_t i = 0; i < sizeof(l->row) / sizeof(l->row[0]); i++)
		free(l->row[i]);
	memset(l, 0, sizeof(*l));
}

size_t
viz_lod_nb(const struct viz_lod *l)
{
	size_t nb = (size_t)((l->end + l->w - 1) / l->w);
	return nb ? nb : 1;
}

static void
merge(struct viz_lod_b *a, const struct viz_lod_b *b)
{
	for (int i = 0; i < 5; i++)
		a->ns[i] += b->ns[i];
	for (int i = 0; i < 3; i++)
		a->cnt[i] += b->cnt[i];
	if (b->worst > a->worst)
		a->worst = b->worst;
	if (b->dom_ns > a->dom_ns) {
		a->dom_ns = b->dom_ns;
		a->dom_tid = b->dom_tid;
	}
}

/* Makes t fall inside the rows: doubles w, merging bucket pairs. */
static void
grow(struct viz_lod *l, uint64_t t)
{
	while (t / l->w >= VIZ_LOD_NB) {
		for (size_t r = 0; r < sizeof(l->row) / sizeof(l->row[0]); r++) {
			struct viz_lod_b *b = l->row[r];
			if (!b)
				continue;
			for (size_t i = 0; i < VIZ_LOD_NB / 2; i++) {
				struct viz_lod_b m = b[2 * i];
				merge(&m, &b[2 * i + 1]);
				b[i] = m;
			}
			memset(b + VIZ_LOD_NB / 2, 0, VIZ_LOD_NB / 2 * sizeof(*b));
		}
		l->w *= 2;
	}
	if (t + 1 > l->end)
		l->end = t + 1;
}

static struct viz_lod_b *
row(struct viz_lod *l, int lane)
{
	if (lane < 0 || (size_t)lane >= sizeof(l->row) / sizeof(l->row[0]))
		return NULL;
	if (!l->row[lane])
		l->row[lane] = calloc(VIZ_LOD_NB, sizeof(struct viz_lod_b));
	return l->row[lane];
}

int
viz_lod_span(struct viz_lod *l, int lane, int col, uint64_t t0, uint64_t t1,
	     int64_t tid)
{
	struct viz_lod_b *b;

	if (lane < 0)
		return 0;
	if (t1 < t0)
		t1 = t0;
	grow(l, t1);
	if (!(b = row(l, lane)))
		return -1;
	for (uint64_t i = t0 / l->w; i <= t1 / l->w && i < VIZ_LOD_NB; i++) {
		uint64_t a = i * l->w > t0 ? i * l->w : t0;
		uint64_t e = (i + 1) * l->w < t1 ? (i + 1) * l->w : t1;
		if (e <= a)
			continue;
		b[i].ns[col] += (double)(e - a);
		if (tid >= 0 && e - a > b[i].dom_ns) {
			b[i].dom_ns = e - a;
			b[i].dom_tid = (uint64_t)tid;
		}
	}
	return 0;
}

int
viz_lod_count(struct viz_lod *l, int lane, int col, uint64_t t, uint64_t lat)
{
	struct viz_lod_b *b;

	if (lane < 0)
		return 0;
	grow(l, t);
	if (!(b = row(l, lane)))
		return -1;
	b[t / l->w].cnt[col - VIZ_LOD_SPANS]++;
	if (lat > b[t / l->w].worst)
		b[t / l->w].worst = lat;
	return 0;
}

static void
put32(unsigned char *o, uint32_t v)
{
	o[0] = (unsigned char)v;
	o[1] = (unsigned char)(v >> 8);
	o[2] = (unsigned char)(v >> 16);
	o[3] = (unsigned char)(v >> 24);
}

int
viz_lod_write(const struct viz_lod *l, int lane, size_t nb, struct viz_buf *out)
{
	const struct viz_lod_b *b = lane >= 0 &&
		(size_t)lane < sizeof(l->row) / sizeof(l->row[0]) ? l->row[lane] : NULL;
	static const struct viz_lod_b zero;

	if (nb > VIZ_LOD_NB)
		nb = VIZ_LOD_NB;
	if (viz_buf_reserve(out, nb * 4 * VIZ_LOD__COLS))
		return -1;
	for (int c = 0; c < VIZ_LOD__COLS; c++) {
		for (size_t i = 0; i < nb; i++) {
			const struct viz_lod_b *x = b ? &b[i] : &zero;
			uint32_t v;
			float f;
			if (c <= VIZ_LOD_WAIT || c == VIZ_LOD_WORST) {
				f = c == VIZ_LOD_WORST ? (float)x->worst : (float)x->ns[c];
				memcpy(&v, &f, 4);
			} else if (c == VIZ_LOD_DOMTID) {
				v = (uint32_t)x->dom_tid;
			} else {
				uint64_t n = x->cnt[c - VIZ_LOD_SPANS];
				v = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
			}
			put32(out->p + out->n, v);
			out->n += 4;
		}
	}
	return 0;
}
