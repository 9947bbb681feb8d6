/* Unit tests of lib/judge/jcanon.c: JSON values compared exactly. */
#include <stdlib.h>
#include <string.h>

#include "judge/jcanon.h"
#include "unit.h"

/* 1 when a and b are JSON texts of equal values, 0 when of different
 * values, -1 when either is not JSON. */
static int same(const char *a, const char *b)
{
	struct sbuf x = {0}, y = {0};
	int rc = -1;
	if (jcanon(a, strlen(a), &x) == 0 && jcanon(b, strlen(b), &y) == 0)
		rc = jcanon_same(&x, &y);
	free(x.p);
	free(y.p);
	return rc;
}

static int valid(const char *t)
{
	struct sbuf x = {0};
	int rc = jcanon(t, strlen(t), &x);
	free(x.p);
	return rc == 0;
}

static void test_numbers_by_exact_value(void)
{
	CHECK_INT(same("1", "1.0"), 1);
	CHECK_INT(same("1", "1e0"), 1);
	CHECK_INT(same("1.5", "15e-1"), 1);
	CHECK_INT(same("150e-2", "1.50"), 1);
	CHECK_INT(same("100", "1E2"), 1);
	CHECK_INT(same("-0", "0"), 1);
	CHECK_INT(same("0.000", "0e99"), 1);
	CHECK_INT(same("-1", "1"), 0);
	/* Past 2^53 doubles would call these equal. */
	CHECK_INT(same("18446744073709551617", "18446744073709551616"), 0);
	CHECK_INT(same("9007199254740993", "9007199254740992"), 0);
	CHECK_INT(same("123456789012345678901234567890", "1.2345678901234567890123456789e29"), 1);
	CHECK_INT(same("0.1", "0.10000000000000001"), 0);
	/* Exponents of any size, exactly. */
	CHECK_INT(same("1e400", "2e400"), 0);
	CHECK_INT(same("1e999999999999999999999", "10e999999999999999999998"), 1);
	CHECK_INT(same("1e999999999999999999999", "1e999999999999999999998"), 0);
	CHECK_INT(same("1e-999999999999999999999", "0.1e-999999999999999999998"), 1);
	CHECK_INT(same("100e-1000000000000000000000", "1e-999999999999999999998"), 1);
	CHECK_INT(same("1e0000000000000000000000001", "10"), 1);
}

static void test_strings_by_every_character(void)
{
	CHECK_INT(same("\"ab\\u0000anything\"", "\"ab\""), 0);
	CHECK_INT(same("\"ab\\u0000\"", "\"ab\\u0000\""), 1);
	CHECK_INT(same("\"\\u00e9\"", "\"\xc3\xa9\""), 1);
	CHECK_INT(same("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""), 1);
	CHECK_INT(same("\"\\ud800\"", "\"\\ud800\""), 1);
	CHECK_INT(same("\"a\\/b\\n\"", "\"a/b\\u000a\""), 1);
	CHECK_INT(same("\"1\"", "1"), 0);
	CHECK_INT(same("\"\"", "null"), 0);
}

static void test_objects_and_arrays(void)
{
	CHECK_INT(same("{\"a\":1,\"b\":[2,3]}", " { \"b\" : [2, 3.0] , \"a\" : 1 } "), 1);
	CHECK_INT(same("{\"a\":1,\"a\":2}", "{\"a\":2}"), 1);	/* the last one counts */
	CHECK_INT(same("{\"a\":1}", "{\"a\":1,\"b\":2}"), 0);
	CHECK_INT(same("{\"a\\u0000\":1}", "{\"a\":1}"), 0);
	CHECK_INT(same("[1,2]", "[2,1]"), 0);
	CHECK_INT(same("[[]]", "[]"), 0);
	CHECK_INT(same("[\"a\",\"b\"]", "[\"ab\"]"), 0);
	CHECK_INT(same("{}", "[]"), 0);
	CHECK_INT(same("[true,false,null]", "[true,false,null]"), 1);
}

static void test_only_json_is_json(void)
{
	static const char *const bad[] = {
		"", " ", "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1", "1e", "1e+",
		"[1,]", "{\"a\":1,}", "{a:1}", "\"\x01\"", "\"\\x41\"", "\"\\u12\"", "tru",
		"nul", "1 2", "[1", "{\"a\"}", "\"unterminated", "// c\n1", "'a'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!CHECK(!valid(bad[i])))
			fprintf(stderr, "    accepted: %s\n", bad[i]);
	CHECK(valid(" \t\r\n[ ] "));
	CHECK(valid("-0.0e-0"));
}

static void test_depth_is_capped(void)
{
	char deep[2 * JCANON_DEPTH + 8];
	memset(deep, '[', JCANON_DEPTH);
	memset(deep + JCANON_DEPTH, ']', JCANON_DEPTH);
	deep[2 * JCANON_DEPTH] = '\0';
	CHECK(valid(deep));
	memset(deep, '[', JCANON_DEPTH + 1);
	memset(deep + JCANON_DEPTH + 1, ']', JCANON_DEPTH + 1);
	deep[2 * JCANON_DEPTH + 2] = '\0';
	CHECK(!valid(deep));
}

struct seen {
	char text[256];
};

static void collect(void *arg, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof s->text - n, "%.*s=%.*s;", (int)klen, key, (int)vlen, value);
}

static int members(const char *t, struct seen *s)
{
	return jcanon_members(t, strlen(t), collect, s);
}

static void test_members_in_order_with_their_texts(void)
{
	struct seen s = {""};
	CHECK_INT(members(" {\"index\":3, \"actual\" : [1, 2], \"\\u0069ndex\":4} ", &s), 0);
	CHECK_STR(s.text, "index=3;actual=[1, 2];index=4;");
	s.text[0] = '\0';
	CHECK_INT(members("{}", &s), 0);
	CHECK_STR(s.text, "");
	CHECK_INT(members("[1]", &s), -1);
	CHECK_INT(members("{\"a\":1} x", &s), -1);
	CHECK_INT(members("{\"a\":NaN}", &s), -1);
}

static int elements(const char *t, struct sbuf **el, size_t *n)
{
	return jcanon_elements(t, strlen(t), el, n);
}

static void test_elements(void)
{
	struct sbuf *el, one = {0};
	size_t n;
	CHECK_INT(elements("[1.0, \"a\", {\"x\":1}]", &el, &n), 0);
	CHECK_INT(n, 3);
	jcanon("1", 1, &one);
	CHECK(n > 0 && jcanon_same(&el[0], &one));
	for (size_t i = 0; i < n; i++)
		free(el[i].p);
	free(el);
	free(one.p);
	CHECK_INT(elements("[]", &el, &n), 0);
	CHECK_INT(n, 0);
	free(el);
	CHECK_INT(elements("{}", &el, &n), -2);
	CHECK_INT(elements("[1,", &el, &n), -1);
}

static void test_strings_decoded(void)
{
	struct sbuf b = {0};
	const char *t = "\"a\\nb\\u0000c\"";
	CHECK_INT(jcanon_string(t, strlen(t), &b), 0);
	CHECK_INT(b.len, 5);
	CHECK(memcmp(b.p, "a\nb\0c", 5) == 0);
	free(b.p);
	b = (struct sbuf){0};
	CHECK_INT(jcanon_string("\"a\" 1", 5, &b), -1);
	free(b.p);
}

/* 1 when the decimal tokens a and b have equal values. */
static int same_decimal(const char *a, const char *b, int *ia, int *ib)
{
	struct sbuf x = {0}, y = {0};
	int rc = -1;
	if (jcanon_decimal(a, strlen(a), &x, ia) == 0 && jcanon_decimal(b, strlen(b), &y, ib) == 0)
		rc = jcanon_same(&x, &y);
	free(x.p);
	free(y.p);
	return rc;
}

static void test_decimal_tokens(void)
{
	int ia, ib;
	CHECK_INT(same_decimal("+007", "7", &ia, &ib), 1);
	CHECK(ia && ib);
	CHECK_INT(same_decimal("5.", "5", &ia, &ib), 1);
	CHECK(!ia && ib);
	CHECK_INT(same_decimal("-0", "0.0", &ia, &ib), 1);
	CHECK_INT(same_decimal(".5", "5e-1", &ia, &ib), 1);
	CHECK(!ia && !ib);
	CHECK_INT(same_decimal("100000000000000000001", "100000000000000000000", &ia, &ib), 0);
	CHECK_INT(same_decimal("1e", "1", &ia, &ib), -1);
	CHECK_INT(same_decimal("e5", "1", &ia, &ib), -1);
	CHECK_INT(same_decimal(".", "1", &ia, &ib), -1);
	CHECK_INT(same_decimal("nan", "1", &ia, &ib), -1);
	CHECK_INT(same_decimal("1_000", "1", &ia, &ib), -1);
}

int main(void)
{
	UNIT_RUN(test_numbers_by_exact_value);
	UNIT_RUN(test_strings_by_every_character);
	UNIT_RUN(test_objects_and_arrays);
	UNIT_RUN(test_only_json_is_json);
	UNIT_RUN(test_depth_is_capped);
	UNIT_RUN(test_members_in_order_with_their_texts);
	UNIT_RUN(test_elements);
	UNIT_RUN(test_strings_decoded);
	UNIT_RUN(test_decimal_tokens);
	return unit_finish();
}
