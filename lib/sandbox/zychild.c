/* The zygote's own part (zygote.h), built as codex-zygote.so and called
 * from share/harness/zygote.py through ctypes (PyDLL: the interpreter's
 * lock stays held; the zygote has one thread). zy_next() takes a request,
 * zy_fork() forks the waiter, which makes the program's process: there
 * zy_fork() returns 0, and the runtime runs the launcher's code. */
#include "sandbox/zygote.h"

#include <errno.h>
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

static void close_request(void)
{
	for (int i = 0; i < nfds && i < ZY_FDS_MAX; i++)
		close(fds[i]);
	nfds = 0;
}

/* Every namespace a program joins (the pid namespace is its waiter's). */
enum { BOX_NS = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP };

EXPORT int zy_init(void)
{
	/* Not dumpable: no process of another uid reads or traces it. It
	 * can join a box: by its init's pidfd (Linux 5.8), with the
	 * privileges that takes (a mount namespace: CAP_SYS_ADMIN and
	 * CAP_SYS_CHROOT), as joining its own namespaces shows. */
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int rc = fd < 0 || setns(fd, BOX_NS | CLONE_NEWPID) != 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	if (rc != 0 || prctl(PR_SET_DUMPABLE, 0) != 0 || policy_prepare() != 0)
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

/* Takes the next request: 1, or 0 at the socket's end (sandbox-exec is
 * done), -1 on an error, 2 for a request it cannot read (its fds closed:
 * that step's init hears of no program, and says so). */
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

/* The program's process, in the box's pid namespace: once its waiter has
 * put it in the step's group and the init is in the box root, it joins
 * the init's other namespaces and takes spawn.h's steps, keeping the
 * runtime's own signal dispositions (execve would have given them). */
static void program(int attach)
{
	int report = fds[ZY_REPORT];
	struct sigaction runtime[NSIG];
	char c;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		spawn_fail(report, "pdeathsig");
	if (read(attach, &c, 1) != 1)
		_exit(127);	/* its waiter failed, and said why */
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
static pid_t fork_into(int fd)
{
	int *tid = NULL;
	if (prctl(PR_GET_TID_ADDRESS, &tid, 0, 0, 0) != 0 || tid == NULL)
		return -1;
	struct clone_args a = {
		.flags = CLONE_INTO_CGROUP | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID,
		.child_tid = (uint64_t)(uintptr_t)tid, .exit_signal = SIGCHLD,
		.cgroup = (uint64_t)fd};
	return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* The waiter: root, in sandbox-exec's pid namespace, so the program
 * cannot see it. Forks the program into the init's pid namespace and the
 * step's group (born there, or moved), and gives the init its wait
 * status. Returns only in the program's process. */
static void waiter(void)
{
	int report = fds[ZY_REPORT], attach[2];
	char val[16];
	if (pipe2(attach, O_CLOEXEC) != 0)
		spawn_fail(report, "pipe");
	if (setns(fds[ZY_INIT], CLONE_NEWPID) != 0)
		spawn_fail(report, "setns pid");
	pid_t pid = rq.cgdir ? fork_into(fds[ZY_FIXED + rq.nprocs]) : -1;
	int born_in = pid >= 0;
	if (pid < 0)
		pid = fork();
	if (pid < 0)
		spawn_fail(report, "fork");
	if (pid == 0) {
		close(attach[1]);
		program(attach[0]);
		return;
	}
	close(attach[0]);
	int len = snprintf(val, sizeof val, "%d", (int)pid);
	for (int i = 0; i < rq.nprocs && !born_in; i++)
		if (write(fds[ZY_FIXED + i], val, (size_t)len) != len) {
			int e = errno;
			kill(pid, SIGKILL);
			errno = e;
			spawn_fail(report, "join the step's cgroup");
		}
	if (write_all(attach[1], "a", 1) != 0)
		spawn_fail(report, "pipe");
	for (int i = 0; i < nfds; i++)
		if (i != ZY_STATUS)
			close(fds[i]);
	close(attach[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	(void)write_all(fds[ZY_STATUS], &status, sizeof status);
	_exit(0);
}

/* Forks the waiter. Returns its pid (or -1) in the zygote, which has
 * closed the request's fds; 0 in the program's process. */
EXPORT int zy_fork(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		waiter();
		return 0;
	}
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
