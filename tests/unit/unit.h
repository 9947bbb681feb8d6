/* unit: a tiny unit-test framework for the C library.
 *
 *   static void test_thing(void) { CHECK(x == 1); CHECK_STR(s, "ok"); }
 *   int main(void) { UNIT_RUN(test_thing); return unit_finish(); }
 *
 * Every CHECK counts as one pass or one failure; a failure prints
 * "file:line: test: what" on stderr and the test goes on. unit_finish()
 * prints the final line exactly "N passed, N failed" and returns the exit
 * status: 0 when nothing failed, 1 otherwise. */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;
static const char *unit_current = "?";

static inline int unit_check(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		unit_passed++;
	} else {
		unit_failed++;
		fprintf(stderr, "%s:%d: %s: failed: %s\n", file, line, unit_current, what);
	}
	return ok;
}

static inline int unit_check_str(const char *got, const char *want, const char *file,
				 int line, const char *what)
{
	int ok = got && want ? strcmp(got, want) == 0 : got == want;
	if (!unit_check(ok, file, line, what))
		fprintf(stderr, "    got:  %s%s%s\n    want: %s%s%s\n",
			got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
			want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
	return ok;
}

static inline int unit_check_long(long long got, long long want, const char *file,
				  int line, const char *what)
{
	int ok = got == want;
	if (!unit_check(ok, file, line, what))
		fprintf(stderr, "    got:  %lld\n    want: %lld\n", got, want);
	return ok;
}

/* CHECK(cond): cond is true. */
#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
/* CHECK_STR(got, want): equal C strings (NULL equals only NULL). */
#define CHECK_STR(got, want) \
	unit_check_str((got), (want), __FILE__, __LINE__, #got " == " #want)
/* CHECK_INT(got, want): equal integers. */
#define CHECK_INT(got, want) \
	unit_check_long((long long)(got), (long long)(want), __FILE__, __LINE__, \
			#got " == " #want)

/* Runs one test function, naming it in failure messages. */
#define UNIT_RUN(fn) (unit_current = #fn, fn())

static inline int unit_finish(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	fflush(stdout);
	return unit_failed ? 1 : 0;
}

#endif
