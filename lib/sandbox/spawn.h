/* spawn: the last steps of every sandboxed program, one contract for both
 * backends (the ns box's init, codex-agent in a pool container). In this
 * order, each call checked:
 *
 *   1. the step's pipes become fds 0, 1 and 2, the report pipe fd 3
 *      (close-on-exec); every other fd is closed;
 *   2. a session of its own; default signal dispositions, none blocked;
 *   3. with oom_first: dumpable again and oom_score_adj 1000, so that the
 *      program, not its supervisor, is the OOM killer's first pick;
 *   4. the step's rlimits: CPU (the time limit + 1 s, the backstop of the
 *      cgroup's clock), FSIZE, CORE, MEMLOCK and MSGQUEUE 0, NOFILE 1024,
 *      NPROC when given;
 *      with hold: here it waits for one byte on the hold pipe, which the
 *      supervisor writes when the step starts (a box made ahead); end of
 *      file means the step will not run, and it exits 0. It waits still
 *      root, so it counts against no limit of the slot's uid. Launched
 *      (with ready), it does not wait: the hold pipe stays open across
 *      execve as fd 4, the ready pipe as fd 5, and the program itself (a
 *      launcher: its runtime started ahead of the step) writes a byte on
 *      fd 5 once started and reads its go from fd 4 (its supervisor looks
 *      at the network namespace then). With net_check, it then looks at
 *      its network namespace (a slot's, kept between steps: slotnet.h),
 *      and if any socket is left in it, takes a new one of its own;
 *   5. with drop: the slot's gid and uid, no supplementary group, no
 *      capability left (bounding set, ambient, permitted, effective);
 *      with dumpable, dumpable again (a uid change cleared it): what
 *      execve does for a program, for one that is not executed (zygote.h);
 *   6. the working directory /sandbox/code, umask 022;
 *   7. no_new_privs, then the seccomp filter (policy.h), last;
 *   8. execve.
 *
 * A step that fails writes a struct spawn_failure to fd 3 and exits 127:
 * the program never ran, and its supervisor says which step failed. */
#ifndef SPAWN_H
#define SPAWN_H

#include <stdint.h>
#include <sys/types.h>

struct spawn {
	int in, out, err;		/* the step's pipe ends for fds 0, 1, 2 */
	int report;			/* the write end of a close-on-exec pipe */
	int hold;			/* the read end of the hold pipe; 0: none */
	int ready;			/* launched: the write end of the ready pipe;
					 * 0: not launched */
	int net_check;			/* after the hold: slotnet_clean() or a new one */
	int64_t time_ms;		/* CPU rlimit (+ 1 s); a launched program's
					 * includes its start */
	int64_t file_bytes;		/* the largest file it may write */
	int64_t processes;		/* RLIMIT_NPROC; 0: not set here */
	int oom_first;
	int drop;			/* 1: become uid and gid, with no capability */
	int dumpable;			/* dumpable after the drop (no execve follows) */
	uid_t uid;
	gid_t gid;
	char *const *argv, *const *envp;
};

/* Which step failed (its name: "execve", "setrlimit", ...) and its errno. */
struct spawn_failure {
	int err;
	char step[24];
};

/* Runs the steps above in the calling (forked) process. Never returns. */
void spawn_exec(const struct spawn *s) __attribute__((noreturn));

/* Steps 1 to 7: returns once the filter is loaded, with fd 3 the report
 * pipe still open (the caller closes it once it runs the program: a
 * zygote's child, zygote.h). A failed step exits as above. */
void spawn_setup(const struct spawn *s);

/* Reports a failed step (its name, errno) on fd and exits 127: for the
 * setup a caller does before spawn_setup(). */
void spawn_fail(int fd, const char *step) __attribute__((noreturn));

/* Reads the read end of the report pipe once the child has been started
 * (the caller closed its copy of the write end). Returns 1 with *f when a
 * step failed, 0 when the program was executed (end of file). */
int spawn_failed(int fd, struct spawn_failure *f);

/* The failure in words: "cannot execute PROGRAM: why" for execve, else
 * "sandbox setup: STEP: why". */
void spawn_describe(const struct spawn_failure *f, const char *program, char *out,
		    size_t outlen);

#endif
