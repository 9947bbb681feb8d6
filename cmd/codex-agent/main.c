/* codex-agent: the program every pool container of the docker backend runs.
 *
 * usage: codex-agent        (in a container; speaks lib/sandbox/agent.h on stdin/stdout)
 *
 * It writes the job's files under /sandbox, runs its steps with limits and
 * reports what happened, reads the results file without following links,
 * and between jobs kills everything the job left and wipes the work dirs.
 * One attached stream of the Engine API carries a whole job, where a docker
 * exec costs several round trips and a runc start per step.
 *
 * The agent is the container's pid 1: it reaps every orphan, and the kernel
 * delivers no signal from inside the container to it. The program runs with
 * the agent's uid (the container has no capability to change it), so the
 * agent makes itself non-dumpable: the program can neither ptrace it nor
 * open its /proc files. What a process of the same uid may still change
 * in another (its rlimits with prlimit, its nice value, scheduling, CPU
 * affinity and I/O priority) the seccomp filter on every program refuses;
 * as a second wall, it is taken at start and checked before every step and
 * at every clean: a change fails the step or the clean, and the backend
 * replaces the container, so nothing a job did to the agent reaches the
 * next job. Extended attributes and times of the work dirs
 * (the tmpfs roots, which the job owns) are reset by the clean too. The
 * container's network namespace (no interface up) is every step's: a
 * socket a step left in flight is freed by the kernel's collector once its
 * processes are gone, and a step starts only once none is left.
 * Should the stream break anyway, the backend replaces the container.
 *
 * Exit: 0 at end of input, 100 on bad usage, 111 on a broken stream.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/agent.h"
#include "sandbox/backend.h"
#include "sandbox/cgroup.h"
#include "sandbox/pipeio.h"
#include "sandbox/policy.h"
#include "sandbox/slotnet.h"
#include "sandbox/spawn.h"

enum { CPU_POLL_MS = 25, KILL_GRACE_MS = 2000, READ_CHUNK = 65536, NET_CLEAN_MS = 1000 };

static const char *const work_dirs[] = {"/sandbox/code", "/sandbox/bin", "/sandbox/results", "/tmp"};

static void reply(struct sbuf *b)
{
	if (write_all(1, b->p, b->len) != 0)
		die_sys(EXIT_TEMPORARY, "stdout");
	free(b->p);
	*b = (struct sbuf){0};
}

static void reply_op(int op, const char *msg)
{
	struct sbuf b = {0};
	agent_begin(&b, op);
	if (msg)
		agent_put_str(&b, AT_MSG, msg);
	agent_end(&b, 0);
	reply(&b);
}

/* The container's cgroup counters, as the container sees them (v1: one
 * directory per controller; v2: one directory), or -1. */
static int64_t counter(const char *v1_dir, const char *v1_file, const char *v2_file, const char *key)
{
	int64_t v = cg_read_value(v1_dir, v1_file, key);
	return v >= 0 ? v : cg_read_value("/sys/fs/cgroup", v2_file, key);
}

/* CPU time of the whole container in microseconds, or -1. */
static int64_t cgroup_cpu_us(void)
{
	int64_t ns = cg_read_value("/sys/fs/cgroup/cpuacct", "cpuacct.usage", NULL);
	if (ns < 0)
		ns = cg_read_value("/sys/fs/cgroup/cpu,cpuacct", "cpuacct.usage", NULL);
	if (ns >= 0)
		return ns / 1000;
	return cg_read_value("/sys/fs/cgroup", "cpu.stat", "usage_usec");
}

static int64_t oom_kills(void)
{
	return counter("/sys/fs/cgroup/memory", "memory.oom_control", "memory.events", "oom_kill");
}

static int64_t pids_max_hits(void)
{
	return counter("/sys/fs/cgroup/pids", "pids.events", "pids.events", "max");
}

static void do_write(const struct agent_msg *m)
{
	char *rel = agent_str(m, AT_PATH), path[4200];
	const struct agent_field *data = agent_get(m, AT_DATA);
	int64_t mode;
	if (rel == NULL || data == NULL || !box_path_ok(rel) ||
	    agent_num(m, AT_MODE, 0, 0777, &mode) != 0 ||
	    path_fmt(path, sizeof path, "/sandbox/%s", rel) != 0) {
		reply_op(AGENT_FAIL, "write: bad request");
		free(rel);
		return;
	}
	free(rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0 || write_all(fd, data->data, data->len) != 0 || fchmod(fd, (mode_t)mode) != 0) {
		char msg[4300];
		snprintf(msg, sizeof msg, "write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		reply_op(AGENT_FAIL, msg);
		return;
	}
	close(fd);
	reply_op(AGENT_OK, NULL);
}

/* One step being supervised. */
struct step {
	char **argv, **env;
	const struct agent_field *in;
	int64_t time_ms, wall_ms, output_bytes, file_bytes;
	pid_t pid;
	int status, exited;
	int fd_in, fd_out, fd_err;
	int pidfd;		/* readable when the program has ended; -1 without pidfd_open */
	size_t in_off;
	struct sbuf out, err;
	int out_trunc, err_trunc;
	const char *limit;
	int killed;
	int64_t start, kill_at, cpu0, cpu_us, maxrss_kb, rusage_us;
};

/* What a program of the agent's uid can change in the agent without
 * ptrace: prlimit(2), setpriority(2), sched_setscheduler(2),
 * sched_setaffinity(2), ioprio_set(2). */
struct self {
	struct rlimit rl[RLIM_NLIMITS];
	int nice, policy, ioprio;
	struct sched_param param;
	cpu_set_t cpus;
};

static struct self self_at_start;

static void self_take(struct self *s)
{
	memset(s, 0, sizeof *s);
	for (int r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &s->rl[r]);
	s->nice = getpriority(PRIO_PROCESS, 0);
	s->policy = sched_getscheduler(0);
	sched_getparam(0, &s->param);
	sched_getaffinity(0, sizeof s->cpus, &s->cpus);
	s->ioprio = (int)syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
}

/* Whether the agent is as it started. Returns 1 or 0. */
static int self_intact(void)
{
	struct self now;
	self_take(&now);
	for (int r = 0; r < RLIM_NLIMITS; r++)
		if (now.rl[r].rlim_cur != self_at_start.rl[r].rlim_cur ||
		    now.rl[r].rlim_max != self_at_start.rl[r].rlim_max)
			return 0;
	return now.nice == self_at_start.nice && now.policy == self_at_start.policy &&
	       now.param.sched_priority == self_at_start.param.sched_priority &&
	       CPU_EQUAL(&now.cpus, &self_at_start.cpus) && now.ioprio == self_at_start.ioprio;
}

static void kill_all(struct step *s, const char *limit)
{
	if (s->limit == NULL)
		s->limit = limit;
	if (!s->killed) {
		s->killed = 1;
		s->kill_at = now_mono_ms();
	}
	kill(-1, SIGKILL);	/* every process of our uid but ourselves */
}

static void account(struct step *s, const struct rusage *ru)
{
	s->rusage_us += (int64_t)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec +
			(int64_t)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
	if (ru->ru_maxrss > s->maxrss_kb)
		s->maxrss_kb = ru->ru_maxrss;
}

/* Reaps what has ended; the program's end kills what it left behind. */
static void reap(struct step *s, int block)
{
	int status;
	struct rusage ru;
	pid_t w;
	while ((w = wait4(-1, &status, block ? 0 : WNOHANG, &ru)) > 0) {
		account(s, &ru);
		if (w == s->pid) {
			s->status = status;
			s->exited = 1;
			kill(-1, SIGKILL);
		}
	}
}

static void check_clock(struct step *s)
{
	int64_t cpu = cgroup_cpu_us();
	if (now_mono_ms() - s->start >= s->wall_ms)
		kill_all(s, "wall");
	else if (cpu >= 0 && s->cpu0 >= 0 && cpu - s->cpu0 > s->time_ms * 1000)
		kill_all(s, "time");
}

static void supervise(struct step *s)
{
	while (s->fd_out >= 0 || s->fd_err >= 0 || !s->exited) {
		struct pollfd pf[4] = {
			{.fd = s->fd_out, .events = POLLIN}, {.fd = s->fd_err, .events = POLLIN},
			{.fd = s->fd_in, .events = POLLOUT}, {.fd = s->exited ? -1 : s->pidfd, .events = POLLIN},
		};
		/* Without a pidfd, the end of the program is noticed by polling. */
		int tick = s->pidfd < 0 && s->fd_out < 0 && s->fd_err < 0 ? 1 : CPU_POLL_MS;
		if (s->killed && now_mono_ms() - s->kill_at > KILL_GRACE_MS)
			break;
		if (poll(pf, 4, tick) < 0 && errno != EINTR)
			break;
		size_t cap = (size_t)s->output_bytes;
		if (s->fd_out >= 0 && pf[0].revents && pipeio_drain(&s->fd_out, &s->out, cap, &s->out_trunc))
			kill_all(s, "output");
		if (s->fd_err >= 0 && pf[1].revents && pipeio_drain(&s->fd_err, &s->err, cap, &s->err_trunc))
			kill_all(s, "output");
		if (s->fd_in >= 0 && pf[2].revents)
			pipeio_feed(&s->fd_in, s->in->data, s->in->len, &s->in_off);
		reap(s, 0);
		if (!s->exited)
			check_clock(s);
	}
}

static int parse_step(struct step *s, const struct agent_msg *m)
{
	s->argv = agent_list(m, AT_ARGV);
	s->env = agent_list(m, AT_ENV);
	s->in = agent_get(m, AT_STDIN);
	return s->argv[0] && s->in &&
	       agent_num(m, AT_TIME_MS, 1, INT64_MAX / 1000, &s->time_ms) == 0 &&
	       agent_num(m, AT_WALL_MS, 1, INT64_MAX, &s->wall_ms) == 0 &&
	       agent_num(m, AT_OUTPUT_BYTES, 0, 1 << 30, &s->output_bytes) == 0 &&
	       agent_num(m, AT_FILE_BYTES, 0, INT64_MAX, &s->file_bytes) == 0 ? 0 : -1;
}

static void send_result(struct step *s, int64_t oom, int64_t pids)
{
	struct sbuf b = {0};
	int sig = 0, code = -1;
	if (s->exited && WIFEXITED(s->status))
		code = WEXITSTATUS(s->status);
	else
		sig = s->exited && WIFSIGNALED(s->status) ? WTERMSIG(s->status) : SIGKILL;
	agent_begin(&b, AGENT_RESULT);
	agent_put_num(&b, AT_EXIT, code);
	agent_put_num(&b, AT_SIGNAL, sig);
	agent_put_num(&b, AT_TIME_MS, (s->cpu_us >= 0 ? s->cpu_us : s->rusage_us) / 1000);
	agent_put_num(&b, AT_WALL_MS, now_mono_ms() - s->start);
	agent_put_num(&b, AT_MEMORY_KB, s->maxrss_kb);
	agent_put_str(&b, AT_LIMIT, s->limit ? s->limit : "");
	agent_put_num(&b, AT_OOM_KILLS, oom);
	agent_put_num(&b, AT_PIDS_MAX, pids);
	agent_put(&b, AT_STDOUT, s->out.p, s->out.len);
	agent_put(&b, AT_STDERR, s->err.p, s->err.len);
	agent_put_num(&b, AT_OUT_TRUNC, s->out_trunc);
	agent_put_num(&b, AT_ERR_TRUNC, s->err_trunc);
	agent_end(&b, 0);
	reply(&b);
}

/* Starts the program; returns 0, or -1 with msg (the step did not run). */
static int start(struct step *s, char *msg, size_t msglen)
{
	int in[2], out[2], err[2], ex[2];
	struct spawn_failure f;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return -1;
	}
	pipeio_widen(out[0]);
	pipeio_widen(err[0]);
	s->start = now_mono_ms();
	s->cpu0 = cgroup_cpu_us();
	s->pid = fork();
	/* The ns backend's last steps and filter, in the same order: Docker's
	 * default profile allows io_uring (20.10) and prlimit on the agent;
	 * no-new-privileges is the container's already. The program, not the
	 * agent, is the OOM killer's first pick. */
	if (s->pid == 0)
		spawn_exec(&(struct spawn){
			.in = in[0], .out = out[1], .err = err[1], .report = ex[1],
			.time_ms = s->time_ms, .file_bytes = s->file_bytes, .oom_first = 1,
			.argv = s->argv, .envp = s->env});
	close(in[0]); close(out[1]); close(err[1]); close(ex[1]);
	s->fd_in = in[1]; s->fd_out = out[0]; s->fd_err = err[0];
	if (s->pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		close(ex[0]);
		return -1;
	}
	if (spawn_failed(ex[0], &f)) {
		spawn_describe(&f, s->argv[0], msg, msglen);
		close(ex[0]);
		return -1;
	}
	close(ex[0]);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	for (int i = 0; i < 3; i++)
		fcntl((int[]){s->fd_in, s->fd_out, s->fd_err}[i], F_SETFL, O_NONBLOCK);
	if (s->in->len == 0) {
		close(s->fd_in);
		s->fd_in = -1;
	}
	return 0;
}

/* Whether the network namespace holds no socket (slotnet.h), waiting up
 * to NET_CLEAN_MS for the kernel to free what the step before left in
 * flight. */
static int net_clean(void)
{
	for (int ms = 0; ms < NET_CLEAN_MS; ms++) {
		if (slotnet_clean() == 1)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void do_run(const struct agent_msg *m)
{
	struct step s = {.fd_in = -1, .fd_out = -1, .fd_err = -1, .pidfd = -1, .cpu_us = -1};
	char msg[512];
	int64_t oom0 = oom_kills(), pids0 = pids_max_hits();
	if (parse_step(&s, m) != 0) {
		reply_op(AGENT_FAIL, "run: bad request");
	} else if (!self_intact()) {
		reply_op(AGENT_FAIL, "run: the agent's limits or scheduling were changed by a program");
	} else if (!net_clean()) {
		reply_op(AGENT_FAIL, "run: a socket of an earlier step is still in the network namespace");
	} else if (start(&s, msg, sizeof msg) != 0) {
		kill(-1, SIGKILL);
		reap(&s, 1);
		reply_op(AGENT_FAIL, msg);
	} else {
		supervise(&s);
		kill(-1, SIGKILL);
		reap(&s, 1);
		int64_t cpu = cgroup_cpu_us();
		if (cpu >= 0 && s.cpu0 >= 0)
			s.cpu_us = cpu - s.cpu0;
		int64_t oom = oom_kills(), pids = pids_max_hits();
		send_result(&s, oom >= 0 && oom0 >= 0 ? oom - oom0 : 0,
			    pids >= 0 && pids0 >= 0 ? pids - pids0 : 0);
	}
	close_fd(&s.fd_in); close_fd(&s.fd_out); close_fd(&s.fd_err); close_fd(&s.pidfd);
	free(s.out.p);
	free(s.err.p);
	agent_list_free(s.argv);
	agent_list_free(s.env);
}

/* Opens path with no link following and no mount crossing. */
static int open_beneath(const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))	/* older seccomp profiles */
		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static const char *read_file(const char *path, size_t cap, struct sbuf *b)
{
	size_t size;
	int fd = open_beneath(path);
	if (fd < 0)
		return box_open_why(errno);
	const char *why = box_file_why(fd, cap, &size);
	while (why == NULL) {
		char chunk[READ_CHUNK];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			why = "unreadable";
		if (n <= 0)
			break;
		if (b->len + (size_t)n > cap)
			why = "too-large";
		else
			sbuf_put(b, chunk, (size_t)n);
	}
	close(fd);
	return why;
}

static void do_read(const struct agent_msg *m)
{
	char *rel = agent_str(m, AT_PATH), path[4200];
	int64_t cap;
	struct sbuf data = {0}, b = {0};
	if (rel == NULL || agent_num(m, AT_CAP, 0, AGENT_READ_MAX, &cap) != 0 ||
	    strncmp(rel, "sandbox/", 8) != 0 || !box_path_ok(rel + 8) ||
	    path_fmt(path, sizeof path, "/%s", rel) != 0) {
		reply_op(AGENT_FAIL, "read: bad request");
		free(rel);
		return;
	}
	free(rel);
	const char *why = read_file(path, (size_t)cap, &data);
	agent_begin(&b, AGENT_FILE);
	if (why)
		agent_put_str(&b, AT_WHY, why);
	else
		agent_put(&b, AT_DATA, data.p, data.len);
	agent_end(&b, 0);
	reply(&b);
	free(data.p);
}

/* Empties the directory fd (closed here), whatever modes the job left. */
static int wipe(int dfd)
{
	int rc = 0;
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	if (d == NULL) {
		close(dfd);
		return -1;
	}
	fchmod(dfd, 0755);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0)
			continue;
		/* A directory (a link would have gone), maybe made unreadable by
		 * the job; nothing of the job runs any more to swap it. */
		int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == EACCES && fchmodat(dfd, e->d_name, 0700, 0) == 0)
			sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || wipe(sub) != 0 || unlinkat(dfd, e->d_name, AT_REMOVEDIR) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* Clears what a job can leave on a work dir's root, which it owns and
 * cannot remove: its extended attributes (user.* on tmpfs) and its times.
 * Returns 0, or -1 when an attribute stayed. */
static int reset_root(int dfd)
{
	char names[8192];
	ssize_t n;
	while ((n = flistxattr(dfd, names, sizeof names)) > 0) {
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
			if (fremovexattr(dfd, names + i) != 0)
				return -1;
	}
	if (n < 0 && errno != ENOTSUP)
		return -1;
	futimens(dfd, NULL);
	return 0;
}

/* Processes in the container besides ourselves. */
static int others_alive(void)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		long pid = strtol(e->d_name, NULL, 10);
		if (pid > 0 && pid != getpid())
			n++;
	}
	closedir(d);
	return n;
}

/* Removes the System V IPC objects of the container's IPC namespace (the
 * only ones it sees): they would outlive the job. Returns 0, or -1. */
static int remove_sysv(void)
{
	static const struct { const char *file; int kind; } tables[] = {
		{"/proc/sysvipc/shm", 'm'}, {"/proc/sysvipc/sem", 's'}, {"/proc/sysvipc/msg", 'q'},
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char line[512];
		FILE *f = fopen(tables[i].file, "re");
		if (f == NULL)
			continue;
		if (fgets(line, sizeof line, f) == NULL)	/* the header */
			line[0] = '\0';
		while (fgets(line, sizeof line, f)) {
			int key, id;
			if (sscanf(line, "%d %d", &key, &id) != 2)
				continue;
			int r = tables[i].kind == 'm' ? shmctl(id, IPC_RMID, NULL)
			      : tables[i].kind == 's' ? semctl(id, 0, IPC_RMID)
			      : msgctl(id, IPC_RMID, NULL);
			if (r != 0)
				rc = -1;
		}
		fclose(f);
	}
	return rc;
}

static void do_clean(void)
{
	struct step s = {0};
	int rc = 0;
	kill(-1, SIGKILL);
	reap(&s, 1);
	if (remove_sysv() != 0)
		rc = -1;
	for (size_t i = 0; i < sizeof work_dirs / sizeof work_dirs[0]; i++) {
		int fd = open(work_dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == EACCES && chmod(work_dirs[i], 0755) == 0)	/* the job's chmod */
			fd = open(work_dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && reset_root(fd) != 0) {
			close(fd);
			fd = -1;
		}
		if (fd < 0 || wipe(fd) != 0)
			rc = -1;
	}
	if (rc != 0)
		reply_op(AGENT_FAIL, "clean: a work dir or an IPC object could not be removed");
	else if (others_alive())
		reply_op(AGENT_FAIL, "clean: processes survived the kill");
	else if (!self_intact())
		reply_op(AGENT_FAIL, "clean: the agent's limits or scheduling were changed by a program");
	else
		reply_op(AGENT_OK, NULL);
}

static void serve(void)
{
	struct agent_msg *m = xmalloc(sizeof *m);
	int rc;
	while ((rc = agent_read(0, AGENT_FRAME_MAX, m)) == 0) {
		switch (m->op) {
		case AGENT_PING: reply_op(AGENT_OK, NULL); break;
		case AGENT_WRITE: do_write(m); break;
		case AGENT_RUN: do_run(m); break;
		case AGENT_READ: do_read(m); break;
		case AGENT_CLEAN: do_clean(); break;
		default: reply_op(AGENT_FAIL, "unknown request"); break;
		}
		agent_msg_free(m);
	}
	free(m);
	if (rc < 0)
		die(EXIT_TEMPORARY, "stdin: broken or oversized frame");
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	static const char usage[] =
		"usage: codex-agent\n"
		"       codex-agent --help | --version\n"
		"\n"
		"Inside a pool container: runs the steps the docker backend sends over\n"
		"standard input, answers on standard output (lib/sandbox/agent.h,\n"
		"codex-agent(1)).\n"
		"\n"
		"Exit status: 0 at end of input, 100 usage error, 111 a broken stream.\n";
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
		usage_version();
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		usage_help(usage);
	if (argc > 1)
		usage_error(usage, "unexpected argument %s", argv[1]);
	/* Same uid as the programs it runs: no ptrace, no /proc/<pid>/fd.
	 * Orphans come to us, so their CPU and memory count and they get reaped. */
	if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		die_sys(EXIT_TEMPORARY, "prctl");
	/* Built once, installed by each step. */
	if (policy_prepare() != 0)
		die_sys(EXIT_TEMPORARY, "the seccomp filter");
	signal(SIGPIPE, SIG_IGN);
	self_take(&self_at_start);
	serve();
	return 0;
}
