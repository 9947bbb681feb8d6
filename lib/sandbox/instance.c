#include "sandbox/instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

/* What an instance holds: its uids, [lo, hi) and [dlo, dhi). */
struct ranges {
	long lo, hi, dlo, dhi;
};

static int overlap(long a, long b, long c, long d)
{
	return a < d && c < b;
}

static int ranges_overlap(const struct ranges *x, const struct ranges *y)
{
	return overlap(x->lo, x->hi, y->lo, y->hi) || overlap(x->lo, x->hi, y->dlo, y->dhi) ||
	       overlap(x->dlo, x->dhi, y->lo, y->hi) || overlap(x->dlo, x->dhi, y->dlo, y->dhi);
}

enum { LOCK_WAIT_MS = 5000 };

/* Writes <name>.uids: "<lo> <hi> <dlo> <dhi> <state dir>". */
static int write_record(const char *dir, const struct lang_table *t, const struct ranges *r)
{
	char path[4096], tmp[4096], suffix[64];
	snprintf(suffix, sizeof suffix, ".uids.%d.new", (int)getpid());
	if (path_fmt(path, sizeof path, "%s/%s.uids", dir, t->instance) != 0 ||
	    path_fmt(tmp, sizeof tmp, "%s/%s%s", dir, t->instance, suffix) != 0)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "%ld %ld %ld %ld %s\n", r->lo, r->hi, r->dlo, r->dhi, t->state_dir);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The record of instance name, with its state dir; -1 when unreadable. */
static int read_record(const char *dir, const char *name, struct ranges *r, char *state,
		       size_t statelen)
{
	char path[4096], fmt[32];
	if (path_fmt(path, sizeof path, "%s/%s.uids", dir, name) != 0)
		return -1;
	snprintf(fmt, sizeof fmt, "%%ld %%ld %%ld %%ld %%%zus", statelen - 1);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	int n = fscanf(f, fmt, &r->lo, &r->hi, &r->dlo, &r->dhi, state);
	fclose(f);
	return n == 5 ? 0 : -1;
}

/* Is the instance of lock file `file` alive: does a process hold it. */
static int alive(int dfd, const char *file)
{
	int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* Looks for a live instance, other than ours, whose uids meet ours. */
static int find_clash(const char *dir, const struct lang_table *t, const struct ranges *mine,
		      char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char name[256], state[1024];
		struct ranges other;
		size_t n = strlen(e->d_name);
		if (n < 6 || n - 5 >= sizeof name || strcmp(e->d_name + n - 5, ".lock") != 0)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
		if (strcmp(name, t->instance) == 0 || !alive(dirfd(d), e->d_name) ||
		    read_record(dir, name, &other, state, sizeof state) != 0 ||
		    !ranges_overlap(mine, &other))
			continue;
		snprintf(err, errlen, "slot uids %ld.. of instance %s are in use by instance %s "
			 "(state dir %s): give each instance its own uid_base", t->uid_base,
			 t->instance, name, state);
		rc = -1;
	}
	closedir(d);
	return rc;
}

/* A shared lock on fd, waiting LOCK_WAIT_MS at most (another instance's
 * register may probe it with an exclusive one for a moment). */
static int lock_shared(int fd)
{
	int64_t until = now_mono_ms() + LOCK_WAIT_MS;
	while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK || now_mono_ms() > until)
			return -1;
		usleep(10000);
	}
	return 0;
}

int instance_register(const struct lang_table *t, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct ranges mine;
	if (dir == NULL)
		dir = INSTANCE_DIR;
	lang_uid_ranges(t, &mine.lo, &mine.hi, &mine.dlo, &mine.dhi);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = path_fmt(path, sizeof path, "%s/%s.lock", dir, t->instance) == 0
			 ? open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	if (fd < 0 || lock_shared(fd) != 0 || write_record(dir, t, &mine) != 0) {
		snprintf(err, errlen, "instance register %s/%s: %s", dir, t->instance, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (find_clash(dir, t, &mine, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
