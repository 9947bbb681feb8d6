#include "sandbox/slot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

enum { SLOT_RETRY_MS = 5 };

/* mode: O_RDWR, or O_RDONLY for a try that no slot_watch() sees. */
static int try_slot(const char *dir, int k, int mode, int *fd)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof path, "%s/%d.lock", dir, k) != 0)
		return SLOT_ERROR;
	int f = open(path, mode | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return SLOT_ERROR;
	if (flock(f, LOCK_EX | LOCK_NB) == 0) {
		*fd = f;
		return k;
	}
	int saved = errno;
	close(f);
	errno = saved;
	return saved == EWOULDBLOCK ? SLOT_BUSY : SLOT_ERROR;
}

/* Touches dir/want (made when missing): its change time is the news. */
static void touch_want(const char *dir)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof path, "%s/want", dir) != 0)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

static int slot_dir(const char *state_dir, char *dir, size_t len)
{
	if (path_fmt(dir, len, "%s/slots", state_dir) != 0 ||
	    (mkdir(state_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return -1;
	return 0;
}

int slot_try(const char *state_dir, int k, int *fd)
{
	char dir[PATH_MAX];
	*fd = -1;
	if (slot_dir(state_dir, dir, sizeof dir) != 0)
		return SLOT_ERROR;
	int rc = try_slot(dir, k, O_RDWR, fd);
	return rc == k ? 0 : rc;
}

int slot_acquire(const char *state_dir, int nslots, int prefer, long timeout_ms, int *fd)
{
	char dir[PATH_MAX];
	int64_t deadline = now_mono_ms() + timeout_ms;
	if (slot_dir(state_dir, dir, sizeof dir) != 0)
		return SLOT_ERROR;
	for (;;) {
		for (int i = 0; i < nslots; i++) {
			int rc = try_slot(dir, (prefer + i) % nslots, O_RDWR, fd);
			if (rc != SLOT_BUSY)
				return rc;
		}
		if (now_mono_ms() >= deadline)
			return SLOT_BUSY;
		touch_want(dir);
		usleep(SLOT_RETRY_MS * 1000);
	}
}

int slot_take_idle(const char *state_dir, int nslots, int prefer, int *fd)
{
	char dir[PATH_MAX];
	if (slot_dir(state_dir, dir, sizeof dir) != 0)
		return SLOT_ERROR;
	for (int i = 0; i < nslots; i++) {
		int rc = try_slot(dir, (prefer + i) % nslots, O_RDONLY, fd);
		if (rc != SLOT_BUSY)
			return rc;
	}
	return SLOT_BUSY;
}

void slot_let_go(const char *state_dir, int k, int fd)
{
	char path[PATH_MAX];
	close(fd);
	if (path_fmt(path, sizeof path, "%s/slots/%d.lock", state_dir, k) != 0)
		return;
	/* A close after writing is the event: one of our own. */
	int f = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f >= 0)
		close(f);
}

int slot_wanted(const char *state_dir, long ms)
{
	char path[PATH_MAX];
	struct stat st;
	struct timespec now;
	if (path_fmt(path, sizeof path, "%s/slots/want", state_dir) != 0 ||
	    lstat(path, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0;
	int64_t age_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
			 (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	return age_ms < ms;
}

int slot_watch(const char *state_dir)
{
	char dir[PATH_MAX];
	if (slot_dir(state_dir, dir, sizeof dir) != 0)
		return -1;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int slot_events(int watch)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int events = 0;
	ssize_t n;
	while ((n = read(watch, buf, sizeof buf)) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (e->len > 0)
				events |= strcmp(e->name, "want") == 0 ? SLOT_WANTED : SLOT_FREED;
			p += sizeof *e + e->len;
		}
	return events;
}
