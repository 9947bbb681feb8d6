/* zygote: a language's runtime started once per sandbox-exec, outside
 * every box, whose forks run that language's launched steps on the ns
 * backend (docs/sandbox.md, "Zygotes"). A step then pays a fork instead of
 * the runtime's start.
 *
 * The zygote (share/harness/zygote.py, with codex-zygote.so from
 * zychild.c) runs as root, not dumpable, in sandbox-exec's namespaces; it
 * reads nothing of a job: the worker sends it, for each step, the box's
 * init (a pidfd), the step's pipe ends and cgroup files, the slot's uid
 * and the step's limits, and the words from the launcher on. For each
 * request it joins the box's pid namespace for its children only, forks
 * the program's process there, born in its cgroup (or moved), and joins
 * its own again; the program's process joins the box's other namespaces
 * once the init is in the box root, takes spawn.h's steps (drop, no
 * capability, no_new_privs, the seccomp filter) and, instead of execve,
 * returns to the runtime, which runs the launcher's code: the step then
 * goes as a launched one (spawn.h). The zygote, its parent, gives the
 * init the program's wait status. Nothing the program does reaches the
 * zygote: it is in another pid namespace as another uid, holds none of
 * its fds, and shares no writable memory with it. */
#ifndef ZYGOTE_H
#define ZYGOTE_H

#include <stdint.h>
#include <sys/types.h>

#include "core/lang.h"
#include "sandbox/cgroup.h"

/* The fds of a request, in this order: the fixed ones, then the group's
 * cgroup.procs files (nprocs of them), where the zygote writes the
 * program's pid, then on cgroup v2 the group's directory: the program is
 * born in it (clone3 with CLONE_INTO_CGROUP), and moves nowhere. */
enum zy_fd {
	ZY_INIT,	/* pidfd of the box's init */
	ZY_IN, ZY_OUT, ZY_ERR,	/* the program's ends of the step's pipes */
	ZY_GO,		/* launched: its go (fd 4) */
	ZY_READY,	/* launched: its ready byte (fd 5) */
	ZY_REPORT,	/* a failed setup step (spawn_failure); end of file: it runs */
	ZY_STATUS,	/* the zygote writes the program's wait status (an int) */
	ZY_ROOTED,	/* one byte from the init once it is in the box root */
	ZY_FIXED,
	ZY_FDS_MAX = ZY_FIXED + CG_PROCS_MAX + 1
};

enum { ZY_MAGIC = 0x7a796731, ZY_ARGS_MAX = 4096 };

struct zy_request {
	uint32_t magic;
	int32_t nprocs;		/* cgroup.procs fds after the fixed ones */
	int32_t cgdir;		/* 1: the group's directory follows them */
	uint32_t uid, gid;
	int64_t time_ms, file_bytes, processes;	/* spawn.h's */
	uint32_t argc;		/* words in args, each NUL-terminated: the */
	char args[ZY_ARGS_MAX];	/* launcher and what follows it in the step's argv */
};

/* The zygote's side (zychild.c, exported by codex-zygote.so). */

/* Makes the zygote not dumpable and prepares the seccomp filter; fails
 * where a box cannot be joined by its init's pidfd (Linux < 5.8).
 * Returns 0, or -1 with errno. */
int zy_init(void);

/* Takes the next request from sock: 1; 0 at its end; -1 on an error; 2
 * for one it refuses (its fds closed at once). */
int zy_next(int sock);

/* Forks the program's process of the request taken: its pid in the
 * zygote, 0 in the program's process (its setup done), -1 when it cannot
 * (the init heard why). */
int zy_fork(void);

/* The request's words: how many, and each (NULL past the last). */
int zy_argc(void);
const char *zy_arg(int i);

/* sandbox-exec's side. */

/* Starts the zygote of language l when the table gives it one (`zygote`)
 * and it has `launch`: its runtime as `launch` starts it, with env, the
 * environment of its steps. A zygote that cannot start is logged; its
 * steps are launched as before. */
void zygote_start(const struct lang_table *t, const struct lang *l, char *const *env);

/* The zygote that runs a step of argv and envp (launched words of a
 * language with a live zygote, and its environment), or NULL. The
 * request's args are argv from *skip on. */
struct zygote;
struct zygote *zygote_for(char *const *argv, char *const *envp, size_t *skip);

/* Sends a request with its fds (ZY_FIXED + rq->nprocs + rq->cgdir).
 * Returns 0, or -1 with errno: the zygote is gone (it is not used again
 * by this process). */
int zygote_send(struct zygote *z, const struct zy_request *rq, const int *fds, int nfds);

/* Reaps a zygote that ended and starts it again (at most every 5 s
 * per language). Called from sandbox-exec's loop. */
void zygote_check(void);

/* Ends every zygote (their socket closed, then waited for). */
void zygote_stop_all(void);

#endif
