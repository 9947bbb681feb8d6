/* box: one native sandbox (namespaces + tmpfs root + cgroup), the `ns`
 * backend of sandbox-exec. A box lives in the calling process's private
 * mount namespace, so box_open() is meant for a process that runs one job
 * and exits: when it exits, every mount of the box goes with it.
 *
 * Host-side rule: files are written into the box only before the first
 * step runs; after that the host touches nothing in it by name, and reads
 * results only through box_read_file() (openat2, no symlinks, no mount
 * crossing, regular files with one link). */
#ifndef BOX_H
#define BOX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/lang.h"
#include "sandbox/backend.h"
#include "sandbox/cgroup.h"

/* A step's box made ahead of the step (boxrun.c): its group, its init
 * (in the group, in namespaces of its own, pivoted into the box root) and
 * the program's process, held before its privilege drop until the step
 * starts; the worker's ends of the step's pipes; what it was made for. */
struct box_ready {
	pid_t init;		/* 0: none */
	struct cg g;
	int in, out, err, go, st;
	int ready;		/* launched: the read end of the program's ready pipe */
	int netfd;		/* the network namespace its init joins, or -1: its own */
	char *const *argv, *const *envp;
	int launched;
	int zygote;		/* its program is made by a zygote (zygote.h) */
	struct sbx_limits limits;	/* wall_ms aside, what the step must have */
	int64_t t_start, t_cgroup, t_clone;	/* the worker's clock readings (us) */
};

struct box {
	char root[PATH_MAX];	/* mount point of the box's tmpfs root */
	int rootfd;		/* O_PATH fd of that root, opened before any step */
	uid_t uid;
	gid_t gid;
	int slot;
	const struct cg_sys *cgs;
	int netfd;		/* the slot's network namespace (slotnet.h), or -1:
				 * each step makes one of its own */
	struct box_ready next;	/* the next step's box, when one was asked for */
	int made;		/* boxes made: the groups alternate two names */
	struct cg spent;	/* the last step's group, its tasks gone: removed
				 * after the result (box_tidy, box_close), or
				 * before the next group is made */
};

/* Builds a fresh box for `slot` under state_dir: unshares the mount
 * namespace, mounts the capped tmpfs, binds the table's mounts read-only,
 * makes /dev, /tmp, /etc/passwd and the writable /sandbox/{code,bin,results}
 * owned by the slot's uid, and mounts the language's warm cache (if any)
 * as an overlay. Returns 0, or -1 with err (an infrastructure error). */
int box_open(struct box *b, const struct lang_table *t, const struct lang *l,
	     const struct cg_sys *cgs, int slot, int64_t workdir_mb,
	     char *err, size_t errlen);

/* Writes a file at path below /sandbox ("code/main.py", "bin/executable"),
 * owned by the slot's uid, with mode. Only before the first step. Returns
 * 0, or -1 with err. */
int box_write(struct box *b, const char *path, const char *data, size_t len,
	      mode_t mode, char *err, size_t errlen);

/* As box_write, the len bytes of the host file fd from its start, copied in
 * the kernel (sendfile). */
int box_copy(struct box *b, const char *path, int fd, size_t len, mode_t mode,
	     char *err, size_t errlen);

/* Runs one step in a new pid/net/ipc/uts/mount/cgroup namespace set, with a
 * tiny init as pid 1 that reaps and, when the program ends, kills whatever
 * it left behind. When s->next is given, the box of that step is made
 * while this one runs, and the next box_run() of a step with the same
 * argv, envp and limits (wall_ms aside) starts in it at once. Returns 0
 * with *r filled (whatever the program did), or -1 with err when the
 * sandbox itself failed. */
int box_run(struct box *b, const struct box_step *s, struct box_result *r,
	    char *err, size_t errlen);

/* Makes the box of step s ahead, before the job's files are written (a
 * warm box): the next box_run() of a step with the same argv, envp and
 * limits (wall_ms aside) starts in it at once; any other discards it.
 * s->argv and s->envp must outlive the box. Returns 0, or -1 with err. */
int box_warm(struct box *b, const struct box_step *s, char *err, size_t errlen);

/* Ends a box made ahead and not used (the job stopped early), and removes
 * the last step's group (waiting while the kernel holds it busy). The
 * box's mounts go when the calling process exits, or at box_end(). */
void box_close(struct box *b);

/* Tries once to remove the last step's group: 0 when it is gone (the box
 * can be closed at once), -1 while the kernel holds it busy (close it
 * after the job's line is out). */
int box_tidy(struct box *b);

/* Ends the whole box before the process exits: box_close(), and its root
 * unmounted (a worker that gives up a warm box's slot). */
void box_end(struct box *b);

/* Writes /sandbox/<name> (one component), root's and read-only: the
 * program reads it and cannot change or replace it (/sandbox is root's).
 * Only before the first step. Returns 0, or -1 with err. */
int box_write_sealed(struct box *b, const char *name, const char *data, size_t len,
		     char *err, size_t errlen);

/* Reads path (relative to the box root) with no path following: returns 0
 * with a malloc'd *data (NUL-terminated; the caller frees) of *len bytes,
 * or -1 with *why one of "missing", "symlink", "not-regular", "hard-link",
 * "too-large", "unreadable". */
int box_read_file(struct box *b, const char *path, size_t cap, char **data,
		  size_t *len, const char **why);

/* The ns backend, for runner.c. */
extern const struct box_ops box_ns_ops;

#endif
