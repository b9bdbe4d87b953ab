/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jsonw.c - JSON string escaping and number output for the viz sinks.
 * Hot: called for every event, so it writes with the unlocked stdio calls.
 */
#include "jsonw.h"

#include <string.h>

static const char hexd[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need;
	unsigned min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	unsigned cp = c & (0xff >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/*
 * One escaper for both targets: emit(ctx, bytes, n) receives the output
 * pieces.  Returns the total length emitted.
 */
typedef void (*emit_fn)(void *ctx, const char *p, size_t n);

static size_t
escape(emit_fn emit, void *ctx, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t total = 0, run = 0, i = 0;
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };

	while (i < len) {
		unsigned c = s[i];
		const char *rep = NULL;
		size_t rn = 0, adv = 1;

		if (c >= 0x80) {
			size_t l = utf8_len(s + i, len - i);
			if (l == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
				/* U+2028/9 end a line in older JS parsers. */
				rep = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
				rn = 6; adv = 3;
			} else if (l == 0) {
				rep = "\\ufffd"; rn = 6;
			} else {
				run += l; i += l;
				continue;
			}
		} else if (c == '"') {
			rep = "\\\""; rn = 2;
		} else if (c == '\\') {
			rep = "\\\\"; rn = 2;
		} else if (c == '\n') {
			rep = "\\n"; rn = 2;
		} else if (c == '\t') {
			rep = "\\t"; rn = 2;
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
			u[4] = hexd[c >> 4]; u[5] = hexd[c & 15];
			rep = u; rn = 6;
		} else {
			run++; i++;
			continue;
		}
		if (run) {
			emit(ctx, (const char *)s + i - run, run);
			total += run;
			run = 0;
		}
		emit(ctx, rep, rn);
		total += rn;
		i += adv;
	}
	if (run) {
		emit(ctx, (const char *)s + i - run, run);
		total += run;
	}
	return total;
}

static void
emit_file(void *ctx, const char *p, size_t n)
{
	fwrite_unlocked(p, 1, n, (FILE *)ctx);
}

struct bufctx {
	char *buf;
	size_t cap, used;
};

static void
emit_buf(void *ctx, const char *p, size_t n)
{
	struct bufctx *b = ctx;

	if (b->cap && b->used < b->cap - 1) {
		size_t room = b->cap - 1 - b->used;
		memcpy(b->buf + b->used, p, n < room ? n : room);
	}
	b->used += n;
}

void
viz_json_strn(FILE *f, const char *s, size_t len)
{
	putc_unlocked('"', f);
	escape(emit_file, f, s, len);
	putc_unlocked('"', f);
}

void
viz_json_str(FILE *f, const char *s)
{
	viz_json_strn(f, s ? s : "", s ? strlen(s) : 0);
}

size_t
viz_json_escape_buf(char *buf, size_t cap, const char *s, size_t len)
{
	struct bufctx b = { buf, cap, 0 };
	size_t n = escape(emit_buf, &b, s, len);

	if (cap)
		buf[b.used < cap ? b.used : cap - 1] = '\0';
	return n;
}

void
viz_json_u64(FILE *f, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(tmp + i, 1, sizeof(tmp) - i, f);
}

void
viz_json_i64(FILE *f, int64_t v)
{
	if (v < 0) {
		putc_unlocked('-', f);
		viz_json_u64(f, (uint64_t)0 - (uint64_t)v);
	} else {
		viz_json_u64(f, (uint64_t)v);
	}
}

void
viz_json_us(FILE *f, uint64_t ns)
{
	char frac[4] = { (char)('0' + ns % 1000 / 100),
		(char)('0' + ns % 100 / 10), (char)('0' + ns % 10), 0 };

	viz_json_u64(f, ns / 1000);
	putc_unlocked('.', f);
	fwrite_unlocked(frac, 1, 3, f);
}
