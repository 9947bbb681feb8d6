/* sandbox-exec: run each job line of stdin in a sandbox and write it back
 * with an `exec` section (docs/formats.md), in completion order.
 *
 * usage: sandbox-exec [-j N] [--slots N] [--languages FILE] [--backend ns|docker] [--cold]
 *                     [--no-zygote]
 *        sandbox-exec --list-languages [--languages FILE]
 *
 *   -j, --jobs N        jobs run at once (default: the number of slots)
 *   --slots N           sandbox slots on this host, per language with docker
 *                       (default: CONTAINER_POOL_SIZE, else the table's `slots`)
 *   --languages FILE    the language table (default: see sandbox-exec(1))
 *   --backend NAME      `ns` (namespaces, the default) or `docker` (the warm
 *                       container pool; also SANDBOX_BACKEND=docker)
 *   --cold              ns: no worker forked ahead, no warm box: each job's
 *                       first box is made when the job comes
 *   --list-languages    print the table's path and its languages, then exit
 *   -h, --help, -V, --version
 *
 * A line that is not a job gets an `error` section (kind poison) and the
 * next line flows; a sandbox failure gets one of kind infrastructure.
 * Exit: 0 at end of input or after SIGTERM/SIGINT (in-flight jobs finish),
 * 100 on bad usage or configuration, 111 when stdout is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/jsonx.h"
#include "core/lang.h"
#include "core/limit.h"
#include "core/line.h"
#include "core/log.h"
#include "core/sigfd.h"
#include "core/util.h"
#include "judge/job.h"
#include "otel/jobtrace.h"
#include "otel/otel.h"
#include "sandbox/box.h"
#include "sandbox/cgroup.h"
#include "sandbox/dbox.h"
#include "sandbox/docker.h"
#include "sandbox/instance.h"
#include "sandbox/policy.h"
#include "sandbox/runner.h"
#include "sandbox/slot.h"
#include "sandbox/slotnet.h"
#include "sandbox/zygote.h"

static const char usage_text[] =
	"usage: sandbox-exec [-j N] [--slots N] [--languages FILE] [--backend ns|docker] [--cold]\n"
	"                    [--no-zygote]\n"
	"       sandbox-exec --list-languages [--languages FILE]\n"
	"       sandbox-exec --help | --version\n"
	"\n"
	"Runs each job of standard input (JSON, one a line or pretty-printed) in a\n"
	"sandbox and writes it back on one line with an exec section, in the order\n"
	"the jobs finish (sandbox-exec(1), docs/formats.md).\n"
	"\n"
	"  -j, --jobs N        jobs run at once (default: the number of slots)\n"
	"  --slots N           sandbox slots (default: CONTAINER_POOL_SIZE, else the table's)\n"
	"  --languages FILE    the language table (default: CODEX_LANGUAGES, else the\n"
	"                      installed one; --list-languages says which)\n"
	"  --backend ns|docker namespaces (the default) or the warm container pool\n"
	"  --cold              ns: make each job's first box when the job comes\n"
	"  --no-zygote         ns: start each run's runtime in its box, not from a zygote\n"
	"  --list-languages    print the table's path and its languages, and exit\n"
	"\n"
	"Environment: SANDBOX_BACKEND, CONTAINER_POOL_SIZE, EXECUTION_TIMEOUT,\n"
	"MAX_OUTPUT_LENGTH, CODEX_LANGUAGES, CODEX_SHARE, CODEX_INSTANCE, DOCKER_HOST,\n"
	"SANDBOX_CGROUP_ROOT, LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT.\n"
	"\n"
	"Exit status: 0 at end of input or after SIGTERM (running jobs finish),\n"
	"100 usage or configuration error (ns needs root), 111 input, output or\n"
	"dockerd failure. A job's own failure is an error section in its line.\n";

enum { MAX_WORKERS = 1024, MAX_SLOT_NETNS = 64 };

/* A worker forked ahead takes no slot while another process has waited for
 * one this recently (slot.h). */
enum { WANT_QUIET_MS = 1000 };

/* A worker's exit status when it wrote a line with an infrastructure error
 * (and logged it): the main process then does not log "executed". */
enum { WORKER_FAILED = 2 };

struct options {
	long jobs;
	long slots;
	const char *languages;
	const char *backend;
	int cold;
	int no_zygote;
	int list;	/* --list-languages */
};

/* A forked process running one job; its line arrives on fd. */
struct worker {
	pid_t pid;
	int fd;
	char *buf;
	size_t len;
	cJSON *job;	/* kept to report a worker that died; owned */
	const struct lang *lang;
	uint64_t start_ns;
};

/* The worker forked ahead of the next job (sandbox-exec(1), "Warm
 * boxes"; the ns backend): it takes a slot as soon as one is free and
 * makes the box of the job's likely first step, then waits for the job's
 * line on job_fd. */
struct ahead {
	pid_t pid;	/* 0: none */
	int job_fd;	/* the write end of its job pipe */
	int fd;		/* its lines, as any worker's */
};

/* Telemetry of the main process (the workers have none: lib/otel/otel.h). */
struct metrics {
	int exporting;		/* otel_init() started an exporter */
	struct otel_metric *jobs, *duration, *slots;
};

struct state {
	struct options opt;
	struct lang_table table;
	struct cg_sys cgs;
	int *netns;		/* ns: the slots' network namespaces (slotnet.h) */
	int nnetns;
	struct line_reader in;
	struct worker *workers;
	int nworkers;
	pid_t *exiting;		/* workers that answered, not yet reaped */
	int nexiting;
	int next_slot;
	struct ahead ahead;
	int taken;		/* the read end of the newest worker's `taken`
				 * pipe (struct held), or -1 */
	struct job guess;	/* what the last job started was (no line): the
				 * likely shape of the next one */
	char *guess_entry;	/* guess.entry, owned */
	int guessed;
	int sigfd;
	int stopping;
	struct metrics m;
};

static void parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{"jobs", required_argument, NULL, 'j'}, {"slots", required_argument, NULL, 's'},
		{"languages", required_argument, NULL, 'l'}, {"backend", required_argument, NULL, 'b'},
		{"cold", no_argument, NULL, 'c'}, {"list-languages", no_argument, NULL, 'L'},
		{"no-zygote", no_argument, NULL, 'Z'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'j': o->jobs = arg_number("--jobs", optarg, 1, MAX_WORKERS); break;
		case 's': o->slots = arg_number("--slots", optarg, 1, 1024); break;
		case 'l': o->languages = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'c': o->cold = 1; break;
		case 'Z': o->no_zygote = 1; break;
		case 'L': o->list = 1; break;
		case 'h': usage_help(usage_text);
		case 'V': usage_version();
		default: usage_error(usage_text, "unknown option, or one without its value: %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		usage_error(usage_text, "unexpected argument %s", argv[optind]);
	const char *name = box_backend(o->backend);
	if (name == NULL)
		die(EXIT_PERMANENT, "backend '%s' is not available (ns and docker are)",
		    o->backend && *o->backend ? o->backend : getenv("SANDBOX_BACKEND"));
	o->backend = name;
}

static int docker_backend(const struct state *s)
{
	return strcmp(s->opt.backend, "docker") == 0;
}

/* The docker backend needs dockerd (111 while it is away) and the image
 * (100: build it first). */
static void check_docker(const struct state *s)
{
	struct dk d;
	char err[512], path[512];
	if (dk_open(&d, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	if (path_fmt(path, sizeof path, "/images/%s/json", s->table.image) != 0)
		die(EXIT_PERMANENT, "image name too long: '%.80s...'", s->table.image);
	int st = dk_call(&d, "GET", path, NULL, NULL, err, sizeof err);
	dk_close(&d);
	if (st < 0)
		die(EXIT_TEMPORARY, "%s", err);
	if (st == 404)
		die(EXIT_PERMANENT, "image %s not found (scripts/build-images makes it)", s->table.image);
	if (st != 200)
		die(EXIT_TEMPORARY, "dockerd: GET %s: status %d", path, st);
}

static void load_table(struct state *s)
{
	char err[512];
	if (lang_table_open(&s->table, s->opt.languages, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
}

/* --list-languages: the table's path, then a line per language. */
static void list_languages(const struct lang_table *t)
{
	printf("languages of %s (harnesses in %s)\n", t->path, t->share_dir);
	printf("%-12s %-29s %-9s %8s %8s %10s\n", "language", "shapes", "compiled", "time ms",
	       "wall ms", "memory MB");
	for (size_t i = 0; i < t->n; i++) {
		const struct lang *l = &t->langs[i];
		char shapes[64] = "";
		for (int s = 0; s < SHAPE_COUNT; s++)
			if (job_lang_takes(l, (enum job_shape)s))
				snprintf(shapes + strlen(shapes), sizeof shapes - strlen(shapes), "%s%s",
					 *shapes ? " " : "", job_shape_name((enum job_shape)s));
		printf("%-12s %-29s %-9s %8lld %8lld %10lld\n", l->name, shapes,
		       l->compile ? "yes" : "no", (long long)l->limits.time_ms,
		       (long long)l->limits.wall_ms, (long long)l->limits.memory_mb);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_TEMPORARY, "stdout: write error");
}

/* A network namespace per slot (the first MAX_SLOT_NETNS; each takes
 * some 200 KiB of kernel memory), kept for our whole life; a slot without
 * one, or all of them when the kernel refuses, gets one per step. */
static void slot_networks(struct state *s)
{
	s->nnetns = s->opt.slots < MAX_SLOT_NETNS ? (int)s->opt.slots : MAX_SLOT_NETNS;
	s->netns = xcalloc((size_t)s->nnetns, sizeof *s->netns);
	for (int k = 0; k < s->nnetns; k++)
		if ((s->netns[k] = slotnet_make()) < 0) {
			log_warn("a network namespace per slot: %s; one per step instead", strerror(errno));
			s->nnetns = k;
			break;
		}
}

/* The zygotes of the languages that have one (zygote.h), with the
 * environment of their steps. */
static void start_zygotes(struct state *s)
{
	for (size_t i = 0; i < s->table.n; i++) {
		const struct lang *l = &s->table.langs[i];
		char **env = runner_env(&s->table, &box_ns_ops, l);
		zygote_start(&s->table, l, env);
		free(env);
	}
}

static void setup(struct state *s)
{
	char err[512];
	const char *pool = getenv("CONTAINER_POOL_SIZE");
	load_table(s);
	if (s->opt.list) {
		list_languages(&s->table);
		lang_table_free(&s->table);
		exit(EXIT_OK);
	}
	/* The platform's variables are configuration: a bad one stops us here
	 * instead of poisoning every job. */
	struct sbx_limits probe;
	limit_default(&probe);
	if (limit_from_env(&probe, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	if (s->opt.slots == 0)
		s->opt.slots = pool && *pool ? arg_number("CONTAINER_POOL_SIZE", pool, 1, 1024)
					     : s->table.slots;
	if (s->opt.jobs == 0)
		s->opt.jobs = s->opt.slots;
	/* From here on a SIGTERM or SIGINT is read in the loop: one that comes
	 * while the zygotes start (a second or more in an emulated guest)
	 * still ends us cleanly. */
	s->sigfd = sigfd_open();
	/* For our whole life: no other instance may run boxes as our uids.
	 * The register is root's: a docker user without root runs unchecked. */
	if (instance_register(&s->table, NULL, err, sizeof err) < 0) {
		if (!docker_backend(s) || geteuid() == 0)
			die(EXIT_PERMANENT, "%s", err);
		log_warn("instance %s not registered (%s): make sure no other instance uses its uids",
			 s->table.instance, err);
	}
	if (docker_backend(s)) {
		check_docker(s);
	} else {
		if (geteuid() != 0)
			die(EXIT_PERMANENT, "the ns backend needs root (mount, pid and net namespaces, cgroups)");
		if (cg_setup(&s->cgs, s->table.instance, err, sizeof err) != 0)
			die(EXIT_PERMANENT, "%s", err);
		/* Built once here, installed by each step. */
		if (policy_prepare() != 0)
			die_sys(EXIT_PERMANENT, "the seccomp filter");
		slot_networks(s);
		if (!s->opt.no_zygote)
			start_zygotes(s);
	}
	s->taken = -1;
	s->workers = xcalloc((size_t)s->opt.jobs, sizeof *s->workers);
	line_init_values(&s->in, 0, CAP_JOB_LINE);
	log_info("%s backend, %ld slots, -j %ld; %zu languages from %s", s->opt.backend,
		 s->opt.slots, s->opt.jobs, s->table.n, s->table.path);
}

static void emit(const cJSON *line)
{
	if (jsonx_write_line(stdout, line) != 0)
		die_sys(EXIT_TEMPORARY, "stdout");
}

static void emit_error(cJSON *job, const char *kind, const char *code, const char *msg)
{
	jsonx_set_error(job, kind, code, msg);
	log_job(kind[0] == 'p' ? LOG_WARN : LOG_ERROR, job, "%s: %s", code, msg);
	emit(job);
}

/* Marks the job failed by the infrastructure, logs it. Returns WORKER_FAILED. */
static int infra_error(struct job *j, const char *code, const char *msg)
{
	jsonx_set_error(j->line, "infrastructure", code, msg);
	log_job(LOG_ERROR, j->line, "%s: %s", code, msg);
	return WORKER_FAILED;
}

static int slot_timeout(struct state *s, struct job *j)
{
	char err[128];
	snprintf(err, sizeof err, "no sandbox slot free after %ld ms", s->table.acquire_ms);
	return infra_error(j, "slot-timeout", err);
}

/* A worker's slot and its open ns box. */
struct held {
	int slot, lock;			/* lock -1: no slot held */
	int taken;			/* closed once a slot is held or tried for:
					 * the worker forked after this one waits
					 * for that before it takes one (-1: done) */
	struct box b;
	const struct lang *lang;	/* what the box was opened for */
	int64_t workdir_mb;
	struct runner_warm warm;	/* what its first step's box was made for */
};

static void slot_taken(struct held *h)
{
	if (h->taken >= 0)
		close(h->taken);
	h->taken = -1;
}

static int open_box(struct state *s, const struct lang *l, int64_t workdir_mb, struct held *h,
		    char *err, size_t errlen)
{
	if (box_open(&h->b, &s->table, l, &s->cgs, h->slot, workdir_mb, err, errlen) != 0)
		return -1;
	h->b.netfd = h->slot < s->nnetns ? s->netns[h->slot] : -1;
	h->lang = l;
	h->workdir_mb = workdir_mb;
	return 0;
}

/* Ends the box and lets the slot go: the box's processes and groups are
 * gone when box_close() returns. Its mounts go when the worker exits
 * (unmounting waits for an RCU grace period: not while the job's line is
 * due), or at once with unmount (a warm box given up). */
static void let_go(const struct state *s, struct held *h, int unmount)
{
	if (h->lock < 0)
		return;
	if (unmount)
		box_end(&h->b);
	else
		box_close(&h->b);
	slot_let_go(s->table.state_dir, h->slot, h->lock);
	h->lock = -1;
	runner_warm_free(&h->warm);
}

/* Whether l's boxes have mounts of their own (a cache, or its `mounts`). */
static int own_mounts(const struct lang *l)
{
	return l->cache_box != NULL || l->mounts != NULL;
}

/* Whether the box held was opened as job j needs: the same tmpfs size
 * and, where a language has mounts of its own, the same language. */
static int box_fits(const struct held *h, const struct job *j)
{
	return h->workdir_mb == j->limits.workdir_mb &&
	       (h->lang == j->lang || (!own_mounts(h->lang) && !own_mounts(j->lang)));
}

/* Each returns 0, or WORKER_FAILED with an error section in the job, and
 * records the sandbox's phases in ph. h: a slot held already, with its
 * box (lock -1: none). */
static int run_ns(struct state *s, struct job *j, int slot_hint, struct held *h,
		  struct runner_phases *ph)
{
	char err[512];
	uint64_t t = now_unix_ns();
	if (h->lock >= 0 && !box_fits(h, j))
		let_go(s, h, 1);
	if (h->lock >= 0) {
		runner_phase(ph, "acquire", t);	/* done before the job came */
		runner_phase(ph, "setup", t);
	} else {
		h->slot = slot_acquire(s->table.state_dir, (int)s->opt.slots, slot_hint,
				       s->table.acquire_ms, &h->lock);
		slot_taken(h);
		runner_phase(ph, "acquire", t);
		if (h->slot == SLOT_BUSY)
			return slot_timeout(s, j);
		if (h->slot < 0) {
			h->lock = -1;
			snprintf(err, sizeof err, "cannot lock a sandbox slot: %s", strerror(errno));
			return infra_error(j, "box-setup", err);
		}
		t = now_unix_ns();
		if (open_box(s, j->lang, j->limits.workdir_mb, h, err, sizeof err) != 0)
			return infra_error(j, "box-setup", err);
		runner_phase(ph, "setup", t);
	}
	cJSON *exec = runner_run(&s->table, &box_ns_ops, &h->b, j, h->slot, ph, err, sizeof err);
	/* The slot is let go now, before the line, so that the worker ahead
	 * can make the next job's box meanwhile; unless the kernel still
	 * holds the last step's group (v1: milliseconds, at times): then once
	 * the line is out (work()), after its removal. */
	if (box_tidy(&h->b) == 0)
		let_go(s, h, 0);
	if (exec == NULL)
		return infra_error(j, "box-setup", err);
	jsonx_set(j->line, "exec", exec);
	return 0;
}

static int run_docker(struct state *s, struct job *j, int slot_hint, struct runner_phases *ph)
{
	char err[512];
	struct dbox b;
	uint64_t t = now_unix_ns();
	int slot = dbox_open(&b, &s->table, j->lang, (int)s->opt.slots, slot_hint, err, sizeof err);
	runner_phase(ph, "acquire", t);
	if (slot == SLOT_BUSY)
		return slot_timeout(s, j);
	cJSON *exec = slot < 0 ? NULL : runner_run(&s->table, &dbox_ops, &b, j, slot, ph, err, sizeof err);
	t = now_unix_ns();
	if (slot >= 0) {
		dbox_close(&b);
		runner_phase(ph, "clean", t);
	}
	if (exec == NULL)
		return infra_error(j, "docker", err);
	jsonx_set(j->line, "exec", exec);
	return 0;
}

/* The phases at debug level, each as its start (from the first's) and its
 * length in ms: the breakdown of docs/sandbox.md, "Where the time goes". */
static void log_phases(const struct job *j, const struct runner_phases *ph)
{
	char text[2048];
	size_t n = 0;
	if (!log_enabled(LOG_DEBUG) || ph->n == 0)
		return;
	for (int i = 0; i < ph->n && n < sizeof text; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s%s %.3f+%.3f", i ? ", " : "",
				      ph->v[i].name, (double)(ph->v[i].start_ns - ph->v[0].start_ns) / 1e6,
				      (double)(ph->v[i].end_ns - ph->v[i].start_ns) / 1e6);
	log_job(LOG_DEBUG, j->line, "phases: %s ms", text);
}

/* A worker leaves SIGINT and SIGTERM to the main process: a Ctrl-C
 * reaches the whole process group, and the job in hand finishes, as the
 * main process lets it (in-flight jobs drain). */
static void worker_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigfd_unblock();
}

/* The worker's life from its job on: slot (unless h holds one),
 * sandbox, steps, then on fd the job's line and a line of its phases (for
 * the main process's spans), exit; the slot is let go before the line
 * (run_ns), or after it when its last group is slow to go. */
static void __attribute__((noreturn)) work(struct state *s, struct job *j, int slot_hint,
					   struct held *h, int fd)
{
	struct runner_phases ph = {.n = 0};
	const cJSON *err;
	FILE *out = fdopen(fd, "w");
	if (out == NULL)
		_exit(EXIT_TEMPORARY);
	int rc = docker_backend(s) ? run_docker(s, j, slot_hint, &ph) : run_ns(s, j, slot_hint, h, &ph);
	log_phases(j, &ph);
	cJSON *trace = cJSON_CreateObject();
	cJSON_AddItemToObject(trace, "phases", runner_phases_json(&ph));
	err = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j->line, "error"), "code");
	if (cJSON_IsString(err))
		cJSON_AddStringToObject(trace, "error", err->valuestring);
	/* Closed before the exit, whose clean-up (the box's mounts, fds that
	 * are slow to close) then follows the lines instead of delaying them. */
	if (jsonx_write_line(out, j->line) != 0 || jsonx_write_line(out, trace) != 0 ||
	    fclose(out) != 0)
		_exit(EXIT_TEMPORARY);
	let_go(s, h, 0);
	_exit(rc);
}

/* A worker ahead of its job: a slot, if one is free and nobody waited for
 * one lately, with the box of the guessed job's first step. Any failure
 * leaves no slot held: the job then takes one when it comes. */
static void warm_up(struct state *s, int slot_hint, struct held *h)
{
	char err[512];
	const struct job *g = &s->guess;
	if (slot_wanted(s->table.state_dir, WANT_QUIET_MS))
		return;
	h->slot = slot_take_idle(s->table.state_dir, (int)s->opt.slots, slot_hint, &h->lock);
	if (h->slot < 0) {
		h->lock = -1;
		return;
	}
	slot_taken(h);
	if (open_box(s, g->lang, g->limits.workdir_mb, h, err, sizeof err) != 0 ||
	    runner_warm(&s->table, &box_ns_ops, &h->b, g, &h->warm, err, sizeof err) != 0) {
		log_warn("no warm box in slot %d: %s", h->slot, err);
		let_go(s, h, 1);
	}
}

/* Until the job's line comes on job_fd: a warm box in a slot as soon as
 * one is free, given up when another process wants a slot (slot.h). Not
 * before the worker forked before this one has its slot (before: the read
 * end of its `taken` pipe, at end of file then): the job handed to it
 * must not find its slot taken by us. Returns the line, read to its end,
 * or NULL when none came (the main process is done). */
static char *await_job(struct state *s, int job_fd, int before, int slot_hint, struct held *h,
		       size_t *len)
{
	/* Left open: closing an inotify fd waits for an SRCU grace period
	 * (milliseconds); it goes when the worker exits. */
	int watch = slot_watch(s->table.state_dir);
	struct sbuf text = {0};
	char chunk[65536];
	int coming = 0;		/* the job's first bytes came: no more warming */
	for (;;) {
		if (!coming && before < 0 && h->lock < 0 && watch >= 0)
			warm_up(s, slot_hint, h);
		struct pollfd pf[3] = {{.fd = job_fd, .events = POLLIN},
				       {.fd = coming || before >= 0 ? -1 : watch, .events = POLLIN},
				       {.fd = coming ? -1 : before, .events = POLLIN}};
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			_exit(EXIT_TEMPORARY);
		if (pf[2].revents) {	/* the job before has its slot */
			close(before);
			before = -1;
			continue;
		}
		int events = pf[1].revents ? slot_events(watch) : 0;
		if ((events & SLOT_WANTED) && h->lock >= 0) {
			log_debug("slot %d wanted elsewhere: its warm box is given up", h->slot);
			let_go(s, h, 1);
		} else if ((events & SLOT_FREED) && h->lock < 0 && !coming) {
			continue;	/* a slot may be free: take it before the job */
		}
		if (!pf[0].revents)
			continue;
		ssize_t n = read(job_fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (text.len + (size_t)n > CAP_JOB_LINE)
			_exit(EXIT_TEMPORARY);	/* the main process sends no more */
		sbuf_put(&text, chunk, (size_t)n);
		coming = 1;
	}
	*len = text.len;
	return text.p;
}

/* The worker forked ahead: warm up, wait for the job, run it. */
static void __attribute__((noreturn)) work_ahead(struct state *s, int job_fd, int before,
						 int taken, int slot_hint, int fd)
{
	struct held h = {.lock = -1, .taken = taken};
	struct job j;
	const char *code;
	char msg[512];
	size_t len;
	worker_signals();
	char *text = await_job(s, job_fd, before, slot_hint, &h, &len);
	if (text == NULL) {
		let_go(s, &h, 0);
		_exit(0);
	}
	/* The main process parsed the same text: it cannot fail here. */
	if (job_parse(&j, jsonx_parse_line(text, len), &s->table, &code, msg, sizeof msg) != 0) {
		log_error("a job handed over does not parse again: %s", msg);
		_exit(EXIT_TEMPORARY);
	}
	free(text);
	work(s, &j, slot_hint, &h, fd);
}

static void metrics_init(struct state *s)
{
	s->m.jobs = otel_counter("codex.sandbox.jobs", "{job}",
				 "Jobs through sandbox-exec by language, backend and outcome");
	s->m.duration = otel_histogram("codex.sandbox.duration", "ms",
				       "A job's time in sandbox-exec, the wait for a slot included", NULL, 0);
	s->m.slots = otel_gauge("codex.sandbox.slots", "{slot}",
				"This sandbox-exec's slots by language and state (busy, free)");
}

/* The busy and free slots of language l, as this process sees them: ns
 * slots are shared by every language, docker slots are per language. */
static void report_slots(struct state *s, const struct lang *l)
{
	long busy = 0, all = s->nworkers;
	if (s->m.slots == NULL)
		return;
	for (int i = 0; i < s->nworkers; i++)
		busy += s->workers[i].lang == l;
	long left = s->opt.slots - (docker_backend(s) ? busy : all);
	struct otel_attr a[2] = {{"codex.language", l->name}, {"state", "busy"}};
	otel_metric_set(s->m.slots, busy, a, 2);
	a[1].value = "free";
	otel_metric_set(s->m.slots, left > 0 ? left : 0, a, 2);
}

/* Span names of the worker's phases (runner.h). */
static const char *phase_span(const char *phase)
{
	static const char *const names[][2] = {
		{"acquire", "slot acquire"}, {"setup", "box setup"}, {"files", "box files"},
		{"compile", "compile"}, {"run", "run"}, {"clean", "box clean"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(phase, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

static void trace_phases(struct otel_span *parent, const cJSON *phases)
{
	struct tracectx ctx;
	const cJSON *p;
	if (otel_span_context(parent, &ctx) != 0)
		return;
	cJSON_ArrayForEach(p, phases) {
		const char *phase = cJSON_GetStringValue(cJSON_GetArrayItem(p, 0));
		const char *name = phase ? phase_span(phase) : NULL;
		double start = cJSON_GetNumberValue(cJSON_GetArrayItem(p, 1));
		double end = cJSON_GetNumberValue(cJSON_GetArrayItem(p, 2));
		if (name == NULL || !(start > 0 && end >= start))
			continue;
		struct otel_span *c = otel_span_start_at(name, OTEL_INTERNAL, &ctx, (uint64_t)start);
		otel_span_end_at(c, (uint64_t)end);
	}
}

/* The job's `execute` span, its phases' spans and the job metrics. t is
 * the worker's second line (NULL when it died); error its infrastructure
 * error code, or NULL. */
static void trace_job(struct state *s, const struct worker *w, const cJSON *t, const char *error)
{
	if (!s->m.exporting)
		return;		/* no spans and no metrics to make */
	struct otel_span *sp = jobtrace_start_at("execute", OTEL_INTERNAL, w->job, w->start_ns);
	otel_span_set_str(sp, "codex.backend", s->opt.backend);
	if (error)
		otel_span_set_error(sp, error, "the sandbox failed; the job is retried");
	trace_phases(sp, cJSON_GetObjectItemCaseSensitive(t, "phases"));
	otel_span_end(sp);
	struct otel_attr a[3] = {
		{"codex.language", w->lang->name}, {"codex.backend", s->opt.backend},
		{"codex.outcome", error ? error : "executed"},
	};
	otel_metric_add(s->m.jobs, 1, a, 3);
	otel_metric_record(s->m.duration, (double)(now_unix_ns() - w->start_ns) / 1e6, a, 2);
}

/* Remembers what j is like (not its line): the next job's likely first
 * step, for the next worker forked ahead. */
static void remember(struct state *s, const struct job *j)
{
	free(s->guess_entry);
	s->guess_entry = j->entry ? xstrdup(j->entry) : NULL;
	s->guess = (struct job){.shape = j->shape, .mode = j->mode, .lang = j->lang,
				.entry = s->guess_entry, .limits = j->limits,
				.compile_limits = j->compile_limits, .budget_ms = j->budget_ms};
	s->guessed = 1;
}

static void add_worker(struct state *s, pid_t pid, int fd, struct job *j)
{
	s->workers[s->nworkers++] = (struct worker){.pid = pid, .fd = fd, .job = j->line,
						    .lang = j->lang, .start_ns = now_unix_ns()};
	j->line = NULL;
	report_slots(s, j->lang);
	log_job(LOG_DEBUG, s->workers[s->nworkers - 1].job, "started worker %d", (int)pid);
	job_free(j);
}

/* A `taken` pipe (struct held) for the worker about to be forked: returns
 * its write end; *before is the read end of the worker forked before it
 * (or -1), for a worker ahead to wait on. The caller closes both once it
 * has forked. */
static int new_taken(struct state *s, int *before)
{
	int t[2];
	if (pipe2(t, O_CLOEXEC) != 0)
		die_sys(EXIT_TEMPORARY, "pipe");
	*before = s->taken;
	s->taken = t[0];
	return t[1];
}

static void close_forked(int taken, int before)
{
	close(taken);
	if (before >= 0)
		close(before);
}

/* Forks a worker: its line pipe (*fd: the read end here, the write end in
 * the child) and its `taken` pipe (*taken, *before: the child's). Returns
 * the pid, or 0 in the child, whose slot hint is s->next_slot. */
static pid_t fork_worker(struct state *s, int *fd, int *taken, int *before)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die_sys(EXIT_TEMPORARY, "pipe");
	*taken = new_taken(s, before);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die_sys(EXIT_TEMPORARY, "fork");
	if (pid == 0) {
		close(p[0]);
		*fd = p[1];
		return 0;
	}
	close_forked(*taken, *before);
	close(p[1]);
	*fd = p[0];
	s->next_slot = (s->next_slot + 1) % (int)s->opt.slots;
	return pid;
}

static void fork_ahead(struct state *s)
{
	int jp[2], fd, taken, before;
	if (pipe2(jp, O_CLOEXEC) != 0)
		die_sys(EXIT_TEMPORARY, "pipe");
	pid_t pid = fork_worker(s, &fd, &taken, &before);
	if (pid == 0) {
		close(jp[1]);
		work_ahead(s, jp[0], before, taken, s->next_slot, fd);
	}
	close(jp[0]);
	s->ahead = (struct ahead){.pid = pid, .job_fd = jp[1], .fd = fd};
}

/* Ends the worker forked ahead: with no job (job_fd closed) it lets its
 * slot go and exits. */
static void end_ahead(struct state *s)
{
	struct ahead a = s->ahead;
	int status;
	if (a.pid == 0)
		return;
	s->ahead = (struct ahead){0};
	if (a.job_fd >= 0)
		close(a.job_fd);
	close(a.fd);
	waitpid(a.pid, &status, 0);
	if (status != 0)
		log_warn("worker %d forked ahead ended with status 0x%x", (int)a.pid, status);
}

/* Hands j (its line as read) to the worker forked ahead. Returns 0, or -1
 * when there is none or it is gone. */
static int hand_over(struct state *s, const struct line *ln, struct job *j)
{
	struct ahead *a = &s->ahead;
	if (a->pid == 0)
		return -1;
	int rc = write_all(a->job_fd, ln->text, ln->len);
	close(a->job_fd);
	a->job_fd = -1;
	if (rc != 0) {
		end_ahead(s);
		return -1;
	}
	add_worker(s, a->pid, a->fd, j);
	*a = (struct ahead){0};
	return 0;
}

static void spawn(struct state *s, const struct line *ln, struct job *j)
{
	int fd, taken, before;
	remember(s, j);
	if (hand_over(s, ln, j) == 0)
		return;
	pid_t pid = fork_worker(s, &fd, &taken, &before);
	if (pid == 0) {
		worker_signals();
		work(s, j, s->next_slot, &(struct held){.lock = -1, .taken = taken}, fd);
	}
	add_worker(s, pid, fd, j);
}

/* Is the job line, as printed, longer than CAP_JOB_LINE? Then the line
 * with its exec section could outgrow the judge's cap: poison. */
static int printed_over_cap(const cJSON *line, const char **code, char *msg, size_t msglen)
{
	size_t len;
	char *text = jsonx_print_within(line, CAP_JOB_LINE, &len);
	if (text) {
		free(text);
		return 0;
	}
	*code = "oversized";
	snprintf(msg, msglen, "the job takes %zu bytes printed, over the cap of %d", len, CAP_JOB_LINE);
	return 1;
}

static void handle_line(struct state *s, const struct line *ln)
{
	char msg[512];
	const char *code;
	struct job j;
	if (ln->oversized) {
		cJSON *e = jsonx_unparsable(ln->text, ln->len, "oversized", "line over the size cap");
		emit_error(e, "poison", "oversized", "line over the size cap");
		cJSON_Delete(e);
		return;
	}
	cJSON *line = jsonx_parse_line(ln->text, ln->len);
	if (!cJSON_IsObject(line)) {
		cJSON_Delete(line);
		cJSON *e = jsonx_unparsable(ln->text, ln->len, "invalid-json", "not a JSON object");
		emit_error(e, "poison", "invalid-json", "not a JSON object");
		cJSON_Delete(e);
		return;
	}
	if (cJSON_HasObjectItem(line, "error")) {	/* a stage before us gave up on it */
		emit(line);
		cJSON_Delete(line);
		return;
	}
	if (jsonx_check_text(ln->text, ln->len, msg, sizeof msg) != 0) {
		emit_error(line, "poison", "invalid-job", msg);
		cJSON_Delete(line);
		return;
	}
	if (job_parse(&j, line, &s->table, &code, msg, sizeof msg) != 0 ||
	    printed_over_cap(j.line, &code, msg, sizeof msg)) {
		emit_error(j.line, "poison", code, msg);
		job_free(&j);
		return;
	}
	spawn(s, ln, &j);
}

/* Reaps the workers that answered and are still exiting (block: all of
 * them), leaving the others for later. */
static void reap(struct state *s, int block)
{
	for (int i = s->nexiting - 1; i >= 0; i--)
		if (waitpid(s->exiting[i], NULL, block ? 0 : WNOHANG) != 0)
			s->exiting[i] = s->exiting[--s->nexiting];
}

/* The worker wrote the job's line, then its trace line, and closed its
 * end. Both whole: the job is answered at once, and the worker reaped
 * later (its exit takes its box's mounts down, which waits for RCU grace
 * periods). Anything less: it died, and the job gets an error. */
static void finish(struct state *s, int i)
{
	struct worker *w = &s->workers[i];
	close(w->fd);
	char *nl = w->buf ? memchr(w->buf, '\n', w->len) : NULL;
	size_t n = nl ? (size_t)(nl - w->buf) + 1 : 0;
	if (nl && w->len > n && w->buf[w->len - 1] == '\n') {
		if (fwrite(w->buf, 1, n, stdout) != n || fflush(stdout) != 0)
			die_sys(EXIT_TEMPORARY, "stdout");
		cJSON *t = cJSON_ParseWithLength(nl + 1, w->len - n);
		const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "error"));
		if (error == NULL)
			log_job(LOG_INFO, w->job, "executed");
		trace_job(s, w, t, error);
		cJSON_Delete(t);
		s->exiting = xrealloc(s->exiting, (size_t)(s->nexiting + 1) * sizeof *s->exiting);
		s->exiting[s->nexiting++] = w->pid;
	} else {
		int status;
		char msg[128];
		waitpid(w->pid, &status, 0);
		snprintf(msg, sizeof msg, "worker %d ended with status 0x%x", (int)w->pid, status);
		emit_error(w->job, "infrastructure", "box-setup", msg);
		trace_job(s, w, NULL, "box-setup");
	}
	const struct lang *l = w->lang;
	free(w->buf);
	cJSON_Delete(w->job);
	s->workers[i] = s->workers[--s->nworkers];
	report_slots(s, l);
}

static void collect(struct state *s, int i)
{
	struct worker *w = &s->workers[i];
	char chunk[65536];
	ssize_t n = read(w->fd, chunk, sizeof chunk);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		finish(s, i);
		return;
	}
	w->buf = xrealloc(w->buf, w->len + (size_t)n);
	memcpy(w->buf + w->len, chunk, (size_t)n);
	w->len += (size_t)n;
}

/* Starts jobs from lines already read, while there is room. */
static void dispatch(struct state *s)
{
	struct line ln;
	while (!s->stopping && s->nworkers < s->opt.jobs && line_next(&s->in, &ln))
		handle_line(s, &ln);
}

static void on_signal(struct state *s)
{
	if (sigfd_read(s->sigfd) > 0 && !s->stopping) {
		log_info("finishing %d in-flight jobs", s->nworkers);
		s->stopping = 1;
		end_ahead(s);
	}
}

/* A worker ahead of the next job, once a job has shown what the next is
 * likely to be (the ns backend only). It is forked as soon as the job
 * before is handed over, so that it takes the first slot let go. */
static void look_ahead(struct state *s)
{
	if (s->ahead.pid && (s->stopping || s->in.eof))
		end_ahead(s);	/* no job comes */
	else if (s->ahead.pid == 0 && s->guessed && !docker_backend(s) && !s->opt.cold &&
		 !s->stopping && !s->in.eof)
		fork_ahead(s);
}

static void loop(struct state *s)
{
	struct pollfd *pf = xcalloc((size_t)s->opt.jobs + 4, sizeof *pf);
	for (;;) {
		reap(s, 0);
		zygote_check();
		dispatch(s);
		look_ahead(s);
		int reading = !s->stopping && !s->in.eof && s->nworkers < s->opt.jobs;
		if (!reading && s->nworkers == 0)
			break;
		pf[0] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = reading ? 0 : -1, .events = POLLIN};
		for (int i = 0; i < s->nworkers; i++)
			pf[i + 2] = (struct pollfd){.fd = s->workers[i].fd, .events = POLLIN};
		int nw = s->nworkers;
		/* stdout too, for POLLERR: the next stage gone while we wait. */
		pf[nw + 2] = (struct pollfd){.fd = 1, .events = 0};
		/* The worker ahead writes nothing before its job: it died. */
		pf[nw + 3] = (struct pollfd){.fd = s->ahead.pid ? s->ahead.fd : -1, .events = POLLIN};
		if (poll(pf, (nfds_t)nw + 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_sys(EXIT_TEMPORARY, "poll");
		}
		if (pf[0].revents)
			on_signal(s);
		if (pf[nw + 2].revents & (POLLERR | POLLHUP))
			die(EXIT_TEMPORARY, "stdout: its reader is gone");
		if (pf[nw + 3].revents && s->ahead.pid)
			end_ahead(s);
		if (pf[1].revents && line_fill(&s->in) < 0 && errno != EINTR && errno != EAGAIN)
			die_sys(EXIT_TEMPORARY, "stdin");
		/* Backwards: finish() moves the last worker into the freed place. */
		for (int i = nw - 1; i >= 0; i--)
			if (pf[i + 2].revents)
				collect(s, i);
	}
	end_ahead(s);
	reap(s, 1);
	zygote_stop_all();
	free(pf);
}

int main(int argc, char **argv)
{
	struct state s = {0};
	util_init(argv[0]);
	log_init("sandbox-exec");
	parse_args(&s.opt, argc, argv);
	setup(&s);
	s.m.exporting = otel_init("sandbox-exec");
	metrics_init(&s);
	loop(&s);
	line_free(&s.in);
	free(s.workers);
	free(s.exiting);
	free(s.guess_entry);
	otel_shutdown();
	lang_table_free(&s.table);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_TEMPORARY, "stdout: write error");
	return EXIT_OK;
}
