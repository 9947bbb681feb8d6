#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/policy.h"
#include "sandbox/slotnet.h"

/* Where a failure is reported: the caller's fd until it is fd 3. */
static int report_fd = -1;

static void __attribute__((noreturn)) fail(const char *step)
{
	struct spawn_failure f = {errno, ""};
	snprintf(f.step, sizeof f.step, "%s", step);
	if (write_all(report_fd, &f, sizeof f) != 0)
		_exit(126);
	_exit(127);
}

static int set_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};
	return setrlimit(resource, &rl);
}

static int set_limits(const struct spawn *s)
{
	rlim_t cpu = (rlim_t)(s->time_ms / 1000 + 1);
	if (set_limit(RLIMIT_CPU, cpu, cpu + 1) != 0 ||
	    set_limit(RLIMIT_FSIZE, (rlim_t)s->file_bytes, (rlim_t)s->file_bytes) != 0 ||
	    set_limit(RLIMIT_CORE, 0, 0) != 0 || set_limit(RLIMIT_MEMLOCK, 0, 0) != 0 ||
	    set_limit(RLIMIT_MSGQUEUE, 0, 0) != 0 || set_limit(RLIMIT_NOFILE, 1024, 1024) != 0)
		return -1;
	if (s->processes > 0)
		return set_limit(RLIMIT_NPROC, (rlim_t)s->processes, (rlim_t)s->processes);
	return 0;
}

static int drop_privileges(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	for (int cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; cap++)
		;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -1;
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return -1;
	memset(data, 0, sizeof data);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int oom_first(void)
{
	/* Our /proc files are root's while we are not dumpable (the agent's
	 * setting, inherited); exec makes the program dumpable anyway. */
	if (prctl(PR_SET_DUMPABLE, 1) != 0)
		return -1;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int rc = fd < 0 || write_all(fd, "1000", 4) != 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The hold pipe, as fd 4: one byte and the step starts; end of file and
 * it never will. */
static void hold(void)
{
	char go;
	ssize_t n;
	do
		n = read(4, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(0);
}

void spawn_setup(const struct spawn *s)
{
	sigset_t none;
	int held = -1, ready = -1, launched = s->ready > 0;
	report_fd = s->report;
	/* Above fd 5 before fds 0 to 3 are overwritten, then fds 4 and 5. */
	if ((s->hold > 0 && (held = fcntl(s->hold, F_DUPFD_CLOEXEC, 6)) < 0) ||
	    (launched && (ready = fcntl(s->ready, F_DUPFD_CLOEXEC, 6)) < 0))
		fail("dup2");
	if (dup2(s->in, 0) < 0 || dup2(s->out, 1) < 0 || dup2(s->err, 2) < 0 ||
	    dup2(s->report, 3) < 0 || (held >= 0 && dup2(held, 4) < 0) ||
	    (ready >= 0 && dup2(ready, 5) < 0))
		fail("dup2");
	report_fd = 3;
	/* Launched, fds 4 and 5 are the program's (dup2 left them open
	 * across execve); else fd 4 is ours alone. */
	if (syscall(SYS_close_range, ready >= 0 ? 6 : held >= 0 ? 5 : 4, ~0U, 0) != 0 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) != 0 ||
	    (held >= 0 && !launched && fcntl(4, F_SETFD, FD_CLOEXEC) != 0))
		fail("close_range");
	if (setsid() < 0)
		fail("setsid");
	/* The supervisor ignores SIGPIPE (and the ns worker SIGINT and
	 * SIGTERM); ignoring survives execve. SIGKILL and SIGSTOP fail. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && signal(sig, SIG_DFL) == SIG_ERR &&
		    errno != EINVAL)
			fail("signal");
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		fail("sigprocmask");
	if (s->oom_first && oom_first() != 0)
		fail("oom_score_adj");
	if (set_limits(s) != 0)
		fail("setrlimit");
	if (held >= 0 && !launched)
		hold();
	if (s->net_check && slotnet_clean() != 1 && unshare(CLONE_NEWNET) != 0)
		fail("unshare net");
	if (s->drop && drop_privileges(s->uid, s->gid) != 0)
		fail("drop privileges");
	if (s->dumpable && prctl(PR_SET_DUMPABLE, 1) != 0)
		fail("dumpable");
	if (chdir("/sandbox/code") != 0)
		fail("chdir");
	umask(022);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("no_new_privs");
	if (policy_load() != 0)
		fail("seccomp");
}

void spawn_exec(const struct spawn *s)
{
	spawn_setup(s);
	execve(s->argv[0], s->argv, s->envp);
	fail("execve");
}

void spawn_fail(int fd, const char *step)
{
	report_fd = fd;
	fail(step);
}

int spawn_failed(int fd, struct spawn_failure *f)
{
	ssize_t n;
	do
		n = read(fd, f, sizeof *f);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof *f) {
		f->step[sizeof f->step - 1] = '\0';
		return 1;
	}
	if (n != 0) {	/* a short report: the child died writing it */
		*f = (struct spawn_failure){n < 0 ? errno : EIO, "report"};
		return 1;
	}
	return 0;
}

void spawn_describe(const struct spawn_failure *f, const char *program, char *out,
		    size_t outlen)
{
	if (strcmp(f->step, "execve") == 0)
		snprintf(out, outlen, "cannot execute %s: %s", program, strerror(f->err));
	else
		snprintf(out, outlen, "sandbox setup: %s: %s", f->step, strerror(f->err));
}
