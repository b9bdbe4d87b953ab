/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pbw.h - a minimal protocol-buffers wire-format writer (encoding only):
 * varints, zigzag-free signed ints (int64 as two's complement, as protoc
 * writes int64 fields), fixed64 and length-delimited fields, into growable
 * byte buffers.  A nested message is built in its own buffer and appended
 * with pbw_msg(), which writes its length first.
 *
 * Encoding rules from the public specification, "Encoding" at
 * protobuf.dev/programming-guides/encoding: a tag is (field << 3 | wire
 * type); wire types 0 varint, 1 64-bit, 2 length-delimited.
 */
#ifndef VIZ_PBW_H
#define VIZ_PBW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { PBW_VARINT = 0, PBW_I64 = 1, PBW_LEN = 2 };

struct pbw {
	uint8_t *p;		/* owned */
	size_t n, cap;
	bool oom;		/* an allocation failed: the content is short */
};

void pbw_free(struct pbw *b);
static inline void pbw_reset(struct pbw *b) { b->n = 0; }

/* Bytes a varint of v takes (1..10). */
size_t pbw_varint_len(uint64_t v);
/* Writes v as a varint into out (at least 10 bytes); returns its length. */
size_t pbw_varint_to(uint8_t *out, uint64_t v);

void pbw_raw(struct pbw *b, const void *p, size_t n);
void pbw_varint(struct pbw *b, uint64_t v);
void pbw_tag(struct pbw *b, unsigned field, unsigned wt);

/* Field writers. */
void pbw_u64(struct pbw *b, unsigned field, uint64_t v);	/* uint*, bool, enum */
void pbw_i64(struct pbw *b, unsigned field, int64_t v);	/* int32, int64 */
void pbw_fixed64(struct pbw *b, unsigned field, uint64_t v);
void pbw_bytes(struct pbw *b, unsigned field, const void *p, size_t n);
void pbw_str(struct pbw *b, unsigned field, const char *s);
/* Appends sub as a length-delimited (message) field. */
void pbw_msg(struct pbw *b, unsigned field, const struct pbw *sub);

#endif /* VIZ_PBW_H */
