/* slot: crash-safe exclusive use of a sandbox slot (uid + cgroup), shared
 * by every sandbox-exec on the host: an flock on <state_dir>/slots/<k>.lock,
 * released by the kernel when its holder exits, however it exits.
 *
 * A slot may also be held while idle, by a worker that made its box ahead
 * of a job (a warm box: sandbox-exec(1)). Such a holder gives the slot up
 * when another process wants one: an acquirer that finds every slot held
 * touches <state_dir>/slots/want, and warm holders watch it. */
#ifndef SLOT_H
#define SLOT_H

/* What taking a slot can come to besides a slot number (>= 0). */
enum slot_result {
	SLOT_BUSY = -1,		/* every slot asked for stayed held (till the time-out) */
	SLOT_ERROR = -2,	/* the lock files could not be used (errno set) */
};

/* Tries every slot, starting at `prefer`, until one is free or timeout_ms
 * passes. Returns the slot number with *fd holding the lock (close it to
 * release), SLOT_BUSY or SLOT_ERROR (*fd then untouched). */
int slot_acquire(const char *state_dir, int nslots, int prefer, long timeout_ms, int *fd);

/* Tries slot k once, without waiting. Returns 0 with *fd holding the lock,
 * SLOT_BUSY when another process holds it, or SLOT_ERROR (*fd -1 both). */
int slot_try(const char *state_dir, int k, int *fd);

/* One pass over the slots, starting at prefer, without waiting and
 * without touching the want file: a worker taking a slot for a warm box.
 * Its lock files are opened read-only, so that its tries are no events
 * for slot_watch(). Returns as slot_acquire(). */
int slot_take_idle(const char *state_dir, int nslots, int prefer, int *fd);

/* Lets slot k go (fd: its lock), so that slot_watch() sees it, however
 * its lock file was opened. */
void slot_let_go(const char *state_dir, int k, int fd);

/* Whether the want file was touched in the last ms milliseconds. */
int slot_wanted(const char *state_dir, long ms);

/* An inotify fd (non-blocking) on the slots: it becomes readable when a
 * lock file opened for writing is closed (a slot let go, or another
 * process's try) or the want file is touched. Returns -1 with errno. */
int slot_watch(const char *state_dir);

/* Reads the watch's events: SLOT_WANTED and SLOT_FREED, or'ed. */
enum { SLOT_WANTED = 1, SLOT_FREED = 2 };
int slot_events(int watch);

#endif
