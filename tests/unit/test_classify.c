/* Unit tests of box_classify (lib/sandbox/boxrun.c): which limit a step is said
 * to have hit, from what is known once it ended. */
#include <signal.h>
#include <string.h>

#include "core/limit.h"
#include "sandbox/backend.h"
#include "unit.h"

static const char *classify(int exit_code, int sig, int64_t time_ms, int64_t memory_kb,
			    const char *limit, int64_t oom_kills)
{
	static struct sbx_limits l;
	memset(&l, 0, sizeof l);
	l.time_ms = 1000;
	l.memory_mb = 256;
	struct box_step s = {.limits = &l};
	struct box_result r = {.exit_code = exit_code, .signal = sig, .time_ms = time_ms,
			       .memory_kb = memory_kb, .limit = limit};
	box_classify(&r, &s, oom_kills, 0);
	return r.limit;
}

static void test_limits(void)
{
	CHECK(classify(0, 0, 10, 1000, NULL, 0) == NULL);
	CHECK_STR(classify(-1, SIGKILL, 1001, 1000, "time", 0), "time");
	CHECK_STR(classify(-1, SIGKILL, 1200, 1000, NULL, 0), "time");
	CHECK_STR(classify(-1, SIGKILL, 300, 1000, "wall", 0), "wall");
	CHECK_STR(classify(-1, SIGKILL, 300, 1000, NULL, 1), "memory");
	CHECK_STR(classify(-1, SIGXFSZ, 300, 1000, NULL, 0), "file");
	/* At the time or wall limit with memory pinned at its limit: memory. */
	CHECK_STR(classify(-1, SIGKILL, 1001, 256 * 1024, "time", 0), "memory");
	CHECK_STR(classify(-1, SIGKILL, 400, 256 * 1024, "wall", 0), "memory");
	CHECK_STR(classify(-1, SIGKILL, 1001, 256 * 1024 - 4, "time", 0), "time");
	/* A limit other than a clock stands. */
	CHECK_STR(classify(-1, SIGKILL, 10, 256 * 1024, "output", 0), "output");
}

int main(void)
{
	UNIT_RUN(test_limits);
	return unit_finish();
}
