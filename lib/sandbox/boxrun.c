/* box_run(): one step in the box. The worker clones a tiny init into fresh
 * pid/net/ipc/uts/mount namespaces; the init waits until the worker has put
 * it into the step's cgroup, enters a cgroup namespace, mounts /proc,
 * pivots into the box root, forks the program and reaps. The program's
 * last steps (the slot's uid, no capability, no_new_privs, the seccomp
 * filter, execve) are spawn.h's, the same as in a docker pool container. */
#include "sandbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "sandbox/pipeio.h"
#include "sandbox/spawn.h"

enum { CPU_POLL_MS = 25, KILL_GRACE_MS = 2000 };

/* Where the init got to, reported back over the status pipe. */
enum init_stage { STAGE_RAN = 0, STAGE_SETUP = 1, STAGE_EXEC = 2 };

struct init_report {
	int stage;
	int err;		/* errno of the failed stage */
	int status;		/* wait status of the program */
	char what[64];		/* the failed setup step */
	struct spawn_failure spawn;	/* STAGE_EXEC: the program's own last steps */
	int64_t root_us, exec_us;	/* monotonic: in the root, program executed */
};

struct step_fds {
	int in[2], out[2], err[2], go[2], st[2];
};

static void report_exit(int fd, struct init_report *rep, const char *what)
{
	rep->stage = STAGE_SETUP;
	rep->err = errno;
	snprintf(rep->what, sizeof rep->what, "%s", what);
	if (write_all(fd, rep, sizeof *rep) != 0)
		_exit(2);
	_exit(1);
}

static void enter_root(const struct box *b, int st, struct init_report *rep)
{
	char proc[PATH_MAX + 8];
	if (unshare(CLONE_NEWCGROUP) != 0)
		report_exit(st, rep, "unshare cgroup");
	if (sethostname("sandbox", 7) != 0)
		report_exit(st, rep, "sethostname");
	if (path_fmt(proc, sizeof proc, "%s/proc", b->root) != 0)
		report_exit(st, rep, "the path of /proc in the box");
	/* hidepid=2: the program does not even see the init (root) in /proc. */
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0)
		report_exit(st, rep, "mount proc");
	if (chdir(b->root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		report_exit(st, rep, "pivot_root");
}

/* pid 1 of the box. Never returns. */
static void __attribute__((noreturn))
box_init(const struct box *b, const struct box_step *s, struct step_fds *p)
{
	struct init_report rep = {0};
	char go;
	int ex[2];
	close(p->in[1]); close(p->out[0]); close(p->err[0]); close(p->go[1]); close(p->st[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The worker writes once we are in the step's cgroup; EOF means it died. */
	if (read(p->go[0], &go, 1) != 1)
		_exit(1);
	close(p->go[0]);
	enter_root(b, p->st[1], &rep);
	rep.root_us = now_mono_us();
	if (pipe2(ex, O_CLOEXEC) != 0)
		report_exit(p->st[1], &rep, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		report_exit(p->st[1], &rep, "fork");
	if (pid == 0)
		spawn_exec(&(struct spawn){
			.in = p->in[0], .out = p->out[1], .err = p->err[1], .report = ex[1],
			.time_ms = s->limits->time_ms, .file_bytes = s->limits->file_bytes,
			.processes = s->limits->processes, .drop = 1, .uid = b->uid, .gid = b->gid,
			.argv = s->argv, .envp = s->envp});
	close(p->in[0]); close(p->out[1]); close(p->err[1]); close(ex[1]);
	if (spawn_failed(ex[0], &rep.spawn))
		rep.stage = STAGE_EXEC;
	rep.exec_us = now_mono_us();
	close(ex[0]);
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		if (w == pid) {
			rep.status = status;
			kill(-1, SIGKILL);	/* whatever it left behind */
		}
	}
	if (write_all(p->st[1], &rep, sizeof rep) != 0)
		_exit(2);
	_exit(0);
}

/* Supervision state of a running step. */
struct watch {
	struct box_result *r;
	const struct sbx_limits *lim;
	const struct box_step *s;
	pid_t init;
	int out, err, st, in;
	struct sbuf out_buf, err_buf;	/* handed to r at the end */
	size_t in_off;
	struct init_report rep;
	size_t rep_len;
	int killed;
	int64_t start, deadline, kill_at;
	int64_t sampled_kb;	/* the largest memory figure seen (cg_sys.sampled_peak) */
};

static void kill_box(struct watch *w, const char *limit)
{
	if (w->killed)
		return;
	w->killed = 1;
	w->kill_at = now_mono_ms();
	if (w->r->limit == NULL)
		w->r->limit = limit;
	kill(w->init, SIGKILL);	/* pid 1 gone: the kernel ends the whole namespace */
}

static void read_report(struct watch *w)
{
	ssize_t n = read(w->st, (char *)&w->rep + w->rep_len, sizeof w->rep - w->rep_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(w->st);
		w->st = -1;
		return;
	}
	w->rep_len += (size_t)n;
}

/* On every event and at least every CPU_POLL_MS: the wall and CPU limits,
 * and a memory sample where the kernel keeps no peak. */
static void tick(struct watch *w, const struct cg *g)
{
	int64_t now = now_mono_ms();
	if (now >= w->deadline)
		kill_box(w, "wall");
	else if (cg_cpu_us(g) > w->lim->time_ms * 1000)
		kill_box(w, "time");
	if (g->sys->sampled_peak) {
		int64_t kb = cg_memory_kb(g);
		if (kb > w->sampled_kb)
			w->sampled_kb = kb;
	}
}

static void supervise(struct watch *w, const struct cg *g)
{
	while (w->out >= 0 || w->err >= 0 || w->st >= 0) {
		struct pollfd pf[4];
		int n = 0;
		int64_t now = now_mono_ms();
		int timeout = CPU_POLL_MS;
		if (w->killed && now - w->kill_at > KILL_GRACE_MS)
			break;	/* a descendant escaped the kill: stop waiting for it */
		pf[n++] = (struct pollfd){.fd = w->out, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = w->err, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = w->st, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = w->in, .events = POLLOUT};
		if (!w->killed && w->deadline - now < timeout)
			timeout = (int)(w->deadline - now > 0 ? w->deadline - now : 0);
		if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		size_t cap = (size_t)w->lim->output_bytes;
		if (w->out >= 0 && pf[0].revents &&
		    pipeio_drain(&w->out, &w->out_buf, cap, &w->r->out_truncated))
			kill_box(w, "output");
		if (w->err >= 0 && pf[1].revents &&
		    pipeio_drain(&w->err, &w->err_buf, cap, &w->r->err_truncated))
			kill_box(w, "output");
		if (w->st >= 0 && pf[2].revents)
			read_report(w);
		if (w->in >= 0 && pf[3].revents)
			pipeio_feed(&w->in, w->s->stdin_data, w->s->stdin_len, &w->in_off);
		if (!w->killed)
			tick(w, g);
	}
}

static int open_pipes(struct step_fds *p)
{
	int *all[] = {p->in, p->out, p->err, p->go, p->st};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (pipe2(all[i], O_CLOEXEC) != 0)
			return -1;
	pipeio_widen(p->out[0]);
	pipeio_widen(p->err[0]);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Turns the init's report and the cgroup's figures into the result. */
static int conclude(struct watch *w, const struct cg *g, const char *argv0,
		    char *err, size_t errlen)
{
	struct box_result *r = w->r;
	struct cg_stats cs;
	cg_read_stats(g, &cs);
	r->time_ms = cs.cpu_us / 1000;
	r->memory_kb = cs.peak_kb > w->sampled_kb ? cs.peak_kb : w->sampled_kb;
	r->wall_ms = now_mono_ms() - w->start;
	if (w->rep_len == sizeof w->rep && w->rep.stage == STAGE_SETUP) {
		snprintf(err, errlen, "box init: %s: %s", w->rep.what, strerror(w->rep.err));
		return -1;
	}
	if (w->rep_len == sizeof w->rep && w->rep.stage == STAGE_EXEC) {
		spawn_describe(&w->rep.spawn, argv0, err, errlen);
		return -1;
	}
	if (w->rep_len == sizeof w->rep && WIFEXITED(w->rep.status)) {
		r->exit_code = WEXITSTATUS(w->rep.status);
	} else {
		r->exit_code = -1;
		r->signal = w->rep_len == sizeof w->rep && WIFSIGNALED(w->rep.status)
				    ? WTERMSIG(w->rep.status) : SIGKILL;
	}
	box_classify(r, w->s, cs.oom_kills, cs.pids_max_hits);
	return 0;
}

/* The box's init, in namespaces of its own. On cgroup v2 it is born in
 * the step's group (clone3 with CLONE_INTO_CGROUP, Linux 5.7): no running
 * task moves, so no wait on the kernel's threadgroup lock. Elsewhere, or
 * when the kernel refuses, a plain clone, and *born_in is 0: the caller
 * moves it. Returns the pid (0 in the child), or -1. */
static pid_t spawn_init(const struct cg *g, int *born_in)
{
	const uint64_t ns = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
	int fd = cg_dir_fd(g);
	*born_in = 0;
	if (fd >= 0) {
		struct clone_args a = {.flags = ns | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
				       .cgroup = (uint64_t)fd};
		pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
		close(fd);	/* in the child too: no host directory enters the box */
		if (pid >= 0) {
			*born_in = 1;
			return pid;
		}
	}
	return (pid_t)syscall(SYS_clone, ns | SIGCHLD, NULL, NULL, NULL, 0);
}

/* Where a step's time went (docs/sandbox.md, "Where the time goes"): the
 * worker's clock readings t[] and the init's, logged at debug level. */
enum { T_START, T_CGROUP, T_CLONE, T_GO, T_RAN, T_REAPED, T_FIGURES, T_REMOVED, T_COUNT };

static void log_times(const int64_t *t, const struct init_report *rep)
{
	if (!log_enabled(LOG_DEBUG) || rep->stage != STAGE_RAN || rep->root_us < t[T_GO] ||
	    rep->exec_us < rep->root_us)
		return;
	log_job(LOG_DEBUG, NULL, "box step: cgroup %.3f clone %.3f move %.3f enter %.3f exec %.3f "
		"program %.3f reap %.3f figures %.3f remove %.3f ms",
		(double)(t[T_CGROUP] - t[T_START]) / 1000, (double)(t[T_CLONE] - t[T_CGROUP]) / 1000,
		(double)(t[T_GO] - t[T_CLONE]) / 1000, (double)(rep->root_us - t[T_GO]) / 1000,
		(double)(rep->exec_us - rep->root_us) / 1000, (double)(t[T_RAN] - rep->exec_us) / 1000,
		(double)(t[T_REAPED] - t[T_RAN]) / 1000, (double)(t[T_FIGURES] - t[T_REAPED]) / 1000,
		(double)(t[T_REMOVED] - t[T_FIGURES]) / 1000);
}

int box_run(struct box *b, const struct box_step *s, struct box_result *r,
	    char *err, size_t errlen)
{
	int64_t t[T_COUNT] = {now_mono_us()};
	struct step_fds p;
	struct cg g;
	char name[32], sub[256];
	struct watch w = {.r = r, .lim = s->limits, .s = s};
	int rc;

	memset(r, 0, sizeof *r);
	snprintf(name, sizeof name, "slot-%d", b->slot);
	if (cg_create(b->cgs, name, s->limits->memory_mb, s->limits->processes, &g, err, errlen) != 0)
		return -1;
	t[T_CGROUP] = now_mono_us();
	if (open_pipes(&p) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		cg_destroy(&g);
		return -1;
	}
	int born_in;
	pid_t pid = spawn_init(&g, &born_in);
	if (pid == 0)
		box_init(b, s, &p);
	close(p.in[0]); close(p.out[1]); close(p.err[1]); close(p.go[0]); close(p.st[1]);
	t[T_CLONE] = now_mono_us();
	w.init = pid;
	w.in = p.in[1]; w.out = p.out[0]; w.err = p.err[0]; w.st = p.st[0];
	if (pid < 0 || (!born_in && cg_attach(&g, pid, sub, sizeof sub) != 0)) {
		snprintf(err, errlen, "%s", pid < 0 ? strerror(errno) : sub);
		if (pid > 0)
			kill(pid, SIGKILL);
		rc = -1;
	} else {
		for (int i = 0; i < 4; i++)
			fcntl((int[]){w.in, w.out, w.err, w.st}[i], F_SETFL, O_NONBLOCK);
		w.start = now_mono_ms();
		w.deadline = w.start + s->limits->wall_ms;
		t[T_GO] = now_mono_us();
		if (write_all(p.go[1], "g", 1) != 0)
			kill(pid, SIGKILL);
		close_fd(&p.go[1]);
		if (s->stdin_len == 0)
			close_fd(&w.in);
		supervise(&w, &g);
		t[T_RAN] = now_mono_us();
		rc = 0;
	}
	close_fd(&p.go[1]);
	close_fd(&w.in); close_fd(&w.out); close_fd(&w.err); close_fd(&w.st);
	if (pid > 0) {
		kill(pid, SIGKILL);	/* no-op when it already exited */
		waitpid(pid, NULL, 0);
	}
	t[T_REAPED] = now_mono_us();
	r->out = w.out_buf.p;
	r->out_len = w.out_buf.len;
	r->err = w.err_buf.p;
	r->err_len = w.err_buf.len;
	if (rc == 0)
		rc = conclude(&w, &g, s->argv[0], err, errlen);
	t[T_FIGURES] = now_mono_us();
	cg_destroy(&g);
	t[T_REMOVED] = now_mono_us();
	if (rc == 0 && w.rep_len == sizeof w.rep)
		log_times(t, &w.rep);
	return rc;
}
