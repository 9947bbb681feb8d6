#include "judge/jsval.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sbuf.h"
#include "core/util.h"

/* ---- numbers ---- */

/* Shortest decimal digits that read back as d (d > 0, finite): the digits
 * go to digits[] without a point, the return value is the exponent n with
 * d = 0.DIGITS * 10^n. */
static int shortest_digits(double d, char digits[20])
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	char *e = strchr(buf, 'e');
	size_t k = 0;
	for (char *p = buf; p < e; p++)
		if (*p != '.')
			digits[k++] = *p;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	return atoi(e + 1) + 1;
}

/* Number::toString for a finite d > 0 (ECMA-262, 6.1.6.1.20). */
static void positive_number(double d, char *out, size_t size)
{
	char digits[20];
	int n = shortest_digits(d, digits);
	int k = (int)strlen(digits);
	if (k <= n && n <= 21)	/* k <= 17: shortest_digits */
		snprintf(out, size, "%.17s%.*s", digits, n - k, "000000000000000000000");
	else if (0 < n && n <= 21)
		snprintf(out, size, "%.*s.%s", n, digits, digits + n);
	else if (-6 < n && n <= 0)
		snprintf(out, size, "0.%.*s%s", -n, "000000", digits);
	else
		snprintf(out, size, "%c%s%se%c%d", digits[0], k > 1 ? "." : "",
			 digits + 1, n - 1 > 0 ? '+' : '-', abs(n - 1));
}

void jsval_number(double d, char buf[JSVAL_NUMBER_MAX])
{
	if (isnan(d)) {
		strcpy(buf, "NaN");
	} else if (isinf(d)) {
		strcpy(buf, d > 0 ? "Infinity" : "-Infinity");
	} else if (d == 0) {
		strcpy(buf, "0");	/* -0 prints as 0 too */
	} else if (d < 0) {
		buf[0] = '-';
		positive_number(-d, buf + 1, JSVAL_NUMBER_MAX - 1);
	} else {
		positive_number(d, buf, JSVAL_NUMBER_MAX);
	}
}

/* ---- strings ---- */

/* The escape JSON.stringify writes for byte c, or NULL when c is kept. */
static const char *escape_of(unsigned char c, char esc[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	if (c >= 0x20)
		return NULL;
	snprintf(esc, 8, "\\u%04x", c);
	return esc;
}

static void put_string(struct sbuf *b, const char *s)
{
	char esc[8];
	const char *run = s;
	sbuf_put(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		const char *rep = escape_of((unsigned char)*p, esc);
		if (rep == NULL)
			continue;
		sbuf_put(b, run, (size_t)(p - run));
		sbuf_puts(b, rep);
		run = p + 1;
	}
	sbuf_puts(b, run);
	sbuf_put(b, "\"", 1);
}

/* ---- objects ---- */

/* One member of an object being printed. */
struct member {
	const char *key;
	const cJSON *value;	/* the last value given for key */
	size_t pos;		/* first place of key */
	int is_index;		/* key is an array index: printed first */
	uint32_t index;
	int dup;		/* a later repeat of an earlier key: skipped */
};

/* An array index is "0" or a decimal without leading zero below 2^32 - 1. */
static int array_index(const char *key, uint32_t *out)
{
	uint64_t v = 0;
	if (key[0] == '\0' || (key[0] == '0' && key[1] != '\0'))
		return 0;
	for (const char *p = key; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v >= UINT32_MAX)
			return 0;
	}
	*out = (uint32_t)v;
	return 1;
}

static int by_key_then_pos(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Property order of a JavaScript object: indices ascending, then insertion. */
static int by_js_order(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	if (x->is_index != y->is_index)
		return y->is_index - x->is_index;
	if (x->is_index)
		return (x->index > y->index) - (x->index < y->index);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* JSON.parse keeps a repeated key at its first place with its last value. */
static void merge_duplicates(struct member *m, size_t n)
{
	qsort(m, n, sizeof *m, by_key_then_pos);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(m[j].key, m[i].key) == 0) {
			m[i].value = m[j].value;
			m[j].dup = 1;
			j++;
		}
		i = j;
	}
}

static void put_value(struct sbuf *b, const cJSON *v);

static void put_object(struct sbuf *b, const cJSON *obj)
{
	size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
	struct member *m = xcalloc(n, sizeof *m);
	for (const cJSON *it = obj->child; it; it = it->next, i++) {
		m[i].key = it->string ? it->string : "";
		m[i].value = it;
		m[i].pos = i;
		m[i].is_index = array_index(m[i].key, &m[i].index);
	}
	merge_duplicates(m, n);
	qsort(m, n, sizeof *m, by_js_order);
	int first = 1;
	sbuf_put(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (m[i].dup)
			continue;
		if (!first)
			sbuf_put(b, ",", 1);
		first = 0;
		put_string(b, m[i].key);
		sbuf_put(b, ":", 1);
		put_value(b, m[i].value);
	}
	sbuf_put(b, "}", 1);
	free(m);
}

static void put_array(struct sbuf *b, const cJSON *arr)
{
	sbuf_put(b, "[", 1);
	for (const cJSON *it = arr->child; it; it = it->next) {
		put_value(b, it);
		if (it->next)
			sbuf_put(b, ",", 1);
	}
	sbuf_put(b, "]", 1);
}

static void put_value(struct sbuf *b, const cJSON *v)
{
	char num[JSVAL_NUMBER_MAX];
	if (cJSON_IsString(v)) {
		put_string(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* JSON.stringify writes non-finite numbers as null. */
		if (isfinite(v->valuedouble))
			jsval_number(v->valuedouble, num);
		else
			strcpy(num, "null");
		sbuf_puts(b, num);
	} else if (cJSON_IsTrue(v)) {
		sbuf_puts(b, "true");
	} else if (cJSON_IsFalse(v)) {
		sbuf_puts(b, "false");
	} else if (cJSON_IsArray(v)) {
		put_array(b, v);
	} else if (cJSON_IsObject(v)) {
		put_object(b, v);
	} else {
		sbuf_puts(b, "null");
	}
}

char *jsval_stringify(const cJSON *v)
{
	struct sbuf b = {0};
	sbuf_put(&b, "", 0);
	put_value(&b, v);
	return b.p;
}

/* ---- white space, parseFloat, truthiness ---- */

/* Code point of the UTF-8 sequence at s[0..n) and its length in *len;
 * a byte that starts no valid sequence is returned alone. */
static uint32_t decode(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t cp = s[0];
	size_t l = 1;
	if (s[0] >= 0xF0) { l = 4; cp = s[0] & 0x07; }
	else if (s[0] >= 0xE0) { l = 3; cp = s[0] & 0x0F; }
	else if (s[0] >= 0xC0) { l = 2; cp = s[0] & 0x1F; }
	if (l > n) {
		*len = 1;
		return s[0];
	}
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*len = 1;
			return s[0];
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	*len = l;
	return cp;
}

/* ECMAScript WhiteSpace and LineTerminator code points. */
static int js_space(uint32_t cp)
{
	switch (cp) {
	case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
	case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F:
	case 0x205F: case 0x3000: case 0xFEFF:
		return 1;
	}
	return cp >= 0x2000 && cp <= 0x200A;
}

/* Length of the JavaScript space at s[0..n), or 0. */
static size_t space_at(const char *s, size_t n)
{
	size_t len;
	uint32_t cp = decode((const unsigned char *)s, n, &len);
	return js_space(cp) ? len : 0;
}

void jsval_trim(const char *s, size_t len, size_t *start, size_t *end)
{
	size_t a = 0, b = len, l;
	while (a < b && (l = space_at(s + a, b - a)) > 0)
		a += l;
	while (b > a) {
		size_t c = b - 1;	/* back to the first byte of the last character */
		while (c > a && b - c < 4 && ((unsigned char)s[c] & 0xC0) == 0x80)
			c--;
		l = space_at(s + c, b - c);
		if (l == 0 || c + l != b)
			break;
		b = c;
	}
	*start = a;
	*end = b;
}

static size_t skip_digits(const char *s, size_t i)
{
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Length of the StrDecimalLiteral prefix of s (no sign, no Infinity). */
static size_t decimal_prefix(const char *s)
{
	size_t i = skip_digits(s, 0);
	int digits = i > 0;
	if (s[i] == '.') {
		size_t j = skip_digits(s, i + 1);
		digits |= j > i + 1;
		if (digits)
			i = j;
	}
	if (!digits)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;
		if (s[j] == '+' || s[j] == '-')
			j++;
		size_t k = skip_digits(s, j);
		if (k > j)
			i = k;
	}
	return i;
}

double jsval_parse_float_text(const char *s)
{
	size_t n = strlen(s), a, end;
	jsval_trim(s, n, &a, &end);
	const char *p = s + a;
	double sign = 1;
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (strncmp(p, "Infinity", 8) == 0)
		return sign * INFINITY;
	size_t len = decimal_prefix(p);
	if (len == 0)
		return NAN;
	char *copy = xstrndup(p, len);
	double v = strtod(copy, NULL);
	free(copy);
	return sign * v;
}

double jsval_parse_float(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return v->valuedouble;
	if (cJSON_IsString(v))
		return jsval_parse_float_text(v->valuestring);
	/* String([a, b]) is "a,b": only the first element can give a number. */
	if (cJSON_IsArray(v) && v->child)
		return jsval_parse_float(v->child);
	return NAN;
}

int jsval_truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0 && !isnan(v->valuedouble);
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	return 1;
}
