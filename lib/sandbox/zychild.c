/* The zygote's own part (zygote.h), built as codex-zygote.so and called
 * from share/harness/zygote.py through ctypes (PyDLL: the interpreter's
 * lock stays held; the zygote has one thread). zy_next() takes a request,
 * giving meanwhile each init whose program ended its wait status;
 * zy_fork() forks the program's process into the box: there it returns
 * 0, and the runtime runs the launcher's code. */
#include "sandbox/zygote.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/policy.h"
#include "sandbox/spawn.h"

#define EXPORT __attribute__((visibility("default")))

static struct zy_request rq;
static int fds[ZY_FDS_MAX], nfds;
static const char *args[ZY_ARGS_MAX / 2 + 1];
static int argc;

/* The programs forked and not yet reaped: each one's pidfd, and the pipe
 * where its init awaits its wait status. */
struct kid {
	pid_t pid;
	int pidfd, status;
};
enum { ZY_KIDS_MAX = 4096 };	/* above sandbox-exec's 1024 workers, a box ahead each */
static struct kid kids[ZY_KIDS_MAX];
static int nkids;
static int home = -1;	/* a pidfd of the zygote: its own pid namespace */

static void close_request(void)
{
	for (int i = 0; i < nfds && i < ZY_FDS_MAX; i++)
		close(fds[i]);
	nfds = 0;
}

/* Every namespace a program joins (it is born in the box's pid namespace). */
enum { BOX_NS = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP };

EXPORT int zy_init(void)
{
	/* Not dumpable: no process of another uid reads or traces it. It
	 * can join a box: by its init's pidfd (Linux 5.8), with the
	 * privileges that takes (a mount namespace: CAP_SYS_ADMIN and
	 * CAP_SYS_CHROOT), as joining its own namespaces shows; and it can
	 * join its own pid namespace again, after each fork into a box's. */
	home = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (home < 0 || setns(home, BOX_NS | CLONE_NEWPID) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0) != 0 || policy_prepare() != 0)
		return -1;
	return 0;
}

/* The words of the request, each NUL-terminated within args. */
static int parse_args(void)
{
	size_t at = 0;
	if (rq.argc == 0 || rq.argc > ZY_ARGS_MAX / 2)
		return -1;
	for (argc = 0; argc < (int)rq.argc; argc++) {
		const char *end = memchr(rq.args + at, '\0', ZY_ARGS_MAX - at);
		if (end == NULL)
			return -1;
		args[argc] = rq.args + at;
		at = (size_t)(end - rq.args) + 1;
	}
	args[argc] = NULL;
	return 0;
}

/* Reaps the program of kids[i], if it ended, and gives its init its
 * wait status (an init already gone misses nothing: the write fails with
 * EPIPE, SIGPIPE being ignored by the runtime). */
static void reap(int i)
{
	int status;
	pid_t w;
	do
		w = waitpid(kids[i].pid, &status, WNOHANG);
	while (w < 0 && errno == EINTR);
	if (w == 0)
		return;
	if (w == kids[i].pid)
		(void)write_all(kids[i].status, &status, sizeof status);
	close(kids[i].pidfd);
	close(kids[i].status);
	kids[i] = kids[--nkids];
}

/* Waits until sock has a request, reaping the programs that end
 * meanwhile. Returns 0, or -1 on an error. */
static int await_request(int sock)
{
	static struct pollfd pf[ZY_KIDS_MAX + 1];
	for (;;) {
		pf[0] = (struct pollfd){.fd = sock, .events = POLLIN};
		for (int i = 0; i < nkids; i++)
			pf[i + 1] = (struct pollfd){.fd = kids[i].pidfd, .events = POLLIN};
		int n = nkids, ready = poll(pf, (nfds_t)n + 1, -1);
		if (ready < 0 && errno != EINTR)
			return -1;
		for (int i = n - 1; ready > 0 && i >= 0; i--)
			if (pf[i + 1].revents)
				reap(i);
		if (ready > 0 && pf[0].revents)
			return 0;
	}
}

/* Takes the next request: 1, or 0 at the socket's end (sandbox-exec is
 * done), -1 on an error, 2 for a request it cannot read (its fds closed:
 * that step's init hears of no program, and says so). Meanwhile it gives
 * each init whose program ends its wait status. */
EXPORT int zy_next(int sock)
{
	union {
		char buf[CMSG_SPACE(ZY_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = &rq, .iov_len = sizeof rq};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof u.buf};
	ssize_t n;
	close_request();
	if (await_request(sock) != 0)
		return -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), fd;
			for (int i = 0; i < k; i++) {
				memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
				if (nfds < ZY_FDS_MAX)
					fds[nfds] = fd;
				else
					close(fd);	/* more than any request has */
				nfds++;
			}
		}
	if (n != (ssize_t)sizeof rq || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    rq.magic != ZY_MAGIC || rq.nprocs < 1 || rq.nprocs > CG_PROCS_MAX ||
	    (rq.cgdir != 0 && rq.cgdir != 1) || nfds != ZY_FIXED + rq.nprocs + rq.cgdir ||
	    parse_args() != 0) {
		close_request();
		return 2;
	}
	return 1;
}

/* The program's process, in the box's pid namespace: once the zygote has
 * put it in the step's group and the init is in the box root, it joins
 * the init's other namespaces and takes spawn.h's steps, keeping the
 * runtime's own signal dispositions (execve would have given them). It
 * dies with the zygote, its parent: the init then hears of no status. */
static void program(int attach)
{
	int report = fds[ZY_REPORT];
	struct sigaction runtime[NSIG];
	char c;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		spawn_fail(report, "pdeathsig");
	if (read(attach, &c, 1) != 1)
		_exit(127);	/* the zygote failed, and said why */
	close(attach);
	if (read(fds[ZY_ROOTED], &c, 1) != 1)
		spawn_fail(report, "await the box root");
	if (setns(fds[ZY_INIT], BOX_NS) != 0)
		spawn_fail(report, "setns");
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, NULL, &runtime[sig]);
	spawn_setup(&(struct spawn){
		.in = fds[ZY_IN], .out = fds[ZY_OUT], .err = fds[ZY_ERR], .report = report,
		.hold = fds[ZY_GO], .ready = fds[ZY_READY], .time_ms = rq.time_ms,
		.file_bytes = rq.file_bytes, .processes = rq.processes, .drop = 1, .dumpable = 1,
		.uid = rq.uid, .gid = rq.gid});
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &runtime[sig], NULL);
	close(3);	/* the report pipe: the program runs */
	nfds = 0;	/* the request's fds are gone (spawn_setup closed them) */
}

/* On cgroup v2, a fork born in the group of directory fd (clone3 with
 * CLONE_INTO_CGROUP): no task moves, so nothing waits on the kernel's
 * threadgroup lock. The C library's record of the thread id is set in the
 * child as its fork() sets it (found with PR_GET_TID_ADDRESS), since the
 * runtime goes on in that process. Returns the pid (0 in the child), or
 * -1 where the kernel does not do it (then fork and move). */
static pid_t fork_into(int fd, int *pidfd)
{
	int *tid = NULL;
	if (prctl(PR_GET_TID_ADDRESS, &tid, 0, 0, 0) != 0 || tid == NULL)
		return -1;
	struct clone_args a = {
		.flags = CLONE_INTO_CGROUP | CLONE_PIDFD | CLONE_CHILD_SETTID |
			 CLONE_CHILD_CLEARTID,
		.pidfd = (uint64_t)(uintptr_t)pidfd, .child_tid = (uint64_t)(uintptr_t)tid,
		.exit_signal = SIGCHLD, .cgroup = (uint64_t)fd};
	return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* A request the zygote cannot serve: the init hears why, as from a
 * program's failed setup step, and the request's fds are closed. */
static void refuse(const char *step)
{
	struct spawn_failure f = {errno, ""};
	snprintf(f.step, sizeof f.step, "%s", step);
	(void)write_all(fds[ZY_REPORT], &f, sizeof f);
	close_request();
}

/* Forks the program's process into the init's pid namespace (the
 * zygote's children go there until it joins its own again) and the
 * step's group: born there, or moved. Returns its pid with *pidfd, or -1
 * (the init heard why). Exits the zygote when it cannot join its own pid
 * namespace again: a later fork would go into a box not its own. */
static pid_t fork_program(int *pidfd, int *attach)
{
	int born_in = 0;
	pid_t pid;
	char val[16];
	if (pipe2(attach, O_CLOEXEC) != 0) {
		refuse("pipe");
		return -1;
	}
	if (setns(fds[ZY_INIT], CLONE_NEWPID) != 0) {
		refuse("setns pid");
		close(attach[0]); close(attach[1]);
		return -1;
	}
	pid = rq.cgdir ? fork_into(fds[ZY_FIXED + rq.nprocs], pidfd) : -1;
	born_in = pid >= 0;
	if (pid < 0 && (pid = fork()) > 0)
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pid == 0)
		return 0;
	if (setns(home, CLONE_NEWPID) != 0)
		_exit(111);
	if (pid > 0 && *pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (pid < 0) {
		refuse("fork");
		close(attach[0]); close(attach[1]);
		return -1;
	}
	int len = snprintf(val, sizeof val, "%d", (int)pid);
	for (int i = 0; i < rq.nprocs && !born_in; i++)
		if (write(fds[ZY_FIXED + i], val, (size_t)len) != len) {
			refuse("join the step's cgroup");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(*pidfd); close(attach[0]); close(attach[1]);
			return -1;
		}
	return pid;
}

/* Forks the program's process of the request taken. Returns its pid (or
 * -1) in the zygote, which keeps only the step's status pipe; 0 in the
 * program's process, set up to run the launcher's code. */
EXPORT int zy_fork(void)
{
	int pidfd = -1, attach[2];
	if (nkids == ZY_KIDS_MAX) {
		errno = EAGAIN;
		refuse("fork");
		return -1;
	}
	pid_t pid = fork_program(&pidfd, attach);
	if (pid == 0) {
		close(attach[1]);
		program(attach[0]);
		return 0;
	}
	if (pid < 0)
		return -1;
	close(attach[0]);
	(void)write_all(attach[1], "a", 1);
	close(attach[1]);
	kids[nkids++] = (struct kid){pid, pidfd, fds[ZY_STATUS]};
	fds[ZY_STATUS] = -1;
	close_request();
	return (int)pid;
}

EXPORT int zy_argc(void)
{
	return argc;
}

EXPORT const char *zy_arg(int i)
{
	return i >= 0 && i < argc ? args[i] : NULL;
}
