/* Unit tests of lib/cgroup.c that need no cgroup: reading the mount table. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgroup.h"
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

int main(void)
{
	UNIT_RUN(test_favordynmods);
	return unit_finish();
}
