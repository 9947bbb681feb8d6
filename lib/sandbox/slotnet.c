#include "sandbox/slotnet.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int slotnet_make(void)
{
	char path[64], c;
	int ready[2], fd = -1, saved = 0;
	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	/* A child born in the new namespace, held until we have its fd. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0) {
		close(ready[0]);
		if (write(ready[1], "n", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (pid < 0) {
		saved = errno;
	} else {
		if (read(ready[0], &c, 1) == 1) {
			snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		saved = fd < 0 ? (errno ? errno : EIO) : 0;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(ready[0]);
	errno = saved;
	return fd;
}

/* Reads /proc/<pid>/net/NAME (pid 0: self) into buf (NUL-terminated): its
 * length, or -1. A file the kernel lacks (no IPv6) reads as empty. */
static ssize_t read_net(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	if (pid > 0)
		snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, name);
	else
		snprintf(path, sizeof path, "/proc/self/net/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	if (fd < 0)
		return -1;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Whether every count of the namespace's own in a sockstat file is 0:
 * "used", "inuse", "orphan" and "tw" (alloc and mem are the host's). */
static int zero_counts(const char *text)
{
	static const char *const keys[] = {"used ", "inuse ", "orphan ", "tw "};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		for (const char *p = strstr(text, keys[i]); p; p = strstr(p + 1, keys[i]))
			if (p[strlen(keys[i])] != '0' || !strchr(" \n", p[strlen(keys[i]) + 1]))
				return 0;
	return 1;
}

int slotnet_clean(void)
{
	return slotnet_clean_of(0);
}

int slotnet_clean_of(pid_t pid)
{
	char buf[1024];
	/* The Unix table first: an fd in flight is held by a Unix socket. The
	 * TCP and UDP tables are not read (they walk the whole host's hash:
	 * milliseconds); their counts in sockstat say as much. */
	ssize_t n = read_net(pid, "unix", buf, sizeof buf);
	if (n < 0)
		return -1;
	char *nl = strchr(buf, '\n');
	if (n > 0 && (nl == NULL || nl[1] != '\0'))
		return 0;
	if (read_net(pid, "sockstat", buf, sizeof buf) <= 0)
		return -1;
	if (!zero_counts(buf))
		return 0;
	if (read_net(pid, "sockstat6", buf, sizeof buf) < 0)
		return -1;
	return zero_counts(buf);
}
