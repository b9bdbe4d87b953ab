/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pagew.c - unit tests of the timeline page's compact encoding
 * (viz/pagew.c): varints, zlib + base64 read back with zlib itself, and
 * the levels of detail (sums exact across bucket merges, bounded rows,
 * the column layout the page reads).  The page decoded in a browser is
 * checked by viz/tests/viz-check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ltest.h"
#include "pagew.h"

START_TEST(t_varint)
{
	static const int64_t sv[] = { 0, 1, -1, 63, -64, 64, INT64_MAX, INT64_MIN };
	static const uint64_t uv[] = { 0, 1, 127, 128, 16383, 16384,
		(1ull << 53) + 1, UINT64_MAX };
	struct viz_buf b = { 0 };
	const unsigned char *p, *e;
	uint64_t v;

	ck_assert_int_eq(viz_buf_reserve(&b, 400), 0);
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++)
		viz_buf_uv(&b, uv[i]);
	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++)
		viz_buf_sv(&b, sv[i]);
	p = b.p;
	e = b.p + b.n;
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		ck_assert_int_eq(viz_buf_get_uv(&p, e, &v), 0);
		ck_assert_uint_eq(v, uv[i]);
	}
	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
		ck_assert_int_eq(viz_buf_get_uv(&p, e, &v), 0);
		ck_assert_int_eq((int64_t)(v >> 1) ^ -(int64_t)(v & 1), sv[i]);
	}
	ck_assert_ptr_eq(p, e);
	/* One byte per value below 128; UINT64_MAX takes 10. */
	ck_assert_uint_eq(b.p[0], 0);
	ck_assert_uint_eq(b.p[2], 127);
	/* A varint cut in the middle is an error, not a value. */
	b.n = 0;
	viz_buf_uv(&b, 300);
	p = b.p;
	ck_assert_int_eq(viz_buf_get_uv(&p, b.p + 1, &v), -1);
	viz_buf_free(&b);
}
END_TEST

static size_t
unb64(const unsigned char *s, size_t n, unsigned char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *c = strchr(a, s[i]);
		ck_assert_ptr_nonnull(c);
		acc = acc << 6 | (uint32_t)(c - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

START_TEST(t_deflate_b64)
{
	/* Three lengths, one per base64 padding case, of compressible and
	 * incompressible bytes. */
	for (size_t n = 3000; n < 3003; n++) {
		unsigned char *src = malloc(n), *z = malloc(2 * n + 64), *back = malloc(n);
		struct viz_buf b = { 0 };
		uLongf bn = n;
		uint32_t x = 12345;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			src[i] = i < n / 2 ? (unsigned char)(i % 7) : (unsigned char)(x >> 24);
		}
		ck_assert_int_eq(viz_deflate_b64(&b, src, n, 4), 0);
		ck_assert_uint_eq(b.n % 4, 0);
		for (size_t i = 0; i < b.n; i++)	/* nothing that ends a script */
			ck_assert(b.p[i] != '<' && b.p[i] != '>' && b.p[i] != '&');
		size_t zn = unb64(b.p, b.n, z);
		ck_assert_int_eq(uncompress(back, &bn, z, zn), Z_OK);
		ck_assert_uint_eq(bn, n);
		ck_assert_mem_eq(back, src, n);
		viz_buf_free(&b);
		free(src);
		free(z);
		free(back);
	}
}
END_TEST

static double
col_sum(const struct viz_lod *l, int lane, int col)
{
	double s = 0;

	for (size_t i = 0; i < VIZ_LOD_NB; i++)
		s += l->row[lane][i].ns[col];
	return s;
}

START_TEST(t_lod_merge_exact)
{
	struct viz_lod l;
	double want = 0;

	viz_lod_init(&l);
	/* Spans over 2^10 times the first row's reach: the row doubles ten
	 * times, the sums stay exact and the row stays bounded. */
	for (uint64_t t = 0; t < (uint64_t)VIZ_LOD_NB * VIZ_LOD_W0 * 1024; t += 777777) {
		ck_assert_int_eq(viz_lod_span(&l, 3, VIZ_LOD_BUSY, t, t + 1000, 7), 0);
		want += 1000;
	}
	ck_assert_uint_eq(l.w, (uint64_t)VIZ_LOD_W0 * 1024);
	ck_assert_double_eq(col_sum(&l, 3, VIZ_LOD_BUSY), want);
	ck_assert_uint_le(viz_lod_nb(&l), VIZ_LOD_NB);
	/* A span across buckets adds its overlap to each. */
	ck_assert_int_eq(viz_lod_span(&l, 4, VIZ_LOD_CRIT, l.w / 2, 3 * l.w, -1), 0);
	ck_assert_double_eq(l.row[4][0].ns[VIZ_LOD_CRIT], (double)(l.w / 2));
	ck_assert_double_eq(l.row[4][1].ns[VIZ_LOD_CRIT], (double)l.w);
	ck_assert_double_eq(l.row[4][2].ns[VIZ_LOD_CRIT], (double)l.w);
	ck_assert_double_eq(l.row[4][3].ns[VIZ_LOD_CRIT], 0);
	/* Worst latency and the dominant tid survive a merge. */
	ck_assert_int_eq(viz_lod_count(&l, 5, VIZ_LOD_ARROWS, 0, 900), 0);
	ck_assert_int_eq(viz_lod_count(&l, 5, VIZ_LOD_ARROWS, l.w, 5000), 0);
	ck_assert_int_eq(viz_lod_span(&l, 5, VIZ_LOD_BUSY, 0, 10, 11), 0);
	ck_assert_int_eq(viz_lod_span(&l, 5, VIZ_LOD_BUSY, l.w, l.w + 20, 22), 0);
	uint64_t w = l.w;
	ck_assert_int_eq(viz_lod_count(&l, 5, VIZ_LOD_MARKS, w * VIZ_LOD_NB, 0), 0);
	ck_assert_uint_eq(l.w, 2 * w);
	ck_assert_uint_eq(l.row[5][0].cnt[VIZ_LOD_ARROWS - VIZ_LOD_SPANS], 2);
	ck_assert_uint_eq(l.row[5][0].worst, 5000);
	ck_assert_uint_eq(l.row[5][0].dom_tid, 22);
	ck_assert_uint_eq(l.row[5][VIZ_LOD_NB / 2].cnt[VIZ_LOD_MARKS - VIZ_LOD_SPANS], 1);
	ck_assert_uint_eq(viz_lod_nb(&l), VIZ_LOD_NB / 2 + 1);
	viz_lod_fini(&l);
}
END_TEST

START_TEST(t_lod_write_layout)
{
	struct viz_lod l;
	struct viz_buf b = { 0 };
	float f;
	uint32_t u;

	viz_lod_init(&l);
	ck_assert_int_eq(viz_lod_span(&l, 0, VIZ_LOD_IPI, 0, 100, -1), 0);
	ck_assert_int_eq(viz_lod_count(&l, 0, VIZ_LOD_ARROWS, 300, 1234), 0);
	ck_assert_int_eq(viz_lod_span(&l, 0, VIZ_LOD_BUSY, 256, 356, 42), 0);
	size_t nb = viz_lod_nb(&l);
	ck_assert_uint_eq(nb, 2);
	ck_assert_int_eq(viz_lod_write(&l, 0, nb, &b), 0);
	ck_assert_int_eq(viz_lod_write(&l, 9, nb, &b), 0);	/* a lane without a row */
	ck_assert_uint_eq(b.n, 2 * nb * 4 * VIZ_LOD__COLS);
	memcpy(&f, b.p + 4 * (VIZ_LOD_IPI * nb + 0), 4);
	ck_assert_float_eq(f, 100);
	memcpy(&f, b.p + 4 * (VIZ_LOD_BUSY * nb + 1), 4);
	ck_assert_float_eq(f, 100);
	memcpy(&u, b.p + 4 * (VIZ_LOD_ARROWS * nb + 1), 4);
	ck_assert_uint_eq(u, 1);
	memcpy(&f, b.p + 4 * (VIZ_LOD_WORST * nb + 1), 4);
	ck_assert_float_eq(f, 1234);
	memcpy(&u, b.p + 4 * (VIZ_LOD_DOMTID * nb + 1), 4);
	ck_assert_uint_eq(u, 42);
	for (size_t i = nb * 4 * VIZ_LOD__COLS; i < b.n; i++)
		ck_assert_uint_eq(b.p[i], 0);
	ck_assert_str_eq(viz_lod_col_name[VIZ_LOD_DOMTID], "domtid");
	viz_buf_free(&b);
	viz_lod_fini(&l);
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "pagew", 20);
	tcase_add_test(tc, t_varint);
	tcase_add_test(tc, t_deflate_b64);
	tcase_add_test(tc, t_lod_merge_exact);
	tcase_add_test(tc, t_lod_write_layout);
}

LTEST_MAIN("pagew", add)
