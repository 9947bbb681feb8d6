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

#include "cgroup.h"
#include "lang.h"
#include "limit.h"

struct box {
	char root[PATH_MAX];	/* mount point of the box's tmpfs root */
	int rootfd;		/* O_PATH fd of that root, opened before any step */
	uid_t uid;
	gid_t gid;
	int slot;
	const struct cg_sys *cgs;
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

/* One program run in the box. */
struct box_step {
	char *const *argv;
	char *const *envp;
	const struct sbx_limits *limits;
	const char *stdin_data;		/* may be NULL */
	size_t stdin_len;
	const char *oom_marker;		/* stderr text meaning out of memory, or NULL */
};

/* What happened, measured from outside. The buffers are owned by the
 * result; box_result_free() releases them. */
struct box_result {
	int exit_code;		/* -1 when killed by a signal */
	int signal;		/* 0 when it exited */
	int64_t time_ms, wall_ms, memory_kb;
	const char *limit;	/* NULL or "time", "wall", "memory", "output", "file", "processes" */
	char *out, *err;
	size_t out_len, err_len;
	int out_truncated, err_truncated;
};

/* Runs one step in a new pid/net/ipc/uts/mount/cgroup namespace set, with a
 * tiny init as pid 1 that reaps and, when the program ends, kills whatever
 * it left behind. Returns 0 with *r filled (whatever the program did), or
 * -1 with err when the sandbox itself failed. */
int box_run(struct box *b, const struct box_step *s, struct box_result *r,
	    char *err, size_t errlen);

void box_result_free(struct box_result *r);

/* Sets r->limit, when no limit was hit while the step ran, from what is
 * known after it: CPU over the limit, SIGXCPU, SIGXFSZ, OOM kills or peak
 * memory over the limit, the runtime's out-of-memory text, refused forks.
 * A step stopped at the time or wall limit with its peak memory at the
 * memory limit is classed "memory": it was thrashing at its ceiling. */
void box_classify(struct box_result *r, const struct box_step *s, int64_t oom_kills,
		  int64_t pids_max_hits);

/* Reads path (relative to the box root) with no path following: returns 0
 * with a malloc'd *data (NUL-terminated; the caller frees) of *len bytes,
 * or -1 with *why one of "missing", "symlink", "not-regular", "hard-link",
 * "too-large", "unreadable". */
int box_read_file(struct box *b, const char *path, size_t cap, char **data,
		  size_t *len, const char **why);

/* What runner.c needs of a backend: the ns boxes here, the docker pool in
 * dbox.h. `box` is the backend's own handle. */
struct box_ops {
	const char *name;
	int (*write)(void *box, const char *path, const char *data, size_t len,
		     mode_t mode, char *err, size_t errlen);
	int (*run)(void *box, const struct box_step *s, struct box_result *r,
		   char *err, size_t errlen);
	int (*read_file)(void *box, const char *path, size_t cap, char **data,
			 size_t *len, const char **why);
};

extern const struct box_ops box_ns_ops;

/* The backend's name: arg (a --backend value) when given, else
 * SANDBOX_BACKEND, else "ns". Returns NULL when that is neither "ns" nor
 * "docker". */
const char *box_backend(const char *arg);

#endif
