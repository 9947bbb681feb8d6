#include "core/sigfd.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

int sigfd_open(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die_sys(EXIT_TEMPORARY, "signalfd");
	return fd;
}

int sigfd_read(int fd)
{
	struct signalfd_siginfo si;
	int n = 0;
	for (; read(fd, &si, sizeof si) == (ssize_t)sizeof si; n++)
		log_info("signal %s", strsignal((int)si.ssi_signo));
	return n;
}

void sigfd_unblock(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
