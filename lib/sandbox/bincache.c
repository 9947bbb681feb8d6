#include "sandbox/bincache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

int bincache_open(const char *dir, const char *key, size_t cap, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	if (path_fmt(path, sizeof path, "%s/%s", dir, key) != 0)
		return -1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > cap) {
		close(fd);
		return -1;
	}
	futimens(fd, NULL);	/* mtime = last use, for trim() */
	*len = (size_t)st.st_size;
	return fd;
}

/* An entry seen by trim(). */
struct entry {
	char name[NAME_MAX + 1];
	struct timespec used;
	size_t bytes;
};

static int by_use(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	if (a->used.tv_sec != b->used.tv_sec)
		return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
	return (a->used.tv_nsec > b->used.tv_nsec) - (a->used.tv_nsec < b->used.tv_nsec);
}

enum { STALE_NEW_S = 600 };	/* a .new file this old lost its writer */

/* Reads dir's entries into *out (the caller frees); removes stale .new
 * files on the way. Returns the count. */
static long scan(DIR *d, struct entry **out)
{
	struct dirent *e;
	long n = 0, cap = 0;
	time_t now = time(NULL);
	*out = NULL;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (e->d_name[0] == '.') {
			if (now - st.st_mtim.tv_sec > STALE_NEW_S)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = xrealloc(*out, (size_t)cap * sizeof **out);
		}
		struct entry *x = &(*out)[n++];
		snprintf(x->name, sizeof x->name, "%s", e->d_name);
		x->used = st.st_mtim;
		x->bytes = (size_t)st.st_size;
	}
	return n;
}

/* Removes the least recently used entries until dir is within lim. */
static void trim(const char *dir, const struct bincache_limits *lim)
{
	DIR *d = opendir(dir);
	struct entry *v;
	size_t total = 0;
	if (d == NULL)
		return;
	long n = scan(d, &v);
	for (long i = 0; i < n; i++)
		total += v[i].bytes;
	qsort(v, (size_t)n, sizeof *v, by_use);
	for (long i = 0; i < n && (n - i > lim->entries || total > lim->total_bytes); i++)
		if (unlinkat(dirfd(d), v[i].name, 0) == 0)
			total -= v[i].bytes;
	free(v);
	closedir(d);
}

void bincache_put(const char *dir, const char *key, const char *data, size_t len,
		  const struct bincache_limits *lim)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	if (len > lim->entry_bytes || len > lim->total_bytes) {
		log_info("binary cache: a binary of %zu bytes is not kept (at most %zu)", len,
			 lim->entry_bytes < lim->total_bytes ? lim->entry_bytes : lim->total_bytes);
		return;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("binary cache %s: %s", dir, strerror(errno));
		return;
	}
	if (path_fmt(path, sizeof path, "%s/%s", dir, key) != 0 ||
	    path_fmt(tmp, sizeof tmp, "%s/.%s.%d.new", dir, key, (int)getpid()) != 0) {
		log_warn("binary cache %s: %s", dir, strerror(errno));
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("binary cache %s: %s", tmp, strerror(errno));
		return;
	}
	int bad = write_all(fd, data, len) != 0;
	bad |= close(fd) != 0;
	if (bad || rename(tmp, path) != 0) {
		log_warn("binary cache %s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
	trim(dir, lim);
}
