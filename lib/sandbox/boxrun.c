/* box_run(): one step in the box. The worker makes the step's box: its
 * cgroup, and a tiny init cloned into fresh pid/net/ipc/uts/mount
 * namespaces that joins the group, enters a cgroup namespace, mounts
 * /proc, pivots into the box root and forks the program, which holds just
 * before its privilege drop. The step starts when the worker writes to the
 * hold pipe; the init reaps and, once the program has ended, kills
 * whatever is left. The program's last steps (the slot's uid, no
 * capability, no_new_privs, the seccomp filter, execve) are spawn.h's, the
 * same as in a docker pool container.
 *
 * A box is made when its step comes, or ahead: while the step before runs
 * (box_step.next: the next testcase of a stdio job, the run after a
 * compile), or before the job comes (box_warm(): a warm box for its first
 * step, guessed from the job before). That step then pays only the
 * program's own start. */
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
#include "sandbox/slotnet.h"
#include "sandbox/spawn.h"
#include "sandbox/zygote.h"

enum { CPU_POLL_MS = 25, KILL_GRACE_MS = 2000, READY_MS = 10000 };

/* The slot's uid runs a launched program made ahead (its runtime's
 * threads, Node.js's a dozen) beside the running step: RLIMIT_NPROC, which
 * counts the uid's tasks, leaves room for it. The step's own bound is its
 * group's pids.max. */
enum { NPROC_BESIDE = 32 };

/* How long a launched runtime may take to start: its wall limit, at most
 * READY_MS. Its CPU rlimit, which counts the start, adds this much (the
 * step's own CPU time counts from its go, on its group's clock). */
static int64_t ready_ms(const struct sbx_limits *l)
{
	return l->wall_ms < READY_MS ? l->wall_ms : READY_MS;
}

/* Where the init got to, reported back over the status pipe: one byte,
 * READY once the program holds (or FAILED, then the report); one byte,
 * EXECUTED once the step started and the program is executed; then the
 * report when the step is over. */
enum init_stage { STAGE_RAN = 0, STAGE_SETUP = 1, STAGE_EXEC = 2 };
static const char READY = 'r', FAILED = 'f', EXECUTED = 'x';

struct init_report {
	int stage;
	int err;		/* errno of the failed stage */
	int status;		/* wait status of the program */
	char what[64];		/* the failed setup step */
	struct spawn_failure spawn;	/* STAGE_EXEC: the program's own last steps */
	/* monotonic: in its group, in the root, the program holding, executed */
	int64_t joined_us, root_us, ready_us, exec_us;
};

struct step_fds {
	int in[2], out[2], err[2], go[2], st[2], ready[2];
	/* from a zygote (zygote.h): its setup's report, the program's wait
	 * status, the init in the box root */
	int ex[2], status[2], rooted[2];
};

static void report_exit(int fd, struct init_report *rep, const char *what)
{
	rep->stage = STAGE_SETUP;
	rep->err = errno;
	snprintf(rep->what, sizeof rep->what, "%s", what);
	if (write_all(fd, &FAILED, 1) != 0 || write_all(fd, rep, sizeof *rep) != 0)
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

/* Closes every fd from 3 up but the n in keep. */
static void close_others(int *keep, size_t n)
{
	unsigned lo = 3;
	for (size_t i = 1; i < n; i++)	/* sorted: n is small */
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		if ((unsigned)keep[i] + 1 > lo)
			lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

/* Reaps whatever ends in the box until the zygote gives the program's
 * wait status (zygote.h). Returns 0, or -1 when the zygote ended without
 * giving it. */
static int await_status(int fd, int *status)
{
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n = poll(&pf, 1, CPU_POLL_MS * 4);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0) {
			ssize_t r;
			do
				r = read(fd, status, sizeof *status);
			while (r < 0 && errno == EINTR);
			return r == (ssize_t)sizeof *status ? 0 : -1;
		}
	}
}

/* pid 1 of the box. born_in: clone3 put it in its group already; else it
 * moves itself there (on cgroup v1 that move may wait for an RCU grace
 * period: the init waits, not the worker). Its program is its own child,
 * or, from a zygote, a process the zygote makes in its pid
 * namespace once it is in the box root. Never returns. */
static void __attribute__((noreturn))
box_init(const struct box *b, const struct box_ready *x, int born_in, struct step_fds *p)
{
	struct init_report rep = {0};
	char why[256];
	int ex[2] = {p->ex[0], p->ex[1]};
	pid_t pid = 0;
	/* Nothing of the worker's but the step's own ends: a box made ahead
	 * must not hold the running step's pipes (its stdin would never end).
	 * The program's ends are the zygote's when it makes the program. */
	int keep[7] = {p->in[0], p->out[1], p->err[1], p->go[0], p->st[1]}, n = 5;
	if (x->zygote) {
		keep[0] = p->ex[0]; keep[1] = p->status[0]; keep[2] = p->rooted[1];
		keep[3] = p->st[1];
		n = 4;
	} else if (x->launched) {
		keep[n++] = p->ready[1];
	}
	if (x->netfd >= 0)
		keep[n++] = x->netfd;
	close_others(keep, (size_t)n);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (x->netfd >= 0 && (setns(x->netfd, CLONE_NEWNET) != 0 || close(x->netfd) != 0))
		report_exit(p->st[1], &rep, "join the slot's network namespace");
	if (!born_in && cg_attach(&x->g, 0, why, sizeof why) != 0)
		report_exit(p->st[1], &rep, "join the step's cgroup");
	rep.joined_us = now_mono_us();
	enter_root(b, p->st[1], &rep);
	rep.root_us = now_mono_us();
	if (x->zygote) {
		if (write_all(p->rooted[1], "r", 1) != 0)
			report_exit(p->st[1], &rep, "tell the zygote");
		close(p->rooted[1]);
	} else if (pipe2(ex, O_CLOEXEC) != 0) {
		report_exit(p->st[1], &rep, "pipe");
	} else if ((pid = fork()) < 0) {
		report_exit(p->st[1], &rep, "fork");
	}
	if (pid == 0 && !x->zygote)
		spawn_exec(&(struct spawn){
			.in = p->in[0], .out = p->out[1], .err = p->err[1], .report = ex[1],
			.hold = p->go[0], .ready = x->launched ? p->ready[1] : 0,
			.net_check = x->netfd >= 0 && !x->launched,
			.time_ms = x->limits.time_ms + (x->launched ? ready_ms(&x->limits) : 0),
			.file_bytes = x->limits.file_bytes,
			.processes = x->limits.processes > 0 ? x->limits.processes + NPROC_BESIDE : 0,
			.drop = 1, .uid = b->uid, .gid = b->gid, .argv = x->argv, .envp = x->envp});
	if (!x->zygote) {
		close(p->in[0]); close(p->out[1]); close(p->err[1]); close(p->go[0]); close(ex[1]);
		if (x->launched)
			close(p->ready[1]);
	}
	rep.ready_us = now_mono_us();
	if (write_all(p->st[1], &READY, 1) != 0)
		_exit(2);
	if (spawn_failed(ex[0], &rep.spawn))
		rep.stage = STAGE_EXEC;
	rep.exec_us = now_mono_us();
	close(ex[0]);
	if (rep.stage == STAGE_RAN && write_all(p->st[1], &EXECUTED, 1) != 0)
		_exit(2);
	if (x->zygote && rep.stage == STAGE_RAN) {
		if (await_status(p->status[0], &rep.status) != 0) {
			rep.stage = STAGE_SETUP;
			rep.err = EPIPE;
			snprintf(rep.what, sizeof rep.what, "the zygote gave no status");
		}
		kill(-1, SIGKILL);
	}
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
	int executed;		/* the init said EXECUTED */
	struct box *b;		/* where the next step's box goes, */
	const struct box_step *next;	/* made once this program is executed */
	int killed;
	int64_t start, deadline, kill_at;
	int64_t cpu_base;	/* the group's CPU time at the go (us): a launched
				 * program's start before it is not the step's */
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

/* How make_box() makes a box: with a network namespace of its own, not
 * the slot's; with its program the init's child even where a zygote runs. */
enum { OWN_NET = 1, NO_ZYGOTE = 2 };
static int make_box(struct box *b, const struct box_step *s, struct box_ready *x, int how,
		    char *err, size_t errlen);

/* The next step's box, made once this step's program is executed (not
 * before: making it takes the worker a CPU for about a millisecond, which
 * the program's own start would pay on a busy machine). */
static void make_ahead(struct watch *w)
{
	char err[256];
	if (w->next && make_box(w->b, w->next, &w->b->next, 0, err, sizeof err) != 0)
		log_job(LOG_DEBUG, NULL, "the next step's box was not made ahead: %s", err);
}

static void read_report(struct watch *w)
{
	char *at = (char *)&w->rep + w->rep_len;
	ssize_t n = read(w->st, at, sizeof w->rep - w->rep_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(w->st);
		w->st = -1;
		return;
	}
	if (w->rep_len == 0 && !w->executed && at[0] == EXECUTED) {
		w->executed = 1;
		memmove(at, at + 1, (size_t)--n);
		make_ahead(w);
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
	else if (cg_cpu_us(g) - w->cpu_base > w->lim->time_ms * 1000)
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

static int open_pipes(struct step_fds *p, int launched, int zygote)
{
	int *all[] = {p->in, p->out, p->err, p->go, p->st, p->ready, p->ex, p->status, p->rooted};
	size_t n = zygote ? 9 : launched ? 6 : 5;
	for (int *fd = &p->in[0]; fd <= &p->rooted[1]; fd++)
		*fd = -1;
	for (size_t i = 0; i < n; i++)
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

/* Ends a box that was made and not used (or failed while being made):
 * its init, whose end ends its namespaces and the held program, its
 * pipes and its group. */
static void box_discard(struct box_ready *x)
{
	int *fds[] = {&x->in, &x->out, &x->err, &x->go, &x->st, &x->ready};
	if (x->init <= 0 && x->g.sys == NULL)
		return;
	if (x->init > 0) {
		kill(x->init, SIGKILL);
		waitpid(x->init, NULL, 0);
	}
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		close_fd(fds[i]);
	if (x->g.sys)
		cg_destroy(&x->g);
	*x = (struct box_ready){0};
}

/* Turns the init's report and the cgroup's figures into the result. */
static int conclude(struct watch *w, const struct cg *g, const char *argv0,
		    char *err, size_t errlen)
{
	struct box_result *r = w->r;
	struct cg_stats cs;
	cg_read_stats(g, &cs);
	r->time_ms = cs.cpu_us > w->cpu_base ? (cs.cpu_us - w->cpu_base) / 1000 : 0;
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

/* The box's init, in namespaces of its own (but the network's, with a
 * namespace kept for the slot: it joins that one). On cgroup v2 it is
 * born in the step's group (clone3 with CLONE_INTO_CGROUP, Linux 5.7): no
 * running task moves, so no wait on the kernel's threadgroup lock.
 * Elsewhere, or when the kernel refuses, a plain clone, and *born_in is 0:
 * the init moves itself. Returns the pid (0 in the child), or -1. */
static pid_t spawn_init(const struct cg *g, int own_net, int *born_in)
{
	const uint64_t ns = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS |
			    (own_net ? CLONE_NEWNET : 0);
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

/* Asks zygote z to make the program of the box *x, whose init is being
 * cloned: gives it the program's ends of the pipes in p, the init, and the
 * group. Returns 0, or -1 (the zygote is gone). */
static int from_zygote(struct zygote *z, size_t skip, const struct box *b,
		       const struct box_ready *x, const struct step_fds *p)
{
	struct zy_request rq = {.magic = ZY_MAGIC, .uid = b->uid, .gid = b->gid,
				.time_ms = x->limits.time_ms + ready_ms(&x->limits),
				.file_bytes = x->limits.file_bytes,
				.processes = x->limits.processes > 0
						     ? x->limits.processes + NPROC_BESIDE : 0};
	int fds[ZY_FDS_MAX] = {[ZY_IN] = p->in[0], [ZY_OUT] = p->out[1], [ZY_ERR] = p->err[1],
			       [ZY_GO] = p->go[0], [ZY_READY] = p->ready[1], [ZY_REPORT] = p->ex[1],
			       [ZY_STATUS] = p->status[1], [ZY_ROOTED] = p->rooted[0]};
	size_t at = 0;
	int rc = -1;
	for (char *const *w = x->argv + skip; *w; w++, rq.argc++) {
		size_t len = strlen(*w) + 1;
		if (len > sizeof rq.args - at)
			return -1;
		memcpy(rq.args + at, *w, len);
		at += len;
	}
	fds[ZY_INIT] = (int)syscall(SYS_pidfd_open, x->init, 0);
	rq.nprocs = cg_procs_fds(&x->g, fds + ZY_FIXED);
	int dir = rq.nprocs > 0 ? cg_dir_fd(&x->g) : -1;	/* v2 only */
	if (dir >= 0)
		fds[ZY_FIXED + rq.nprocs] = dir;
	rq.cgdir = dir >= 0;
	if (fds[ZY_INIT] >= 0 && rq.nprocs > 0)
		rc = zygote_send(z, &rq, fds, ZY_FIXED + rq.nprocs + rq.cgdir);
	if (fds[ZY_INIT] >= 0)
		close(fds[ZY_INIT]);
	for (int i = 0; i < rq.nprocs + rq.cgdir; i++)
		close(fds[ZY_FIXED + i]);
	return rc;
}

/* Removes the last step's group (spent): the kernel may hold a group of
 * dead tasks for milliseconds (v1: an RCU grace period), so this is done
 * after the result, or when its name is wanted again. */
static void remove_spent(struct box *b)
{
	if (b->spent.sys)
		cg_destroy(&b->spent);
	b->spent = (struct cg){0};
}

/* Makes the box of step s into *x: its group (the slot's two names taken
 * in turn, so that a box made ahead never meets the running step's), the
 * pipes, the init, in the slot's network namespace unless OWN_NET (or the
 * slot has none), and its program: the init's child, or a zygote's
 * (zygote.h) when the language has one running, unless NO_ZYGOTE. The
 * init is still getting ready when this returns (await_ready). Returns 0,
 * or -1 with err. */
static int make_box(struct box *b, const struct box_step *s, struct box_ready *x, int how,
		    char *err, size_t errlen)
{
	struct step_fds p;
	char name[32];
	int born_in;
	size_t skip = 0;
	struct zygote *z = s->launched && !(how & NO_ZYGOTE)
				   ? zygote_for(s->argv, s->envp, &skip) : NULL;
	*x = (struct box_ready){.in = -1, .out = -1, .err = -1, .go = -1, .st = -1, .ready = -1,
				.netfd = how & OWN_NET ? -1 : b->netfd,
				.argv = s->argv, .envp = s->envp, .launched = s->launched,
				.zygote = z != NULL, .limits = *s->limits,
				.t_start = now_mono_us()};
	snprintf(name, sizeof name, "slot-%d%s", b->slot, b->made++ % 2 ? "-next" : "");
	remove_spent(b);
	if (cg_create(b->cgs, name, s->limits->memory_mb, s->limits->processes, &x->g, err,
		      errlen) != 0) {
		*x = (struct box_ready){0};
		return -1;
	}
	x->t_cgroup = now_mono_us();
	if (open_pipes(&p, s->launched, x->zygote) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		for (int *fd = &p.in[0]; fd <= &p.rooted[1]; fd++)
			close_fd(fd);
		box_discard(x);
		return -1;
	}
	pid_t pid = spawn_init(&x->g, x->netfd < 0, &born_in);
	if (pid == 0)
		box_init(b, x, born_in, &p);
	x->init = pid;
	int sent = pid > 0 && x->zygote ? from_zygote(z, skip, b, x, &p) : 0;
	close(p.in[0]); close(p.out[1]); close(p.err[1]); close(p.go[0]); close(p.st[1]);
	close_fd(&p.ready[1]);
	for (int *fd = &p.ex[0]; fd <= &p.rooted[1]; fd++)
		close_fd(fd);
	x->t_clone = now_mono_us();
	x->in = p.in[1]; x->out = p.out[0]; x->err = p.err[0]; x->go = p.go[1]; x->st = p.st[0];
	x->ready = p.ready[0];
	if (pid < 0) {
		snprintf(err, errlen, "clone the box's init: %s", strerror(errno));
		x->init = 0;
		box_discard(x);
		return -1;
	}
	if (sent != 0) {
		/* Not taken: the program is the init's child, in a box of the
		 * same name (its group is gone): the other name may be the
		 * running step's. */
		box_discard(x);
		b->made--;
		return make_box(b, s, x, how | NO_ZYGOTE, err, errlen);
	}
	return 0;
}

/* A launched program's ready byte, or its end (it died starting: the
 * step goes on, and says what it did), or the step's wall limit passed
 * (a runtime slow to start, at its memory limit: the step goes on, and
 * its own limits end it). The time before the go is no program's: none
 * of the job's code runs before it (the launcher is sealed: root's). */
static void await_launched(struct box_ready *x)
{
	struct pollfd pf = {.fd = x->ready, .events = POLLIN};
	char c;
	int n;
	do
		n = poll(&pf, 1, (int)ready_ms(&x->limits));
	while (n < 0 && errno == EINTR);
	while (n > 0 && read(x->ready, &c, 1) < 0 && errno == EINTR)
		;
	close_fd(&x->ready);
}

/* Waits until the init of *x is in its group and root and its program
 * holds (launched: has started). Returns 0, or -1 with err (the init's
 * report when it failed). */
static int await_ready(struct box_ready *x, char *err, size_t errlen)
{
	struct pollfd pf = {.fd = x->st, .events = POLLIN};
	struct init_report rep;
	char c = 0;
	int n;
	do
		n = poll(&pf, 1, READY_MS);
	while (n < 0 && errno == EINTR);
	if (n > 0 && read(x->st, &c, 1) == 1 && c == READY) {
		if (x->launched)
			await_launched(x);
		return 0;
	}
	if (c == FAILED && read(x->st, &rep, sizeof rep) == (ssize_t)sizeof rep) {
		rep.what[sizeof rep.what - 1] = '\0';
		snprintf(err, errlen, "box init: %s: %s", rep.what, strerror(rep.err));
	} else {
		snprintf(err, errlen, "box init: %s", n == 0 ? "not ready in time" : "ended early");
	}
	return -1;
}

/* Whether the init of a box made ahead ended while the box waited (the
 * zygote ended, and the program it held with it): its end of the report
 * pipe (st) is closed, and its report, which the step would take for its
 * own, may be there. 1 with err, or 0. */
static int init_ended(const struct box_ready *x, char *err, size_t errlen)
{
	struct pollfd pf = {.fd = x->st, .events = POLLIN};
	if (poll(&pf, 1, 0) != 1 || !(pf.revents & POLLHUP))
		return 0;
	snprintf(err, errlen, "its init ended");
	return 1;
}

static int same_words(char *const *a, char *const *b)
{
	if (a == b)
		return 1;
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return 0;
	return *a == *b;
}

/* Whether the box *x was made for step s: the same program, environment
 * and limits, but for the wall limit, which only the worker keeps. */
static int made_for(const struct box_ready *x, const struct box_step *s)
{
	struct sbx_limits l = *s->limits;
	l.wall_ms = x->limits.wall_ms;
	return x->init > 0 && x->launched == s->launched && memcmp(&l, &x->limits, sizeof l) == 0 &&
	       same_words(x->argv, s->argv) && same_words(x->envp, s->envp);
}

/* Where a step's time went (docs/sandbox.md, "Where the time goes"): the
 * worker's clock readings t[] and the init's, logged at debug level. A
 * box made ahead did its making while the step before ran: only "wait"
 * onwards was this step's. */
enum { T_START, T_GO, T_RAN, T_REAPED, T_FIGURES, T_REMOVED, T_COUNT };

/* Milliseconds from a to b, both monotonic microseconds of different
 * processes (the init may be quicker than the worker's own reading). */
static double span(int64_t a, int64_t b)
{
	return b > a ? (double)(b - a) / 1000 : 0;
}

static void log_times(const struct box_ready *x, const int64_t *t, const struct init_report *r,
		      int ahead)
{
	/* A launched program executed before its go: from the go on, it
	 * is the program's time. */
	int64_t exec_us = x->launched ? t[T_GO] : r->exec_us;
	if (!log_enabled(LOG_DEBUG) || r->stage != STAGE_RAN)
		return;
	log_job(LOG_DEBUG, NULL, "box step%s: cgroup %.3f clone %.3f move %.3f enter %.3f "
		"fork %.3f wait %.3f exec %.3f program %.3f reap %.3f figures %.3f remove %.3f ms",
		ahead ? " made ahead" : "", span(x->t_start, x->t_cgroup),
		span(x->t_cgroup, x->t_clone), span(x->t_clone, r->joined_us),
		span(r->joined_us, r->root_us), span(r->root_us, r->ready_us),
		span(t[T_START], t[T_GO]), span(t[T_GO], exec_us), span(exec_us, t[T_RAN]),
		span(t[T_RAN], t[T_REAPED]), span(t[T_REAPED], t[T_FIGURES]),
		span(t[T_FIGURES], t[T_REMOVED]));
}

int box_run(struct box *b, const struct box_step *s, struct box_result *r,
	    char *err, size_t errlen)
{
	int64_t t[T_COUNT] = {now_mono_us()};
	struct box_ready x = b->next;
	struct watch w = {.r = r, .lim = s->limits, .s = s, .b = b, .next = s->next};
	int ahead = made_for(&x, s), rc;

	memset(r, 0, sizeof *r);
	b->next = (struct box_ready){0};	/* x has it now */
	if (ahead && (await_ready(&x, err, errlen) != 0 || init_ended(&x, err, errlen))) {
		/* Made for nothing: the step gets a box made now, which says
		 * what fails if it fails again. */
		log_job(LOG_WARN, NULL, "a box made ahead was not ready (%s): making another", err);
		ahead = 0;
	}
	struct box_ready unused = {0};
	if (!ahead) {
		/* A box made for another step is ended once this one's is
		 * ready: removing its group while the new init joins its own
		 * would hold that up (the kernel's cgroup lock). */
		unused = x;
		if (make_box(b, s, &x, 0, err, errlen) != 0) {
			box_discard(&unused);
			return -1;
		}
	}
	rc = ahead ? 0 : await_ready(&x, err, errlen);
	box_discard(&unused);
	if (rc == 0 && x.launched && x.netfd >= 0 && slotnet_clean_of(x.init) != 1) {
		/* A launched program started before the step, maybe beside the
		 * step before: the worker looks at the slot's network namespace
		 * now, and on any socket left there the step gets a box with a
		 * namespace of its own. */
		log_job(LOG_INFO, NULL, "sockets left in slot %d's network namespace: a box with its own",
			b->slot);
		unused = x;
		rc = make_box(b, s, &x, OWN_NET, err, errlen);
		box_discard(&unused);
		if (rc != 0)
			return -1;
		ahead = 0;
		rc = await_ready(&x, err, errlen);
	}
	w.init = x.init;
	w.in = x.in; w.out = x.out; w.err = x.err; w.st = x.st;
	if (rc == 0) {
		for (int i = 0; i < 4; i++)
			fcntl((int[]){w.in, w.out, w.err, w.st}[i], F_SETFL, O_NONBLOCK);
		w.cpu_base = cg_cpu_us(&x.g);
		w.start = now_mono_ms();
		w.deadline = w.start + s->limits->wall_ms;
		t[T_GO] = now_mono_us();
		/* A program gone before its go (a launched one that failed to
		 * start): the init reports how. */
		(void)write_all(x.go, "g", 1);
		close_fd(&x.go);
		if (s->stdin_len == 0)
			close_fd(&w.in);
		supervise(&w, &x.g);
		t[T_RAN] = now_mono_us();
	}
	close_fd(&x.go);
	close_fd(&w.in); close_fd(&w.out); close_fd(&w.err); close_fd(&w.st);
	kill(x.init, SIGKILL);	/* no-op when it already exited */
	waitpid(x.init, NULL, 0);
	t[T_REAPED] = now_mono_us();
	r->out = w.out_buf.p;
	r->out_len = w.out_buf.len;
	r->err = w.err_buf.p;
	r->err_len = w.err_buf.len;
	if (rc == 0)
		rc = conclude(&w, &x.g, s->argv[0], err, errlen);
	t[T_FIGURES] = now_mono_us();
	remove_spent(b);	/* the step before's, if its name was not wanted */
	b->spent = x.g;		/* removed after the result */
	t[T_REMOVED] = now_mono_us();
	if (rc == 0 && w.rep_len == sizeof w.rep)
		log_times(&x, t, &w.rep, ahead);
	return rc;
}

int box_warm(struct box *b, const struct box_step *s, char *err, size_t errlen)
{
	box_discard(&b->next);
	return make_box(b, s, &b->next, 0, err, errlen);
}

void box_close(struct box *b)
{
	box_discard(&b->next);
	remove_spent(b);
}

int box_tidy(struct box *b)
{
	if (b->spent.sys && cg_try_destroy(&b->spent) != 0)
		return -1;
	b->spent = (struct cg){0};
	return 0;
}
