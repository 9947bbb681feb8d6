/* Unit tests of lib/sandbox/bincache.c: entries, bytes per entry and in all. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "sandbox/bincache.h"
#include "unit.h"

static char dir[] = "/tmp/test_bincache.XXXXXX";

static long count(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;
	while (d && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int has(const char *key)
{
	size_t len;
	int fd = bincache_open(dir, key, 1 << 20, &len);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Puts a binary of n bytes under key, its use a second after the last. */
static void put(const char *key, size_t n, const struct bincache_limits *lim)
{
	char *data = calloc(1, n + 1);
	bincache_put(dir, key, data, n, lim);
	free(data);
	struct timespec t = {0, 2000000};
	nanosleep(&t, NULL);	/* distinct mtimes */
}

static void test_bytes_in_all(void)
{
	struct bincache_limits lim = {.entries = 100, .entry_bytes = 1000, .total_bytes = 2500};
	put("a", 1000, &lim);
	put("b", 1000, &lim);
	CHECK(has("a"));	/* a is now used after b */
	put("c", 1000, &lim);	/* 3000 > 2500: the least recently used (b) goes */
	CHECK(has("a"));
	CHECK(!has("b"));
	CHECK(has("c"));
	CHECK_INT(count(), 2);
}

static void test_entry_bytes(void)
{
	struct bincache_limits lim = {.entries = 100, .entry_bytes = 1000, .total_bytes = 1 << 20};
	put("big", 1001, &lim);
	CHECK(!has("big"));
	put("fits", 1000, &lim);
	CHECK(has("fits"));
}

static void test_entries(void)
{
	struct bincache_limits lim = {.entries = 2, .entry_bytes = 10, .total_bytes = 1 << 20};
	put("e1", 1, &lim);
	put("e2", 1, &lim);
	put("e3", 1, &lim);
	CHECK(!has("e1"));
	CHECK(has("e2") && has("e3"));
}

/* A writer killed mid-write leaves .key.pid.new: removed once old. */
static void test_stale_new_files(void)
{
	struct bincache_limits lim = {.entries = 10, .entry_bytes = 10, .total_bytes = 1 << 20};
	char path[256];
	snprintf(path, sizeof path, "%s/.x.1.new", dir);
	FILE *f = fopen(path, "w");
	fputs("partial", f);
	fclose(f);
	struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
	utimensat(AT_FDCWD, path, old, 0);
	snprintf(path, sizeof path, "%s/.y.2.new", dir);
	f = fopen(path, "w");
	fclose(f);
	put("z", 1, &lim);
	snprintf(path, sizeof path, "%s/.x.1.new", dir);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof path, "%s/.y.2.new", dir);
	CHECK(access(path, F_OK) == 0);		/* a writer may still be on it */
	unlink(path);
}

static void clear(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

int main(void)
{
	setenv("LOG_LEVEL", "silent", 1);
	log_init("test_bincache");
	if (mkdtemp(dir) == NULL)
		return 1;
	UNIT_RUN(test_bytes_in_all);
	clear();
	UNIT_RUN(test_entry_bytes);
	clear();
	UNIT_RUN(test_entries);
	clear();
	UNIT_RUN(test_stale_new_files);
	clear();
	rmdir(dir);
	return unit_finish();
}
