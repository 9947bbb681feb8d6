/* pool: the docker backend's warm pool. One container per (language, slot),
 * named <pool>-<language>-<k> and labelled codex.pool=<pool> (the table's
 * `pool`, default codex), running codex-agent.
 * Each slot has a lock (lib/sandbox/slot.h) and a state file beside it:
 * <state_dir>/docker-<language>/slots/<k>.lock and <k>.json. Whoever holds
 * the lock may replace the container; sandbox-exec and pool-ctl both do. */
#ifndef POOL_H
#define POOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/lang.h"
#include "sandbox/docker.h"

struct pool_slot {
	char lang[64];
	int k;
	char dir[PATH_MAX];	/* the language's lock directory */
	char id[80];		/* container id; empty when there is none */
	long jobs;		/* jobs run in this container */
	int64_t created_ms;	/* wall clock */
	int64_t checked_ms;	/* last health check */
	int dirty;		/* a job was under way or went wrong: replace it */
	long pid;		/* the container's first process, on the host */
};

/* The directory holding a language's slot locks (for slot_acquire()).
 * Returns 0, or -1 when the path does not fit (path_fmt). */
int pool_dir(const struct lang_table *t, const char *lang, char *out, size_t outlen);

/* Loads slot k of lang from its state file (a missing or unreadable file
 * is an empty slot). */
void pool_slot_load(struct pool_slot *s, const struct lang_table *t, const char *lang, int k);

/* Writes the state file (name.new, then rename). Returns 0 or -1 (errno). */
int pool_slot_save(const struct pool_slot *s);

/* Why the slot's container must be replaced before its next job
 * ("none", "dirty", "max-jobs", "max-age"), or NULL when it may serve. */
const char *pool_slot_stale(const struct pool_slot *s, const struct lang_table *t);

/* Replaces the slot's container: removes the old one (by id and by name),
 * creates a hardened one for l and saves the state. It is not started yet:
 * attach first (the agent's first words are not lost), then pool_start().
 * Returns 0, or -1 with err. */
int pool_create(struct dk *d, const struct lang_table *t, const struct lang *l,
		struct pool_slot *s, char *err, size_t errlen);

/* Starts the slot's container and records its pid in the state. Returns
 * 0, or -1 with err. */
int pool_start(struct dk *d, struct pool_slot *s, char *err, size_t errlen);

/* Removes a container by id or name, killing it. Returns 0 (also when it
 * was already gone), or -1 with err. */
int pool_remove(struct dk *d, const char *ref, char *err, size_t errlen);

/* Inspects the slot's container. Returns 1 running (with *pid, if not
 * NULL, its first process on the host), 0 gone or stopped, -1 with err
 * when dockerd did not answer. */
int pool_running(struct dk *d, const struct pool_slot *s, long *pid, char *err, size_t errlen);

/* After the container's agent went away: waits up to 2 s for dockerd to
 * see the container stop, then returns 1 when the kernel's OOM killer ended
 * a process in it (State.OOMKilled), else 0. */
int pool_oom_killed(struct dk *d, const struct pool_slot *s);

/* The container's create request for language l (a JSON text the caller
 * frees). */
char *pool_spec(const struct lang_table *t, const struct lang *l, int k);

#endif
