/* backend: what a sandbox backend offers runner.c (the ns boxes of box.h,
 * the docker pool of dbox.h), and what both share: a step, its result,
 * and the rules that name the limit a step hit. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/limit.h"

/* One program run in a box. */
struct box_step {
	char *const *argv;
	char *const *envp;
	const struct sbx_limits *limits;
	const char *stdin_data;		/* may be NULL */
	size_t stdin_len;
	const char *oom_marker;		/* stderr text meaning out of memory, or NULL */
	const struct box_step *next;	/* the step likely to follow (its argv, envp and
					 * limits), whose box a backend may make while
					 * this one runs; NULL: none */
	int launched;			/* argv is a launcher (spawn.h): started with its
					 * box, the step's clocks start at its go */
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

void box_result_free(struct box_result *r);

/* Sets r->limit, when no limit was hit while the step ran, from what is
 * known after it: CPU over the limit, SIGXCPU, SIGXFSZ, OOM kills or peak
 * memory over the limit, the runtime's out-of-memory text, refused forks.
 * A step stopped at the time or wall limit with its peak memory at the
 * memory limit is classed "memory": it was thrashing at its ceiling. */
void box_classify(struct box_result *r, const struct box_step *s, int64_t oom_kills,
		  int64_t pids_max_hits);

/* A backend, as runner.c drives it. `box` is the backend's own handle. */
struct box_ops {
	const char *name;
	int (*write)(void *box, const char *path, const char *data, size_t len,
		     mode_t mode, char *err, size_t errlen);
	/* As write, the len bytes of the host file fd from its start, copied
	 * in the kernel; NULL when the backend has no such thing (then the
	 * caller reads them and writes). */
	int (*copy)(void *box, const char *path, int fd, size_t len, mode_t mode,
		    char *err, size_t errlen);
	int (*run)(void *box, const struct box_step *s, struct box_result *r,
		   char *err, size_t errlen);
	int (*read_file)(void *box, const char *path, size_t cap, char **data,
			 size_t *len, const char **why);
	/* Makes the box of a job's first step before the job's files come
	 * (box.h's box_warm()); NULL when the backend has no such thing. */
	int (*warm)(void *box, const struct box_step *s, char *err, size_t errlen);
	/* Writes a launcher (spawn.h, "launched") at /sandbox/<name>, a file
	 * the program can read and not change, not replace; NULL when the
	 * backend runs no launched steps (a language's `launch`). */
	int (*put_launcher)(void *box, const char *name, const char *data, size_t len,
			    char *err, size_t errlen);
};

/* The backend's name: arg (a --backend value) when given, else
 * SANDBOX_BACKEND, else "ns". Returns NULL when that is neither "ns" nor
 * "docker". */
const char *box_backend(const char *arg);

/* The files of a box, the same for both backends. A path written below
 * /sandbox (or read below /sandbox/) is one or two components of
 * [A-Za-z0-9._-], neither "." nor "..": box_path_ok() says 1 or 0. A file
 * is read only when box_file_why() finds the open fd a regular file with
 * one link and at most cap bytes (NULL, with *size); else the why-code:
 * "missing", "symlink", "not-regular", "hard-link", "too-large",
 * "unreadable". box_open_why() is the code of an open that failed. */
int box_path_ok(const char *rel);
const char *box_open_why(int err);
const char *box_file_why(int fd, size_t cap, size_t *size);

#endif
