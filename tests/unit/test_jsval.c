/* Unit tests of lib/judge/jsval.c: JavaScript's JSON.stringify, parseFloat,
 * truthiness and trim, as the platform's compat rules need them. */
#include <math.h>
#include <stdlib.h>

#include "judge/jsval.h"
#include "unit.h"

/* JSON.stringify(JSON.parse(json)). */
static void check_stringify(const char *json, const char *want, int line)
{
	cJSON *v = cJSON_Parse(json);
	char *got = v ? jsval_stringify(v) : NULL;
	unit_check_str(got, want, __FILE__, line, json);
	free(got);
	cJSON_Delete(v);
}

#define STRINGIFY(json, want) check_stringify(json, want, __LINE__)

static void check_number(double d, const char *want, int line)
{
	char buf[JSVAL_NUMBER_MAX];
	jsval_number(d, buf);
	unit_check_str(buf, want, __FILE__, line, want);
}

#define NUMBER(d, want) check_number(d, want, __LINE__)

static void test_numbers(void)
{
	NUMBER(0, "0");
	NUMBER(-0.0, "0");
	NUMBER(-3, "-3");
	NUMBER(0.5, "0.5");
	NUMBER(1.25, "1.25");
	NUMBER(0.1 + 0.2, "0.30000000000000004");
	NUMBER(100, "100");
	NUMBER(123456789012, "123456789012");
	NUMBER(1e15, "1000000000000000");
	NUMBER(1e20, "100000000000000000000");
	NUMBER(1e21, "1e+21");
	NUMBER(1.5e300, "1.5e+300");
	NUMBER(0.000001, "0.000001");
	NUMBER(1e-7, "1e-7");
	NUMBER(-1.5e-9, "-1.5e-9");
	NUMBER(5e-324, "5e-324");
	NUMBER(1.7976931348623157e308, "1.7976931348623157e+308");
	NUMBER(9007199254740993.0, "9007199254740992");
	NUMBER(NAN, "NaN");
	NUMBER(INFINITY, "Infinity");
	NUMBER(-INFINITY, "-Infinity");
}

static void test_stringify(void)
{
	STRINGIFY("[1, 2.0, -3, 0.5]", "[1,2,-3,0.5]");
	STRINGIFY("{\"a\" : [true, false, null]}", "{\"a\":[true,false,null]}");
	STRINGIFY("\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\"", "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\"");
	STRINGIFY("\"\\u00e9\\u2028\"", "\"\xc3\xa9\xe2\x80\xa8\"");
	STRINGIFY("\"\\b\\f\\r\"", "\"\\b\\f\\r\"");
	STRINGIFY("{}", "{}");
	STRINGIFY("[]", "[]");
	STRINGIFY("1e21", "1e+21");
	STRINGIFY("1E-7", "1e-7");
	/* integer-like keys first, ascending; then insertion order */
	STRINGIFY("{\"b\":1,\"10\":2,\"a\":3,\"2\":4,\"01\":5}",
		  "{\"2\":4,\"10\":2,\"b\":1,\"a\":3,\"01\":5}");
	STRINGIFY("{\"4294967295\":1,\"4294967294\":2}",
		  "{\"4294967294\":2,\"4294967295\":1}");
	/* a repeated key: its first place, its last value */
	STRINGIFY("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
	STRINGIFY("[{\"y\":[{\"1\":0,\"0\":1}]}]", "[{\"y\":[{\"0\":1,\"1\":0}]}]");
}

static double parse_float(const char *json)
{
	cJSON *v = cJSON_Parse(json);
	double d = jsval_parse_float(v);
	cJSON_Delete(v);
	return d;
}

static void test_parse_float(void)
{
	CHECK(parse_float("12.5") == 12.5);
	CHECK(parse_float("\"12.5\"") == 12.5);
	CHECK(parse_float("\"  3.25ms\"") == 3.25);
	CHECK(parse_float("\"-.5e1x\"") == -5);
	CHECK(parse_float("\"1e\"") == 1);
	CHECK(parse_float("\"+7\"") == 7);
	CHECK(parse_float("\"Infinity\"") == INFINITY);
	CHECK(parse_float("\"-Infinityx\"") == -INFINITY);
	CHECK(isnan(parse_float("\"0x10\"")) == 0 && parse_float("\"0x10\"") == 0);
	CHECK(isnan(parse_float("\"abc\"")));
	CHECK(isnan(parse_float("\"\"")));
	CHECK(isnan(parse_float("\".\"")));
	CHECK(isnan(parse_float("\"nan\"")));
	CHECK(isnan(parse_float("\"inf\"")));
	CHECK(isnan(parse_float("null")));
	CHECK(isnan(parse_float("true")));
	CHECK(isnan(parse_float("{}")));
	CHECK(isnan(parse_float("[]")));
	CHECK(parse_float("[\" 4\", 5]") == 4);
	CHECK(isnan(parse_float("[null, 5]")));
	CHECK(isnan(jsval_parse_float(NULL)));
	CHECK(jsval_parse_float_text("\xc2\xa0\n 8") == 8);	/* NBSP is white space */
}

static int truthy(const char *json)
{
	cJSON *v = cJSON_Parse(json);
	int t = jsval_truthy(v);
	cJSON_Delete(v);
	return t;
}

static void test_truthy(void)
{
	CHECK(!jsval_truthy(NULL));
	CHECK(!truthy("null"));
	CHECK(!truthy("false"));
	CHECK(!truthy("0"));
	CHECK(!truthy("-0"));
	CHECK(!truthy("\"\""));
	CHECK(truthy("\"0\""));
	CHECK(truthy("\" \""));
	CHECK(truthy("1"));
	CHECK(truthy("-0.5"));
	CHECK(truthy("true"));
	CHECK(truthy("[]"));
	CHECK(truthy("{}"));
}

static void check_trim(const char *s, const char *want, int line)
{
	size_t a, b;
	jsval_trim(s, strlen(s), &a, &b);
	char got[256];
	snprintf(got, sizeof got, "%.*s", (int)(b - a), s + a);
	unit_check_str(got, want, __FILE__, line, s);
}

#define TRIM(s, want) check_trim(s, want, __LINE__)

static void test_trim(void)
{
	TRIM("  a b \n", "a b");
	TRIM("\r\n\t\v\fx\r\n", "x");
	TRIM("", "");
	TRIM(" \n ", "");
	TRIM("\xc2\xa0x\xe3\x80\x80", "x");		/* NBSP, ideographic space */
	TRIM("\xef\xbb\xbfx\xe2\x80\xa9", "x");		/* BOM, paragraph separator */
	TRIM("x\xc3\xa9", "x\xc3\xa9");			/* é is no space */
	TRIM("\xe2\x80\x8bx", "\xe2\x80\x8bx");		/* nor is a zero-width space */
	TRIM("x\xa0", "x\xa0");				/* a stray byte stays */
}

int main(void)
{
	UNIT_RUN(test_numbers);
	UNIT_RUN(test_stringify);
	UNIT_RUN(test_parse_float);
	UNIT_RUN(test_truthy);
	UNIT_RUN(test_trim);
	return unit_finish();
}
