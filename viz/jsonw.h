/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jsonw.h - the few JSON writing helpers both sinks share.
 *
 * Every string that reaches an output goes through viz_json_str(): besides
 * JSON's own escapes it writes '<', '>', '&' and the JS line separators as
 * \uXXXX, so a name holding markup can neither close the page's <script>
 * element nor be read as HTML anywhere.
 */
#ifndef VIZ_JSONW_H
#define VIZ_JSONW_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

/* Writes s (len bytes, may hold NUL) as a quoted, escaped JSON string.
 * Invalid UTF-8 bytes are written as U+FFFD so the output stays valid. */
void viz_json_strn(FILE *f, const char *s, size_t len);
void viz_json_str(FILE *f, const char *s);

/* Same escaping into a buffer (no quotes); returns the length it needs,
 * writes at most cap - 1 bytes and always NUL-terminates when cap > 0. */
size_t viz_json_escape_buf(char *buf, size_t cap, const char *s, size_t len);

/* Decimal integers without printf. */
void viz_json_u64(FILE *f, uint64_t v);
void viz_json_i64(FILE *f, int64_t v);

/* ns as microseconds with three decimals ("12.345"): Chrome's unit. */
void viz_json_us(FILE *f, uint64_t ns);

#endif /* VIZ_JSONW_H */
