/* Unit tests of lib/judge/compare.c: every comparator and its edge cases. */
#include <stdlib.h>
#include <string.h>

#include "judge/compare.h"
#include "unit.h"

/* Outcome of comparing with the comparator described by spec (JSON text). */
static enum cmp_outcome with(const char *spec, const char *actual,
			     const char *expected, enum cmp_operands ops)
{
	struct cmp c;
	char *err = NULL, *why = NULL;
	cJSON *s = spec ? cJSON_Parse(spec) : NULL;
	enum cmp_outcome r = CMP_ERROR;
	if (cmp_init(&c, s, CMP_EXACT, &err) == 0)
		r = cmp_check(&c, actual, expected, ops, &why);
	else
		fprintf(stderr, "cmp_init(%s): %s\n", spec, err);
	free(err);
	free(why);
	cmp_free(&c);
	cJSON_Delete(s);
	return r;
}

/* The error text of cmp_init for spec, or NULL when it was accepted. */
static char *init_error(const char *spec)
{
	struct cmp c;
	char *err = NULL;
	cJSON *s = cJSON_Parse(spec);
	if (cmp_init(&c, s, CMP_EXACT, &err) == 0)
		cmp_free(&c);
	cJSON_Delete(s);
	return err;
}

#define PASS(spec, a, e) CHECK(with(spec, a, e, CMP_AS_TEXT) == CMP_PASS)
#define FAIL(spec, a, e) CHECK(with(spec, a, e, CMP_AS_TEXT) == CMP_FAIL)
#define ERROR(spec, a, e) CHECK(with(spec, a, e, CMP_AS_TEXT) == CMP_ERROR)
#define JPASS(spec, a, e) CHECK(with(spec, a, e, CMP_AS_JSON) == CMP_PASS)
#define JFAIL(spec, a, e) CHECK(with(spec, a, e, CMP_AS_JSON) == CMP_FAIL)
#define JERROR(spec, a, e) CHECK(with(spec, a, e, CMP_AS_JSON) == CMP_ERROR)

static void test_exact(void)
{
	PASS("\"exact\"", "1 2\n", "1 2\n");
	FAIL("\"exact\"", "1 2\n", "1 2");
	FAIL("\"exact\"", "1 2 ", "1 2");
	FAIL("\"exact\"", "a\r\n", "a\n");
	PASS("\"exact\"", "", "");
	FAIL("\"exact\"", "", " ");
	PASS(NULL, "x", "x");	/* the default given to cmp_init */
}

static void test_trimmed(void)
{
	PASS("\"trimmed\"", "a \nb\t\n\n", "a\nb");
	PASS("\"trimmed\"", "1\r\n2\r\n", "1\n2");
	PASS("\"trimmed\"", "\n\n  a", "a");
	PASS("\"trimmed\"", "", "\n \n\t");
	PASS("\"trimmed\"", "", "");
	FAIL("\"trimmed\"", "a\n b", "a\nb");		/* leading space of a line counts */
	FAIL("\"trimmed\"", "a b", "a  b");
	FAIL("\"trimmed\"", "a\n\nb", "a\nb");		/* inner blank lines count */
	FAIL("\"trimmed\"", "1", "2");
}

static void test_tokens(void)
{
	PASS("\"tokens\"", "1 2\n3", " 1\t2  3 \n");
	PASS("\"tokens\"", "a\r\nb", "a b");
	PASS("\"tokens\"", "", "   \n");
	FAIL("\"tokens\"", "1 2", "1 2 3");
	FAIL("\"tokens\"", "12", "1 2");
	FAIL("\"tokens\"", "1.0", "1");
	FAIL("\"tokens\"", "", "x");
}

static void test_float(void)
{
	PASS("\"float\"", "1.0000001", "1");
	FAIL("\"float\"", "1.00001", "1");
	PASS("\"float\"", "0", "0.000001");		/* |d| == epsilon */
	FAIL("\"float\"", "0", "0.0000011");
	PASS("\"float\"", "1000000.5", "1000000");	/* relative 5e-7 */
	FAIL("\"float\"", "1000002", "1000000");
	PASS("\"float\"", "3.14159 2.5\n", "3.141590 2.50000");
	PASS("\"float\"", "-0", "0");
	PASS("\"float\"", "1e-7", "0");
	PASS("\"float\"", "1.", ".9999999");
	PASS("\"float\"", "1e400", "1e400");		/* the same infinity */
	FAIL("\"float\"", "1e400", "-1e400");
	FAIL("\"float\"", "1 2", "1 2 3");
	FAIL("\"float\"", "abc", "abd");
	PASS("\"float\"", "yes 1.0", "yes 1");
	PASS("\"float\"", "nan", "nan");		/* equal tokens */
	FAIL("\"float\"", "nan", "0");			/* NaN is no number here */
	FAIL("\"float\"", "NaN", "nan");
	FAIL("\"float\"", "inf", "1e400");
	FAIL("\"float\"", "0x10", "16");		/* no hexadecimal */
	FAIL("\"float\"", "1e", "1");
	PASS("\"float\"", "", "");
	/* Integers compare exactly, whatever their size. */
	FAIL("\"float\"", "18446744073709551617", "18446744073709551616");
	FAIL("\"float\"", "9007199254740993", "9007199254740992");
	PASS("\"float\"", "+0018446744073709551617", "18446744073709551617");
	PASS("\"float\"", "-0", "+0");
	PASS("\"float\"", "9007199254740993.0", "9007199254740992");	/* a decimal: epsilon */
	PASS("{\"type\":\"float\",\"epsilon\":0.1}", "1.05", "1");
	FAIL("{\"type\":\"float\",\"epsilon\":0.1}", "1.2", "1");
	PASS("{\"type\":\"float\",\"epsilon\":0}", "2.50", "2.5");
	FAIL("{\"type\":\"float\",\"epsilon\":0}", "2.5000001", "2.5");
	PASS("{\"type\":\"float\"}", "1.0000001", "1");
}

static void test_json(void)
{
	JPASS("\"json\"", "1", "1.0");
	JPASS("\"json\"", "1e2", "100");
	JPASS("\"json\"", " [1, 2] ", "[1,2]");
	JPASS("\"json\"", "{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2.0],\"a\":1}");
	JPASS("\"json\"", "{\"x\":{\"p\":1,\"q\":{\"r\":null,\"s\":true}}}",
	      "{\"x\":{\"q\":{\"s\":true,\"r\":null},\"p\":1}}");
	JPASS("\"json\"", "null", "null");
	JPASS("\"json\"", "-0", "0");
	JPASS("\"json\"", "\"\"", "\"\"");
	JFAIL("\"json\"", "[1,2]", "[2,1]");
	JFAIL("\"json\"", "\"1\"", "1");
	JFAIL("\"json\"", "true", "1");
	JFAIL("\"json\"", "{\"a\":1}", "{\"a\":1,\"b\":2}");
	JFAIL("\"json\"", "{\"a\":\"x\\\"y\"}", "{\"a\":\"x\",\"y\":1}");
	JFAIL("\"json\"", "[1,2", "[1,2]");		/* actual not JSON: wrong */
	JFAIL("\"json\"", "", "1");
	JERROR("\"json\"", "1", "one");		/* expected not JSON: our error */
	JERROR("\"json\"", "1", "");
	PASS("\"json\"", "[1.50]", "[1.5]");	/* stdio jobs: stdout parsed too */
}

/* Values compared exactly, never through doubles or C strings. */
static void test_json_exact(void)
{
	JFAIL("\"json\"", "18446744073709551617", "18446744073709551616");
	JFAIL("\"json\"", "[9007199254740993]", "[9007199254740992]");
	JPASS("\"json\"", "123456789012345678901234567890", "1.2345678901234567890123456789e29");
	JFAIL("\"json\"", "0.30000000000000001", "0.3");
	JFAIL("\"json\"", "\"ab\\u0000anything\"", "\"ab\"");
	JFAIL("\"json\"", "{\"k\\u0000x\":1}", "{\"k\":1}");
	JPASS("\"json\"", "\"\\u00e9\"", "\"\xc3\xa9\"");
	JPASS("\"json\"", "{\"a\":1,\"a\":2}", "{\"a\":2}");	/* JSON.parse keeps the last */
	JFAIL("\"json\"", "NaN", "null");		/* not JSON, as JSON.parse says */
	JFAIL("\"json\"", "[Infinity]", "[1e400]");
	JERROR("\"json\"", "1", "NaN");
	JFAIL("\"json\"", "1e400", "2e400");
}

static void test_unordered(void)
{
	JPASS("\"unordered\"", "[1,2,2]", "[2,1,2]");
	JFAIL("\"unordered\"", "[1,2,2]", "[1,1,2]");	/* multisets, not sets */
	JFAIL("\"unordered\"", "[1,2]", "[1,2,2]");
	JPASS("\"unordered\"", "[{\"a\":1,\"b\":2},3]", "[3,{\"b\":2,\"a\":1.0}]");
	JPASS("\"unordered\"", "[[1,2],[3]]", "[[3],[1,2]]");
	JFAIL("\"unordered\"", "[[2,1],[3]]", "[[3],[1,2]]");	/* only the top level */
	JPASS("\"unordered\"", "[]", "[]");
	JFAIL("\"unordered\"", "1", "[1]");
	JFAIL("\"unordered\"", "[18446744073709551617,1]", "[1,18446744073709551616]");
	JFAIL("\"unordered\"", "[\"a\\u0000b\",\"a\"]", "[\"a\",\"a\"]");
	JFAIL("\"unordered\"", "not json", "[1]");
	JERROR("\"unordered\"", "[1]", "1");
	JERROR("\"unordered\"", "[1]", "");
}

#define JQ(expr) "{\"type\":\"jq\",\"expr\":\"" expr "\"}"

static void test_jq(void)
{
	JPASS(JQ("$actual == $expected"), "[1,2]", "[1,2.0]");
	JFAIL(JQ("$actual == $expected"), "[1]", "[2]");
	JPASS(JQ("($actual|length) == ($expected|length)"), "[7,8]", "[1,2]");
	JPASS(JQ("($actual|sort) == ($expected|sort)"), "[2,1]", "[1,2]");
	JPASS(JQ(". == null"), "1", "2");		/* the input is null */
	JPASS(JQ("$actual == $expected # a comment"), "1", "1");
	JPASS(JQ("true, false"), "1", "2");		/* the first output decides */
	JFAIL(JQ("false, true"), "1", "2");
	JFAIL(JQ("1"), "1", "1");			/* only true passes */
	JFAIL(JQ("empty"), "1", "1");
	JFAIL(JQ("error(\\\"boom\\\")"), "1", "1");
	JFAIL(JQ("$actual.x"), "1", "1");		/* a run-time error */
	JFAIL(JQ("$actual == $expected"), "not json", "1");
	JERROR(JQ("$actual == $expected"), "1", "not json");
	PASS(JQ("($actual|ascii_downcase) == ($expected|ascii_downcase)"), "ABC", "abc");
	PASS(JQ("$actual|test(\\\"^[0-9]+\\\\n$\\\")"), "42\n", "");
	FAIL(JQ("$actual == $expected"), "1", "1.0");	/* stdio: strings */
	PASS(JQ("$actual == \\\"\\\""), "", "x");
}

static void test_jq_messages(void)
{
	struct cmp c;
	char *err = NULL, *why = NULL;
	cJSON *s = cJSON_Parse(JQ("error(\\\"boom\\\")"));
	CHECK(cmp_init(&c, s, CMP_EXACT, &err) == 0);
	CHECK(cmp_check(&c, "1", "1", CMP_AS_JSON, &why) == CMP_FAIL);
	CHECK(why && strstr(why, "boom"));
	free(why);
	cmp_free(&c);
	cJSON_Delete(s);

	s = cJSON_Parse(JQ("empty"));
	CHECK(cmp_init(&c, s, CMP_EXACT, &err) == 0);
	CHECK(cmp_check(&c, "1", "1", CMP_AS_JSON, &why) == CMP_FAIL);
	CHECK(why && strstr(why, "no output"));
	free(why);
	cmp_free(&c);
	cJSON_Delete(s);
}

static void test_jq_timeout(void)
{
	const char *loops[] = {JQ("def f: f; f"), JQ("last(range(1e15)) > 0")};
	for (size_t i = 0; i < sizeof loops / sizeof loops[0]; i++) {
		struct cmp c;
		char *err = NULL, *why = NULL;
		cJSON *s = cJSON_Parse(loops[i]);
		CHECK(cmp_init(&c, s, CMP_EXACT, &err) == 0);
		c.jq_timeout_ms = 200;
		CHECK(cmp_check(&c, "1", "1", CMP_AS_JSON, &why) == CMP_ERROR);
		CHECK(why && strstr(why, "longer than 200 ms"));
		free(why);
		cmp_free(&c);
		cJSON_Delete(s);
	}
}

static void test_init_errors(void)
{
	char *err;
	CHECK((err = init_error(JQ("$actual =="))) && strstr(err, "does not compile"));
	free(err);
	CHECK((err = init_error(JQ("$nope"))) && strstr(err, "$nope"));
	free(err);
	CHECK((err = init_error(JQ(""))) && strstr(err, "expr"));
	free(err);
	CHECK((err = init_error("{\"type\":\"jq\"}")) && strstr(err, "expr"));
	free(err);
	CHECK((err = init_error("\"jq\"")) && strstr(err, "expr"));
	free(err);
	CHECK((err = init_error("\"fuzzy\"")) && strstr(err, "unknown comparator \"fuzzy\""));
	free(err);
	CHECK((err = init_error("{\"type\":\"fuzzy\"}")) && strstr(err, "fuzzy"));
	free(err);
	CHECK((err = init_error("{\"epsilon\":1}")) && strstr(err, "type"));
	free(err);
	CHECK((err = init_error("{\"type\":\"float\",\"epsilon\":-1}")) && strstr(err, "epsilon"));
	free(err);
	CHECK((err = init_error("{\"type\":\"float\",\"epsilon\":\"1\"}")) && strstr(err, "epsilon"));
	free(err);
	CHECK((err = init_error("{\"type\":\"exact\",\"epsilon\":1}")) && strstr(err, "epsilon"));
	free(err);
	CHECK((err = init_error("5")) != NULL);
	free(err);
	CHECK(init_error("null") == NULL);
	CHECK(init_error("{\"type\":\"unordered\"}") == NULL);
}

static void test_names(void)
{
	CHECK_STR(cmp_type_name(CMP_EXACT), "exact");
	CHECK_STR(cmp_type_name(CMP_UNORDERED), "unordered");
	CHECK_STR(cmp_type_name(CMP_JQ), "jq");
	CHECK_STR(cmp_type_name((enum cmp_type)99), "unknown");
}

int main(void)
{
	UNIT_RUN(test_exact);
	UNIT_RUN(test_trimmed);
	UNIT_RUN(test_tokens);
	UNIT_RUN(test_float);
	UNIT_RUN(test_json);
	UNIT_RUN(test_json_exact);
	UNIT_RUN(test_unordered);
	UNIT_RUN(test_jq);
	UNIT_RUN(test_jq_messages);
	UNIT_RUN(test_jq_timeout);
	UNIT_RUN(test_init_errors);
	UNIT_RUN(test_names);
	return unit_finish();
}
