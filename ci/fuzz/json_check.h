/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json_check.h - a strict validator for the viz sinks' JSON output (the
 * CTF harness's oracle): one value per RFC 8259 (the grammar of its
 * sections 2-7), strings in valid UTF-8 (section 8.1: no overlong forms,
 * no surrogates, nothing above U+10FFFF), nesting bounded.
 *
 *   json_check(p, n) -> NULL when [p, p+n) is one JSON value with
 *                       optional white space around it; otherwise a
 *                       pointer to the first byte found wrong
 */
#ifndef LWKT_FUZZ_JSON_CHECK_H
#define LWKT_FUZZ_JSON_CHECK_H

#include <stddef.h>
#include <string.h>

#define JSON_CHECK_MAXDEPTH 256

struct jc {
	const unsigned char *p, *e;
};

static void
jc_ws(struct jc *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
			       *j->p == '\r'))
		j->p++;
}

/* Bytes of the valid UTF-8 sequence at p (RFC 3629 section 4), 0 if none. */
static size_t
jc_utf8(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0], cp, min;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, min = 0x10000;
	else
		return 0;
	if ((size_t)(e - p) < need)
		return 0;
	cp = c & (0x7fu >> need);
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

static int
jc_hex(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
jc_string(struct jc *j)
{
	j->p++;	/* the opening quote */
	while (j->p < j->e) {
		unsigned c = *j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->e - j->p < 2)
				return -1;
			c = j->p[1];
			if (c == 'u') {
				if (j->e - j->p < 6 || !jc_hex(j->p[2]) || !jc_hex(j->p[3]) ||
				    !jc_hex(j->p[4]) || !jc_hex(j->p[5]))
					return -1;
				j->p += 6;
			} else if (strchr("\"\\/bfnrt", (int)c) && c) {
				j->p += 2;
			} else {
				return -1;
			}
			continue;
		}
		size_t l = jc_utf8(j->p, j->e);
		if (!l)
			return -1;
		j->p += l;
	}
	return -1;
}

static int
jc_digits(struct jc *j)
{
	const unsigned char *s = j->p;
	while (j->p < j->e && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

static int
jc_number(struct jc *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->e && *j->p == '0')
		j->p++;
	else if (jc_digits(j))
		return -1;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (jc_digits(j))
			return -1;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (jc_digits(j))
			return -1;
	}
	return 0;
}

static int
jc_value(struct jc *j, int depth)
{
	jc_ws(j);
	if (j->p >= j->e || depth > JSON_CHECK_MAXDEPTH)
		return -1;
	unsigned c = *j->p;
	if (c == '{' || c == '[') {
		unsigned close = c == '{' ? '}' : ']';
		j->p++;
		jc_ws(j);
		if (j->p < j->e && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (c == '{') {
				jc_ws(j);
				if (j->p >= j->e || *j->p != '"' || jc_string(j))
					return -1;
				jc_ws(j);
				if (j->p >= j->e || *j->p != ':')
					return -1;
				j->p++;
			}
			if (jc_value(j, depth + 1))
				return -1;
			jc_ws(j);
			if (j->p >= j->e)
				return -1;
			if (*j->p == close) {
				j->p++;
				return 0;
			}
			if (*j->p != ',')
				return -1;
			j->p++;
		}
	}
	if (c == '"')
		return jc_string(j);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jc_number(j);
	static const char *const lit[] = { "true", "false", "null" };
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lit[i]);
		if ((size_t)(j->e - j->p) >= n && memcmp(j->p, lit[i], n) == 0) {
			j->p += n;
			return 0;
		}
	}
	return -1;
}

static const char *
json_check(const char *p, size_t n)
{
	struct jc j = { (const unsigned char *)p, (const unsigned char *)p + n };
	if (jc_value(&j, 0))
		return (const char *)j.p;
	jc_ws(&j);
	return j.p == j.e ? NULL : (const char *)j.p;
}

#endif /* LWKT_FUZZ_JSON_CHECK_H */
