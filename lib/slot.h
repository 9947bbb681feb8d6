/* slot: crash-safe exclusive use of a sandbox slot (uid + cgroup), shared
 * by every sandbox-exec on the host: an flock on <state_dir>/slots/<k>.lock,
 * released by the kernel when its holder exits, however it exits. */
#ifndef SLOT_H
#define SLOT_H

/* Tries every slot, starting at `prefer`, until one is free or timeout_ms
 * passes. Returns the slot number with *fd holding the lock (close it to
 * release), -1 on time-out, -2 on an error (errno set). */
int slot_acquire(const char *state_dir, int nslots, int prefer, long timeout_ms, int *fd);

/* Tries slot k once, without waiting. Returns 0 with *fd holding the lock,
 * -1 when another process holds it, -2 on an error (errno set). */
int slot_try(const char *state_dir, int k, int *fd);

#endif
