/* Unit tests of lib/core/util.c: building paths that fail closed. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "core/util.h"
#include "unit.h"

static void test_path_fmt(void)
{
	char out[16];
	CHECK_INT(path_fmt(out, sizeof out, "%s/%s", "/run", "box"), 0);
	CHECK_STR(out, "/run/box");
	/* 15 characters fit in 16 bytes; 16 do not, and nothing is cut. */
	CHECK_INT(path_fmt(out, sizeof out, "%s/%s", "/run/abcde", "fghi"), 0);
	CHECK_STR(out, "/run/abcde/fghi");
	errno = 0;
	CHECK_INT(path_fmt(out, sizeof out, "%s/%s", "/run/abcde", "fghij"), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_STR(out, "");
	char big[PATH_MAX];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	char path[PATH_MAX];
	CHECK_INT(path_fmt(path, sizeof path, "/%s", big), -1);
	CHECK_STR(path, "");
}

int main(void)
{
	UNIT_RUN(test_path_fmt);
	return unit_finish();
}
