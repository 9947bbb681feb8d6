/* Unit tests of lib/core/jsonx.c: UTF-8 sanitizing and error lines. */
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "unit.h"

#define REPL "\xEF\xBF\xBD"

static void check_utf8(const char *in, size_t len, const char *want, int line)
{
	char *got = jsonx_utf8(in, len);
	unit_check_str(got, want, __FILE__, line, want);
	free(got);
}

#define UTF8(in, want) check_utf8(in, sizeof in - 1, want, __LINE__)

static void test_valid_kept(void)
{
	UTF8("", "");
	UTF8("plain ascii\n\t", "plain ascii\n\t");
	UTF8("caf\xc3\xa9", "caf\xc3\xa9");			/* 2 bytes */
	UTF8("\xe2\x82\xac 5", "\xe2\x82\xac 5");		/* 3 bytes */
	UTF8("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");		/* 4 bytes */
	UTF8("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf");	/* highest */
	UTF8("\x7f", "\x7f");
}

static void test_invalid_replaced(void)
{
	UTF8("a\xff" "b", "a" REPL "b");
	UTF8("\x80", REPL);					/* lone continuation */
	UTF8("\xc3", REPL);					/* cut at the end */
	UTF8("\xe2\x82", REPL REPL);
	UTF8("\xc3" "A", REPL "A");				/* bad continuation */
	UTF8("\xc0\x80", REPL REPL);				/* overlong NUL */
	UTF8("\xe0\x80\xaf", REPL REPL REPL);			/* overlong '/' */
	UTF8("\xed\xa0\x80", REPL REPL REPL);			/* surrogate */
	UTF8("\xf4\x90\x80\x80", REPL REPL REPL REPL);		/* past U+10FFFF */
	UTF8("\xf8\x88\x80\x80\x80", REPL REPL REPL REPL REPL);	/* 5-byte form */
	UTF8("a\0b", "a" REPL "b");				/* NUL */
}

static void test_set_bytes(void)
{
	cJSON *obj = cJSON_CreateObject();
	jsonx_set_bytes(obj, "s", "x\xff\0y", 4);
	CHECK_STR(jsonx_str(obj, "s"), "x" REPL REPL "y");
	jsonx_set_bytes(obj, "s", "new", 3);	/* replaces */
	CHECK_STR(jsonx_str(obj, "s"), "new");
	CHECK_INT(cJSON_GetArraySize(obj), 1);
	char *text = cJSON_PrintUnformatted(obj);
	CHECK_STR(text, "{\"s\":\"new\"}");
	free(text);
	cJSON_Delete(obj);
}

/* A sanitized string is valid: sanitizing it again changes nothing. */
static int valid_utf8(const char *s)
{
	char *again = jsonx_utf8(s, strlen(s));
	int same = strcmp(again, s) == 0;
	free(again);
	return same;
}

static void test_unparsable(void)
{
	size_t big = JSONX_RAW_LINE_CAP + 100;
	char *line = malloc(big);
	memset(line, 'a', big);
	memcpy(line + JSONX_RAW_LINE_CAP - 1, "\xc3\xa9", 2);	/* é across the cap */
	cJSON *e = jsonx_unparsable(line, big, "oversized", "too long");
	const char *kept = jsonx_str(e, "line");
	CHECK(kept != NULL);
	CHECK(valid_utf8(kept));
	CHECK_INT(strlen(kept), JSONX_RAW_LINE_CAP - 1 + 3);	/* the cut byte became U+FFFD */
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(e, "error");
	CHECK_STR(jsonx_str(err, "kind"), "poison");
	CHECK_STR(jsonx_str(err, "code"), "oversized");
	CHECK_STR(jsonx_str(err, "message"), "too long");
	cJSON_Delete(e);
	free(line);

	e = jsonx_unparsable("{\"a\":\xff", 6, "invalid-json", "not JSON");
	CHECK_STR(jsonx_str(e, "line"), "{\"a\":" REPL);
	char *text = cJSON_PrintUnformatted(e);
	cJSON *back = cJSON_Parse(text);
	CHECK(back != NULL);	/* the error line itself is always JSON */
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(e);
}

static void test_set_error_keeps_fields(void)
{
	cJSON *job = cJSON_Parse("{\"tempId\":\"t\",\"error\":1}");
	jsonx_set_error(job, "poison", "invalid-job", "no exec section");
	CHECK_STR(jsonx_str(job, "tempId"), "t");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(job, "error");
	CHECK_STR(jsonx_str(err, "message"), "no exec section");
	CHECK_INT(cJSON_GetArraySize(job), 2);
	cJSON_Delete(job);
}

int main(void)
{
	UNIT_RUN(test_valid_kept);
	UNIT_RUN(test_invalid_replaced);
	UNIT_RUN(test_set_bytes);
	UNIT_RUN(test_unparsable);
	UNIT_RUN(test_set_error_keeps_fields);
	return unit_finish();
}
