/* Unit tests of lib/sandbox/policy.c: the filter built once and installed
 * by each child behaves as the filter built in the child itself. The
 * suites (sandbox-exec.bats, hostile.bats) try the whole list in boxes. */
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/policy.h"
#include "unit.h"

/* In a forked child: the filter, then calls it refuses and calls it lets
 * through. The child's exit status is the number of the first check that
 * went wrong, 0 when none did. */
static int child_checks(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || policy_load() != 0)
		return 1;
	errno = 0;
	if (unshare(CLONE_NEWUTS) == 0 || errno != EPERM)
		return 2;
	errno = 0;
	if (syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) == 0 || errno != EPERM)
		return 3;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) == 0 || errno != ENOSYS)
		return 4;
	errno = 0;
	if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EAFNOSUPPORT)
		return 5;
	errno = 0;
	if (syscall(SYS_prlimit64, 1, 7 /* RLIMIT_NOFILE */, NULL, NULL) == 0 || errno != EPERM)
		return 6;
	if (getpid() <= 0)
		return 7;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 8;
	close(fd);
	return 0;
}

static int run_child(void)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_checks());
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void test_built_in_the_child(void)
{
	CHECK_INT(run_child(), 0);
}

static void test_prepared_once(void)
{
	CHECK_INT(policy_prepare(), 0);
	CHECK_INT(policy_prepare(), 0);	/* a second call keeps the first */
	CHECK_INT(run_child(), 0);
	CHECK_INT(run_child(), 0);
}

int main(void)
{
	UNIT_RUN(test_built_in_the_child);
	UNIT_RUN(test_prepared_once);
	return unit_finish();
}
