#include "judge/jcanon.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* The forms (jcanon.h): a number is "d" <digits> "e" <exponent> ";" (its
 * significant digits, no leading or trailing zeros, and the power of ten
 * they are scaled by; zero is "d0;"), a string "s" <length> ":" <bytes>,
 * true, false and null "t", "f" and "n", an array "[" <forms> "]", an
 * object "{" (<key as a string form> <form>)... "}" with its keys sorted.
 * Every form ends itself, so a sequence of them reads one way only. */

struct parser {
	const unsigned char *p, *end;
	int depth;
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void skip_blanks(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int take(struct parser *ps, char c)
{
	skip_blanks(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return 1;
	}
	return 0;
}

/* ---- numbers ---- */

/* Appends the decimal digits of |e| + adj (when e_neg is 0) or of
 * |e| - adj (when 1), where the digit string e has more than 18 digits and
 * so is larger than any adj a text can make: the exponent of a huge
 * exponent, exactly. */
static void big_shift(struct sbuf *out, const char *e, size_t n, int64_t adj, int e_neg)
{
	char *d = xmalloc(n + 2);
	int up = (adj >= 0) != e_neg;	/* the magnitude grows */
	uint64_t m = adj >= 0 ? (uint64_t)adj : (uint64_t)0 - (uint64_t)adj;
	int carry = 0;
	memcpy(d + 1, e, n);
	d[0] = '0';
	for (size_t i = n + 1; i-- > 0;) {
		int digit = d[i] - '0' + (up ? (int)(m % 10) + carry : -(int)(m % 10) - carry);
		m /= 10;
		carry = up ? digit >= 10 : digit < 0;
		d[i] = (char)('0' + (up ? digit % 10 : (digit + 10) % 10));
	}
	size_t lead = 0;
	while (lead < n && d[lead] == '0')
		lead++;
	sbuf_put(out, d + lead, n + 1 - lead);
	free(d);
}

/* Appends the exponent: (e_neg ? -e : e) + adj, e being n digits. */
static void put_exponent(struct sbuf *out, const char *e, size_t n, int e_neg, int64_t adj)
{
	char num[32];
	while (n > 1 && *e == '0') {
		e++;
		n--;
	}
	if (n <= 18) {
		int64_t v = 0;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (e[i] - '0');
		snprintf(num, sizeof num, "%" PRId64, (e_neg ? -v : v) + adj);
		sbuf_puts(out, num);
		return;
	}
	if (e_neg)
		sbuf_put(out, "-", 1);
	big_shift(out, e, n, adj, e_neg);
}

/* The parts of a decimal number text. */
struct decimal {
	int neg, point, exp_neg;
	const char *ipart, *fpart, *exp;
	size_t ilen, flen, elen;
	int has_exp;
};

/* Reads t[0..n) as [+-]digits[.digits][(e|E)[+-]digits]. */
static int split_decimal(const char *t, size_t n, struct decimal *d)
{
	size_t i = 0;
	memset(d, 0, sizeof *d);
	if (i < n && (t[i] == '+' || t[i] == '-'))
		d->neg = t[i++] == '-';
	for (d->ipart = t + i; i < n && is_digit(t[i]); i++)
		d->ilen++;
	d->fpart = t + i;
	if (i < n && t[i] == '.') {
		d->point = 1;
		for (d->fpart = t + ++i; i < n && is_digit(t[i]); i++)
			d->flen++;
	}
	if (d->ilen + d->flen == 0)
		return -1;
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		d->has_exp = 1;
		if (++i < n && (t[i] == '+' || t[i] == '-'))
			d->exp_neg = t[i++] == '-';
		for (d->exp = t + i; i < n && is_digit(t[i]); i++)
			d->elen++;
		if (d->elen == 0)
			return -1;
	}
	return i == n ? 0 : -1;
}

/* The i-th of the significant digits (integer part, then fraction). */
static char digit_at(const struct decimal *d, size_t i)
{
	return i < d->ilen ? d->ipart[i] : d->fpart[i - d->ilen];
}

static void put_decimal(struct sbuf *out, const struct decimal *d)
{
	size_t n = d->ilen + d->flen, first = 0, last = n;
	char num[32];
	while (first < n && digit_at(d, first) == '0')
		first++;
	if (first == n) {
		sbuf_put(out, "d0;", 3);	/* -0 and 0e99 are 0 */
		return;
	}
	while (digit_at(d, last - 1) == '0')
		last--;
	sbuf_put(out, d->neg ? "d-" : "d", d->neg ? 2 : 1);
	for (size_t i = first; i < last; i++) {
		char c = digit_at(d, i);
		sbuf_put(out, &c, 1);
	}
	sbuf_put(out, "e", 1);
	/* value = digits[first..last) x 10^(exp - flen + (n - last)) */
	int64_t adj = (int64_t)(n - last) - (int64_t)d->flen;
	if (d->has_exp) {
		put_exponent(out, d->exp, d->elen, d->exp_neg, adj);
	} else {
		snprintf(num, sizeof num, "%" PRId64, adj);
		sbuf_puts(out, num);
	}
	sbuf_put(out, ";", 1);
}

int jcanon_decimal(const char *t, size_t n, struct sbuf *out, int *integral)
{
	struct decimal d;
	if (split_decimal(t, n, &d) != 0)
		return -1;
	*integral = !d.point && !d.has_exp;
	put_decimal(out, &d);
	return 0;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *ps, struct sbuf *out)
{
	const unsigned char *s = ps->p, *e = ps->end, *q = s;
	struct decimal d;
	if (q < e && *q == '-')
		q++;
	if (q < e && *q == '0')
		q++;
	else if (q < e && is_digit(*q))
		while (q < e && is_digit(*q))
			q++;
	else
		return -1;
	if (q < e && *q == '.') {
		if (++q == e || !is_digit(*q))
			return -1;
		while (q < e && is_digit(*q))
			q++;
	}
	if (q < e && (*q == 'e' || *q == 'E')) {
		if (++q < e && (*q == '+' || *q == '-'))
			q++;
		if (q == e || !is_digit(*q))
			return -1;
		while (q < e && is_digit(*q))
			q++;
	}
	ps->p = q;
	if (out && split_decimal((const char *)s, (size_t)(q - s), &d) == 0)
		put_decimal(out, &d);
	return 0;
}

/* ---- strings ---- */

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
	*v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = p[i], x;
		if (is_digit(c))
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (uint32_t)x;
	}
	return 0;
}

/* UTF-8 of cp; a lone surrogate (JSON allows one) as its 3-byte form. */
static void put_code_point(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sbuf_put(b, u, n);
}

/* \uXXXX at p (after the backslash and 'u'), with its low surrogate when
 * it is a high one followed by one. */
static int unicode_escape(struct parser *ps, struct sbuf *dec)
{
	uint32_t cp, low;
	if (hex4(ps->p, ps->end, &cp) != 0)
		return -1;
	ps->p += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
	    ps->p[1] == 'u' && hex4(ps->p + 2, ps->end, &low) == 0 && low >= 0xDC00 && low <= 0xDFFF) {
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
		ps->p += 6;
	}
	if (dec)
		put_code_point(dec, cp);
	return 0;
}

static int simple_escape(int c, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *at = c ? strchr(from, c) : NULL;
	if (at == NULL)
		return -1;
	*out = to[at - from];
	return 0;
}

/* A string at ps->p (its opening quote); its characters go to dec (may be
 * NULL). */
static int parse_string(struct parser *ps, struct sbuf *dec)
{
	if (ps->p == ps->end || *ps->p != '"')
		return -1;
	ps->p++;
	for (;;) {
		const unsigned char *run = ps->p;
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p >= 0x20)
			ps->p++;
		if (dec)
			sbuf_put(dec, (const char *)run, (size_t)(ps->p - run));
		if (ps->p == ps->end || *ps->p < 0x20)
			return -1;
		if (*ps->p++ == '"')
			return 0;
		if (ps->p == ps->end)
			return -1;
		int c = *ps->p++;
		char ch;
		if (c == 'u') {
			if (unicode_escape(ps, dec) != 0)
				return -1;
		} else if (simple_escape(c, &ch) == 0) {
			if (dec)
				sbuf_put(dec, &ch, 1);
		} else {
			return -1;
		}
	}
}

static void put_string_form(struct sbuf *out, const char *s, size_t n)
{
	char head[32];
	snprintf(head, sizeof head, "s%zu:", n);
	sbuf_puts(out, head);
	sbuf_put(out, s, n);
}

/* A string, its form to out (may be NULL). */
static int string_form(struct parser *ps, struct sbuf *out)
{
	struct sbuf dec = {0};
	int rc = parse_string(ps, out ? &dec : NULL);
	if (rc == 0 && out)
		put_string_form(out, dec.p ? dec.p : "", dec.len);
	free(dec.p);
	return rc;
}

/* ---- values ---- */

static int parse_value(struct parser *ps, struct sbuf *out);

static int literal(struct parser *ps, const char *word, struct sbuf *out)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return -1;
	ps->p += n;
	if (out)
		sbuf_put(out, word, 1);
	return 0;
}

static int parse_array(struct parser *ps, struct sbuf *out)
{
	ps->p++;
	if (out)
		sbuf_put(out, "[", 1);
	if (!take(ps, ']')) {
		do {
			if (parse_value(ps, out) != 0)
				return -1;
		} while (take(ps, ','));
		if (!take(ps, ']'))
			return -1;
	}
	if (out)
		sbuf_put(out, "]", 1);
	return 0;
}

struct member {
	struct sbuf key, form;
	size_t order;
};

static int by_key(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
	int c = n ? memcmp(a->key.p, b->key.p, n) : 0;
	if (c == 0 && a->key.len != b->key.len)
		c = a->key.len < b->key.len ? -1 : 1;
	if (c == 0)
		c = a->order < b->order ? -1 : a->order > b->order;
	return c;
}

static int same_key(const struct member *a, const struct member *b)
{
	return a->key.len == b->key.len && (a->key.len == 0 || memcmp(a->key.p, b->key.p, a->key.len) == 0);
}

/* The members sorted by key; of equal keys the last one written. */
static void put_members(struct sbuf *out, struct member *m, size_t n)
{
	if (n > 1)
		qsort(m, n, sizeof *m, by_key);
	sbuf_put(out, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && same_key(&m[i], &m[i + 1]))
			continue;
		put_string_form(out, m[i].key.p ? m[i].key.p : "", m[i].key.len);
		sbuf_put(out, m[i].form.p ? m[i].form.p : "", m[i].form.len);
	}
	sbuf_put(out, "}", 1);
}

static void free_members(struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].key.p);
		free(m[i].form.p);
	}
	free(m);
}

static int parse_object(struct parser *ps, struct sbuf *out)
{
	struct member *m = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	ps->p++;
	if (!take(ps, '}')) {
		do {
			if (out && n == cap) {
				cap = cap ? 2 * cap : 8;
				m = xrealloc(m, cap * sizeof *m);
			}
			struct member *cur = out ? &m[n] : NULL;
			if (cur)
				*cur = (struct member){.order = n++};
			skip_blanks(ps);
			rc = parse_string(ps, cur ? &cur->key : NULL);
			if (rc == 0 && !take(ps, ':'))
				rc = -1;
			if (rc == 0)
				rc = parse_value(ps, cur ? &cur->form : NULL);
		} while (rc == 0 && take(ps, ','));
		if (rc == 0 && !take(ps, '}'))
			rc = -1;
	}
	if (rc == 0 && out)
		put_members(out, m, n);
	free_members(m, n);
	return rc;
}

static int parse_value(struct parser *ps, struct sbuf *out)
{
	int rc;
	skip_blanks(ps);
	if (ps->p == ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > JCANON_DEPTH)
			return -1;
		rc = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
		ps->depth--;
		return rc;
	case '"':
		return string_form(ps, out);
	case 't':
		return literal(ps, "true", out);
	case 'f':
		return literal(ps, "false", out);
	case 'n':
		return literal(ps, "null", out);
	default:
		return parse_number(ps, out);
	}
}

/* ---- entry points ---- */

static void start(struct parser *ps, const char *text, size_t len)
{
	ps->p = (const unsigned char *)text;
	ps->end = ps->p + len;
	ps->depth = 0;
}

/* Nothing but blanks left. */
static int at_end(struct parser *ps)
{
	skip_blanks(ps);
	return ps->p == ps->end;
}

/* Is text[0..len) one JSON value. */
static int valid(const char *text, size_t len)
{
	struct parser ps;
	start(&ps, text, len);
	return parse_value(&ps, NULL) == 0 && at_end(&ps);
}

int jcanon(const char *text, size_t len, struct sbuf *out)
{
	struct parser ps;
	start(&ps, text, len);
	sbuf_put(out, "", 0);
	return parse_value(&ps, out) == 0 && at_end(&ps) ? 0 : -1;
}

int jcanon_same(const struct sbuf *a, const struct sbuf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int jcanon_elements(const char *text, size_t len, struct sbuf **elems, size_t *n)
{
	struct parser ps;
	size_t cap = 0;
	int rc = 0;
	*elems = NULL;
	*n = 0;
	if (!valid(text, len))
		return -1;
	start(&ps, text, len);
	if (!take(&ps, '['))
		return -2;
	ps.depth = 1;
	if (take(&ps, ']'))
		return 0;
	do {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*elems = xrealloc(*elems, cap * sizeof **elems);
		}
		(*elems)[*n] = (struct sbuf){0};
		sbuf_put(&(*elems)[*n], "", 0);
		rc = parse_value(&ps, &(*elems)[(*n)++]);
	} while (rc == 0 && take(&ps, ','));
	return rc;
}

int jcanon_members(const char *text, size_t len, jcanon_member_fn *fn, void *arg)
{
	struct parser ps;
	struct sbuf key = {0};
	int rc = 0;
	start(&ps, text, len);
	if (!take(&ps, '{'))
		return -1;
	ps.depth = 1;
	if (take(&ps, '}'))
		return at_end(&ps) ? 0 : -1;
	do {
		key.len = 0;
		sbuf_put(&key, "", 0);
		skip_blanks(&ps);
		if (parse_string(&ps, &key) != 0 || !take(&ps, ':')) {
			rc = -1;
			break;
		}
		skip_blanks(&ps);
		const unsigned char *value = ps.p;
		if (parse_value(&ps, NULL) != 0) {
			rc = -1;
			break;
		}
		fn(arg, key.p, key.len, (const char *)value, (size_t)(ps.p - value));
	} while (take(&ps, ','));
	free(key.p);
	if (rc == 0 && !(take(&ps, '}') && at_end(&ps)))
		rc = -1;
	return rc;
}

int jcanon_string(const char *text, size_t len, struct sbuf *out)
{
	struct parser ps;
	start(&ps, text, len);
	sbuf_put(out, "", 0);
	skip_blanks(&ps);
	return parse_string(&ps, out) == 0 && at_end(&ps) ? 0 : -1;
}
