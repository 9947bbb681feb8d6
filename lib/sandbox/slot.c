#include "sandbox/slot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

enum { SLOT_RETRY_MS = 5 };

static int try_slot(const char *dir, int k, int *fd)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof path, "%s/%d.lock", dir, k) != 0)
		return SLOT_ERROR;
	int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
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
	int rc = try_slot(dir, k, fd);
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
			int rc = try_slot(dir, (prefer + i) % nslots, fd);
			if (rc != SLOT_BUSY)
				return rc;
		}
		if (now_mono_ms() >= deadline)
			return SLOT_BUSY;
		usleep(SLOT_RETRY_MS * 1000);
	}
}
