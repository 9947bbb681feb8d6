/* slot: crash-safe exclusive use of a sandbox slot (uid + cgroup), shared
 * by every sandbox-exec on the host: an flock on <state_dir>/slots/<k>.lock,
 * released by the kernel when its holder exits, however it exits. */
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

#endif
