/* Unit tests of lib/sandbox/cgroup.c that need no cgroup: reading the mount table,
 * and the figures of a v2 group as files in a directory (a kernel without
 * memory.peak, which this machine cannot boot on demand). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/cgroup.h"
#include "unit.h"

/* A mount table in a temporary file; returns its path (static). */
static const char *table(const char *text)
{
	static char path[] = "/tmp/test_cgroup.XXXXXX";
	snprintf(path, sizeof path, "/tmp/test_cgroup.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_favordynmods(void)
{
	const char *p = table("cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
			      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n");
	CHECK_INT(cg_favordynmods(p), 0);
	unlink(p);
	p = table("tmpfs /favordynmods tmpfs rw,favordynmods 0 0\n"
		  "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,favordynmods,memory_recursiveprot 0 0\n");
	CHECK_INT(cg_favordynmods(p), 1);
	unlink(p);
	p = table("cgroup /sys/fs/cgroup/pids cgroup rw,favordynmods,pids 0 0\n");
	CHECK_INT(cg_favordynmods(p), 1);
	unlink(p);
	/* Only cgroup mounts count. */
	p = table("tmpfs /tmp tmpfs rw,favordynmods 0 0\n");
	CHECK_INT(cg_favordynmods(p), 0);
	unlink(p);
	CHECK_INT(cg_favordynmods("/nonexistent/mounts"), -1);
}

static void put(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof path, "%s/%s", dir, file) != 0)
		abort();
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* A v2 group of Linux < 5.19: no memory.peak, so the peak is sampled. */
static void test_v2_figures(void)
{
	char top[] = "/tmp/test_cgroup.XXXXXX", base[PATH_MAX], line[1024];
	if (!mkdtemp(top))
		abort();
	struct cg_sys cs = {.version = CG_V2, .sampled_peak = 1};
	snprintf(base, sizeof base, "%s/codex-sandbox", top);
	mkdir(base, 0700);
	snprintf(cs.v2, sizeof cs.v2, "%s", base);
	struct cg g = {.sys = &cs};
	snprintf(g.v2, sizeof g.v2, "%s", base);
	CHECK_INT(cg_memory_kb(&g), -1);
	put(base, "memory.current", "3145728\n");
	put(base, "cpu.stat", "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n");
	put(base, "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
	put(base, "memory.swap.max", "0\n");
	CHECK_INT(cg_memory_kb(&g), 3072);
	struct cg_stats st;
	cg_read_stats(&g, &st);
	CHECK_INT(st.cpu_us, 5000);
	CHECK_INT(st.peak_kb, 3072);
	CHECK_INT(st.oom_kills, 1);
	CHECK_INT(st.pids_max_hits, 0);
	cg_describe(&cs, line, sizeof line);
	CHECK(strstr(line, "peak memory from the largest memory.current sampled while it runs "
			   "(Linux < 5.19: no memory.peak)") != NULL);
	CHECK(strstr(line, "memory.max with memory.swap.max 0") != NULL);
	/* With memory.peak, the kernel's figure. */
	cs.sampled_peak = 0;
	put(base, "memory.peak", "8388608\n");
	cg_read_stats(&g, &st);
	CHECK_INT(st.peak_kb, 8192);
	cg_describe(&cs, line, sizeof line);
	CHECK(strstr(line, "peak memory from memory.peak,") != NULL);
	const char *files[] = {"memory.current", "cpu.stat", "memory.events", "memory.swap.max",
			       "memory.peak"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[PATH_MAX];
		if (path_fmt(path, sizeof path, "%s/%s", base, files[i]) == 0)
			unlink(path);
	}
	rmdir(base);
	rmdir(top);
}

/* A group whose path would not fit is not made, and its destroy touches
 * nothing (a cut path would name another group). */
static void test_path_too_long(void)
{
	struct cg_sys cs = {.version = CG_V2};
	memset(cs.v2, 'a', sizeof cs.v2 - 4);
	cs.v2[0] = '/';
	struct cg g;
	char err[256];
	CHECK_INT(cg_create(&cs, "slot-0", 64, 16, &g, err, sizeof err), -1);
	CHECK(strstr(err, "the path of group slot-0 is too long") != NULL);
	CHECK_STR(g.v2, "");
	CHECK_INT(cg_destroy(&g), 0);
}

int main(void)
{
	UNIT_RUN(test_favordynmods);
	UNIT_RUN(test_v2_figures);
	UNIT_RUN(test_path_too_long);
	return unit_finish();
}
