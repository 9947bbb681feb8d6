/* Unit tests of lib/core/utf8.c: what is a valid sequence, and the capped,
 * repaired copies. */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "unit.h"

static size_t seq(const char *s)
{
	return utf8_seq((const unsigned char *)s, strlen(s));
}

static void test_seq(void)
{
	CHECK_INT(seq("a"), 1);
	CHECK_INT(seq("\xc3\xa9"), 2);			/* é */
	CHECK_INT(seq("\xe2\x82\xac"), 3);		/* € */
	CHECK_INT(seq("\xf0\x9f\x98\x80"), 4);		/* U+1F600 */
	CHECK_INT(seq("\xf4\x8f\xbf\xbf"), 4);		/* U+10FFFF */
	CHECK_INT(seq(""), 0);				/* NUL */
	CHECK_INT(seq("\x80"), 0);			/* a stray continuation */
	CHECK_INT(seq("\xc0\xaf"), 0);			/* overlong '/' */
	CHECK_INT(seq("\xe0\x80\xaf"), 0);		/* overlong '/' */
	CHECK_INT(seq("\xf0\x80\x80\xaf"), 0);		/* overlong '/' */
	CHECK_INT(seq("\xed\xa0\x80"), 0);		/* a surrogate */
	CHECK_INT(seq("\xf4\x90\x80\x80"), 0);		/* past U+10FFFF */
	CHECK_INT(seq("\xf8\x88\x80\x80\x80"), 0);	/* five bytes */
	CHECK_INT(seq("\xc3"), 0);			/* truncated */
	CHECK_INT(utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0);	/* past n */
}

static void test_copy(void)
{
	char d[8];
	CHECK_INT(utf8_copy(d, sizeof d, "abc"), 3);
	CHECK_STR(d, "abc");
	CHECK_INT(utf8_copy(d, sizeof d, "a\xff" "b\xc3"), 4);
	CHECK_STR(d, "a?b?");
	/* A sequence that would not fit ends the copy: no half characters. */
	CHECK_INT(utf8_copy(d, sizeof d, "abcdef\xe2\x82\xac"), 6);
	CHECK_STR(d, "abcdef");
	CHECK_INT(utf8_copy(d, 1, "abc"), 0);
	CHECK_STR(d, "");
}

static void test_dup(void)
{
	char *s = utf8_dup("h\xc3\xa9llo", 3);
	CHECK_STR(s, "h\xc3\xa9");
	free(s);
	s = utf8_dup("h\xc3\xa9llo", 2);		/* the cut falls inside é */
	CHECK_STR(s, "h");
	free(s);
	s = utf8_dup("bad\xfe", 100);
	CHECK_STR(s, "bad?");
	free(s);
}

int main(void)
{
	UNIT_RUN(test_seq);
	UNIT_RUN(test_copy);
	UNIT_RUN(test_dup);
	return unit_finish();
}
