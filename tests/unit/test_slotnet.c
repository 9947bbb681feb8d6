/* Unit tests of lib/sandbox/slotnet.c: a slot's network namespace is made
 * and joined, and slotnet_clean() finds any socket left in it: a Unix
 * socket (an fd in flight is held by one), a listening TCP socket, a
 * bound UDP socket over IPv6; slotnet_clean_of() finds one from outside. Needs root (namespaces); without it, says
 * so and checks nothing. */
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/slotnet.h"
#include "unit.h"

/* In a child that joins the namespace fd: which sockets it finds, as bits
 * (1: clean at first; 2: a Unix socket seen; 4: clean once closed; 8: a
 * TCP listener seen; 16: a UDP6 socket seen; 32: clean at the end). */
static int probe(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		int bits = 0, s;
		struct sockaddr_in a = {.sin_family = AF_INET};
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
		if (setns(fd, CLONE_NEWNET) != 0)
			_exit(255);
		bits |= slotnet_clean() == 1 ? 1 : 0;
		s = socket(AF_UNIX, SOCK_DGRAM, 0);
		bits |= slotnet_clean() == 0 ? 2 : 0;
		close(s);
		bits |= slotnet_clean() == 1 ? 4 : 0;
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 1) == 0)
			bits |= slotnet_clean() == 0 ? 8 : 0;
		close(s);
		s = socket(AF_INET6, SOCK_DGRAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a6, sizeof a6) == 0)
			bits |= s < 0 || slotnet_clean() == 0 ? 16 : 0;
		if (s >= 0)
			close(s);
		bits |= slotnet_clean() == 1 ? 32 : 0;
		_exit(bits);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_made_and_checked(void)
{
	int fd = slotnet_make();
	CHECK(fd >= 0);
	CHECK_INT(probe(fd), 63);
	/* The namespace lives on with its fd: a second child finds it clean. */
	CHECK_INT(probe(fd) & 1, 1);
	close(fd);
}

/* Seen from outside, by the pid of a process in it (the worker's look at
 * a launched program's namespace): a Unix socket in it is seen. */
static void test_seen_from_outside(void)
{
	int fd = slotnet_make(), ready[2], done[2];
	CHECK(fd >= 0 && pipe(ready) == 0 && pipe(done) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (setns(fd, CLONE_NEWNET) != 0)
			_exit(1);
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (write(ready[1], "s", 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		close(s);
		if (write(ready[1], "c", 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK_INT(slotnet_clean_of(pid), 0);
	CHECK(write(done[1], "n", 1) == 1);
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK_INT(slotnet_clean_of(pid), 1);
	CHECK(write(done[1], "n", 1) == 1);
	waitpid(pid, NULL, 0);
	close(fd);
}

static void test_host_not_clean(void)
{
	/* The test's own namespace (the host's) has sockets of its own. */
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT(slotnet_clean(), 0);
	close(s);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_slotnet: needs root, nothing checked\n");
		return unit_finish();
	}
	UNIT_RUN(test_made_and_checked);
	UNIT_RUN(test_seen_from_outside);
	UNIT_RUN(test_host_not_clean);
	return unit_finish();
}
