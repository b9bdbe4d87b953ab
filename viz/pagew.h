/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pagew.h - the compact encoding of the timeline page's records (tiles)
 * and its levels of detail (per lane and time bucket summaries).  Used by
 * out_html.c; kept apart so that the unit tests exercise it without
 * babeltrace2.  Private to the plugin.
 *
 * Tile bytes (before zlib and base64): records, each a varint type then
 * its fields as LEB128 varints (unsigned) or zigzag varints (signed).  Every
 * time is a zigzag delta from the previous time written in the same tile,
 * so a tile decodes on its own.  See out_html.c for the record layouts.
 */
#ifndef VIZ_PAGEW_H
#define VIZ_PAGEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. */
struct viz_buf {
	unsigned char *p;
	size_t n, cap;
};

/* 0, or -1 (out of memory: the buffer is unchanged). */
int viz_buf_reserve(struct viz_buf *b, size_t more);
int viz_buf_put(struct viz_buf *b, const void *p, size_t n);
void viz_buf_free(struct viz_buf *b);

/* Appends v as LEB128 (at most 10 bytes); the caller reserved room. */
static inline void
viz_buf_uv(struct viz_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		b->p[b->n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	b->p[b->n++] = (unsigned char)v;
}

static inline void
viz_buf_sv(struct viz_buf *b, int64_t v)
{
	viz_buf_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Decodes one LEB128 varint at *p (< end); -1 when cut or too long. */
int viz_buf_get_uv(const unsigned char **p, const unsigned char *end,
		   uint64_t *v);

/* zlib-compresses src (zlib format, RFC 1950: what the browser's
 * DecompressionStream("deflate") reads) and appends it base64-encoded
 * (RFC 4648, with padding) to out.  0, or -1 (out of memory, zlib). */
int viz_deflate_b64(struct viz_buf *out, const unsigned char *src, size_t n,
		    int level);

/*
 * Levels of detail: per lane, a row of buckets of width w ns (a power of
 * two) covering [0, nb * w).  When a time past the row arrives, w doubles
 * and pairs of buckets merge, so the row stays at most VIZ_LOD_NB buckets
 * whatever the trace's length, and summing stays exact.
 */
#define VIZ_LOD_NB 8192
#define VIZ_LOD_W0 256

enum viz_lod_col {
	VIZ_LOD_BUSY,		/* ns running a thread (depth-0 non-idle) */
	VIZ_LOD_CRIT,		/* ns in critical sections */
	VIZ_LOD_IPI,		/* ns handling IPIs */
	VIZ_LOD_SVC,		/* ns in netisr dispatches, syscall messages */
	VIZ_LOD_WAIT,		/* ns of waits and holds (overlay row) */
	VIZ_LOD_SPANS,		/* spans starting in the bucket */
	VIZ_LOD_MARKS,		/* instants */
	VIZ_LOD_ARROWS,		/* messages and pairs sent from this lane */
	VIZ_LOD_WORST,		/* their worst latency (ns) */
	VIZ_LOD_DOMTID,		/* the tid of the longest running piece */
	VIZ_LOD__COLS
};
extern const char *const viz_lod_col_name[VIZ_LOD__COLS];

struct viz_lod_b {
	double ns[5];		/* BUSY..WAIT */
	uint64_t cnt[3];	/* SPANS..ARROWS */
	uint64_t worst;
	uint64_t dom_ns, dom_tid;
};

struct viz_lod {
	uint64_t w;			/* bucket width, ns */
	uint64_t end;			/* latest time added + 1 */
	struct viz_lod_b *row[4096];	/* owned, per lane (NULL: none yet) */
};

void viz_lod_init(struct viz_lod *l);
void viz_lod_fini(struct viz_lod *l);
/* The buckets used so far: ceil(end / w), at least 1. */
size_t viz_lod_nb(const struct viz_lod *l);
/* Interval [t0, t1) adds its overlap with each bucket to column col
 * (BUSY..WAIT); tid >= 0 competes for the dominant tid.  0, -1 (memory). */
int viz_lod_span(struct viz_lod *l, int lane, int col, uint64_t t0,
		 uint64_t t1, int64_t tid);
/* One count at t (SPANS..ARROWS); lat: a latency for WORST (0: none). */
int viz_lod_count(struct viz_lod *l, int lane, int col, uint64_t t,
		  uint64_t lat);
/* Appends lane's row as VIZ_LOD__COLS little-endian columns of nb 4-byte
 * values (float32 for ns, uint32 for counts and the tid). */
int viz_lod_write(const struct viz_lod *l, int lane, size_t nb,
		  struct viz_buf *out);

#endif /* VIZ_PAGEW_H */
