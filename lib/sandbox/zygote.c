/* sandbox-exec's side of the zygotes (zygote.h): start, find, send, and
 * start again when one ends. */
#include "sandbox/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

enum { MAX_ZYGOTES = 16, START_MS = 10000, RESTART_S = 5 };

struct zygote {
	const struct lang_table *t;
	const struct lang *l;
	char **env;		/* its steps' environment */
	size_t skip;		/* launch words before the launcher */
	pid_t pid;		/* 0: not running */
	int sock;		/* -1: not to be used */
	int ended;		/* it ran and ended: started again */
	time_t started;
};

static struct zygote zygotes[MAX_ZYGOTES];
static size_t nzygotes;

static char **copy_words(char *const *w)
{
	size_t n = lang_argc(w);
	char **c = xcalloc(n + 1, sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(w[i]);
	return c;
}

static void free_words(char **w)
{
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

/* codex-zygote.so beside the program (a checkout's bin/) or in the
 * installed lib dir; NULL when neither has it. */
static char *zygote_lib(void)
{
	static const char *const rel[] = {"codex-zygote.so", "../lib/codex/codex-zygote.so", NULL};
	char *dir = exe_dir();
	for (size_t i = 0; rel[i]; i++) {
		char *p = xasprintf("%s/%s", dir, rel[i]);
		if (access(p, R_OK) == 0) {
			free(dir);
			return p;
		}
		free(p);
	}
	free(dir);
	return NULL;
}

/* Waits for the zygote's first word on its stdout: "z" once it serves.
 * Anything else is why it could not (its stderr goes there too). */
static int await_serving(int fd, char *why, size_t whylen)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	int64_t until = now_mono_ms() + START_MS;
	why[0] = '\0';
	while (len + 1 < whylen) {
		int64_t left = until - now_mono_ms();
		int n = left > 0 ? poll(&pf, 1, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why + len, whylen - len, "%s", len ? "" : "no answer in 10 s");
			return -1;
		}
		ssize_t r = read(fd, why + len, whylen - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		why[len] = '\0';
		if (strcmp(why, "z") == 0)
			return 0;
	}
	if (len == 0)
		snprintf(why, whylen, "it ended at once");
	for (char *nl; (nl = strrchr(why, '\n')) && nl[1] == '\0';)
		*nl = '\0';
	return -1;
}

/* Forks and executes the zygote: fd 0 a pipe at its end, fds 1 and 2 the
 * pipe it answers on, fd 3 its end of the request socket. */
static int launch(struct zygote *z, const char *lib, char *why, size_t whylen)
{
	const struct lang *l = z->l;
	size_t n = z->skip;
	char **argv = xcalloc(n + 4, sizeof *argv);
	for (size_t i = 0; i < n; i++)
		argv[i] = l->launch[i];
	argv[n] = xasprintf("%s/%s", z->t->share_dir, l->zygote);
	argv[n + 1] = (char *)lib;
	argv[n + 2] = xasprintf("%s/%s", z->t->share_dir, l->launcher);
	int sv[2] = {-1, -1}, in[2] = {-1, -1}, out[2] = {-1, -1}, rc = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* A session of its own: a signal to sandbox-exec's process group
		 * (a terminal's ^C, a test's kill) is not for it or the programs it makes.
		 * It ends with sandbox-exec: at its socket's end, or killed. */
		if (setsid() < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			_exit(127);
		/* Its steps' signal dispositions, as execve gives a launched run. */
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 ||
		    dup2(sv[1], 3) < 0 || syscall(SYS_close_range, 4, ~0U, 0) != 0)
			_exit(127);
		execve(argv[0], argv, z->env);
		dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]); close(in[1]); close(out[1]); close(sv[1]);
	in[0] = in[1] = out[1] = sv[1] = -1;
	if (await_serving(out[0], why, whylen) != 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	z->pid = pid;
	z->sock = sv[0];
	z->started = time(NULL);
	rc = 0;
out:
	for (int *fd = (int[]){in[0], in[1], out[0], out[1], sv[1]}, i = 0; i < 5; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (rc != 0 && sv[0] >= 0 && z->sock != sv[0])
		close(sv[0]);
	free(argv[n]);
	free(argv[n + 2]);
	free(argv);
	return rc;
}

static void start(struct zygote *z)
{
	char why[512];
	char *lib = zygote_lib();
	z->started = time(NULL);
	if (lib == NULL) {
		log_warn("no %s zygote: codex-zygote.so not found beside the program; launched runs instead",
			 z->l->name);
		return;
	}
	if (launch(z, lib, why, sizeof why) != 0)
		log_warn("no %s zygote: %s; launched runs instead", z->l->name, why);
	else
		log_info("%s zygote %d started", z->l->name, (int)z->pid);
	free(lib);
}

void zygote_start(const struct lang_table *t, const struct lang *l, char *const *env)
{
	char sealed[PATH_MAX];
	size_t skip = 0;
	if (l->zygote == NULL || l->launch == NULL || nzygotes == MAX_ZYGOTES)
		return;
	snprintf(sealed, sizeof sealed, "/sandbox/%s", l->launcher);
	while (l->launch[skip] && strcmp(l->launch[skip], sealed) != 0)
		skip++;
	if (l->launch[skip] == NULL) {
		log_warn("no %s zygote: its launch words do not name %s", l->name, sealed);
		return;
	}
	struct zygote *z = &zygotes[nzygotes++];
	*z = (struct zygote){.t = t, .l = l, .env = copy_words(env), .skip = skip, .sock = -1};
	start(z);
}

static int same_words(char *const *a, char *const *b, size_t n)
{
	for (size_t i = 0; i < n; i++, a++, b++)
		if (*a == NULL || *b == NULL || strcmp(*a, *b) != 0)
			return 0;
	return 1;
}

struct zygote *zygote_for(char *const *argv, char *const *envp, size_t *skip)
{
	for (size_t i = 0; i < nzygotes; i++) {
		struct zygote *z = &zygotes[i];
		size_t ne = lang_argc(z->env);
		if (z->sock >= 0 && same_words(argv, z->l->launch, z->skip + 1) &&
		    lang_argc(envp) == ne && same_words(envp, z->env, ne)) {
			*skip = z->skip;
			return z;
		}
	}
	return NULL;
}

int zygote_send(struct zygote *z, const struct zy_request *rq, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(ZY_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t len = sizeof *rq;
	struct iovec iov = {.iov_base = (void *)rq, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	ssize_t n;
	/* Never waited for: a zygote that does not keep up (its socket full)
	 * is one that is gone, for this worker. */
	do
		n = sendmsg(z->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	int e = n < 0 ? errno : EIO;
	log_warn("the %s zygote did not take a step (%s): launched runs instead", z->l->name,
		 strerror(e));
	close(z->sock);
	z->sock = -1;
	errno = e;
	return -1;
}

void zygote_check(void)
{
	for (size_t i = 0; i < nzygotes; i++) {
		struct zygote *z = &zygotes[i];
		int status;
		if (z->pid > 0 && waitpid(z->pid, &status, WNOHANG) == z->pid) {
			log_warn("the %s zygote %d ended (status 0x%x)", z->l->name, (int)z->pid,
				 status);
			z->pid = 0;
			z->ended = 1;
			if (z->sock >= 0)
				close(z->sock);
			z->sock = -1;
		}
		/* One that could not start is not tried again (it said why). */
		if (z->ended && time(NULL) - z->started >= RESTART_S) {
			z->ended = 0;
			start(z);
		}
	}
}

void zygote_stop_all(void)
{
	for (size_t i = 0; i < nzygotes; i++) {
		struct zygote *z = &zygotes[i];
		if (z->sock >= 0)
			close(z->sock);	/* its end of file: it exits */
		z->sock = -1;
		if (z->pid > 0)
			waitpid(z->pid, NULL, 0);
		z->pid = 0;
		free_words(z->env);
		z->env = NULL;
	}
	nzygotes = 0;
}
