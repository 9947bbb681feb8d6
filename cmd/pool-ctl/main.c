/* pool-ctl: the warm pool of sandbox slots, for both backends.
 *
 * usage, commands and options: usage_text below (and pool-ctl(1)).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jsonx.h"
#include "core/lang.h"
#include "core/log.h"
#include "core/sigfd.h"
#include "core/util.h"
#include "otel/otel.h"
#include "sandbox/backend.h"
#include "sandbox/cgroup.h"
#include "sandbox/docker.h"
#include "sandbox/pool.h"
#include "sandbox/slot.h"

static const char usage_text[] =
	"usage: pool-ctl [--backend ns|docker] [--slots N] [--languages FILE] [--json]\n"
	"                up | status | watch [--interval S] [--once] | down\n"
	"       pool-ctl --help | --version\n"
	"\n"
	"Creates, shows, heals and removes the warm pool of sandbox slots.\n"
	"\n"
	"  up       docker: a running container in every slot of every language;\n"
	"           ns: the slot locks and the cgroup parent\n"
	"  status   one row per slot: slot, language, state, jobs run, age, last\n"
	"           health check (docker), or slot, uid, state (ns); --json: JSON\n"
	"  watch    docker: every S seconds (default 5), replaces free slots whose\n"
	"           container is dead, dirty (a job timed out or broke it), too old\n"
	"           or has run too many jobs; until SIGTERM, or one pass with --once\n"
	"  down     docker: removes every pool container and the slots' state\n"
	"\n"
	"  --backend ns|docker  the backend (default: SANDBOX_BACKEND, else ns)\n"
	"  --slots N            slots per language (default: CONTAINER_POOL_SIZE, else\n"
	"                       the table's)\n"
	"  --languages FILE     the language table (default: as sandbox-exec finds it)\n"
	"\n"
	"Environment: SANDBOX_BACKEND, CONTAINER_POOL_SIZE, CODEX_LANGUAGES, CODEX_INSTANCE,\n"
	"DOCKER_HOST, SANDBOX_CGROUP_ROOT, LOG_LEVEL, LOG_FORMAT.\n"
	"\n"
	"Exit status: 0, 100 usage or configuration error, 111 dockerd unreachable.\n";

enum { MAX_SLOTS = 1024 };

struct options {
	const char *command;
	const char *languages;
	const char *backend;
	long slots;
	long interval;
	int json, once;
};

struct pool {
	struct options opt;
	struct lang_table table;
	struct dk dk;
	int docker;
	struct otel_metric *replaced;	/* NULL with telemetry off */
	struct otel_metric *slots;
};

/* Per language, one pass of heal_all() over its slots. */
struct tally {
	long ready, busy, broken;
};

static void parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{"slots", required_argument, NULL, 's'}, {"languages", required_argument, NULL, 'l'},
		{"backend", required_argument, NULL, 'b'}, {"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, 'o'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	opterr = 0;
	o->interval = 5;
	while ((c = getopt_long(argc, argv, "hV", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->slots = arg_number("--slots", optarg, 1, MAX_SLOTS); break;
		case 'l': o->languages = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'i': o->interval = arg_number("--interval", optarg, 1, 86400); break;
		case 'o': o->once = 1; break;
		case 'J': o->json = 1; break;
		case 'h': usage_help(usage_text);
		case 'V': usage_version();
		default: usage_error(usage_text, "unknown option, or one without its value: %s", argv[optind - 1]);
		}
	}
	if (optind == argc)
		usage_error(usage_text, "no command (up, status, watch or down)");
	if (optind < argc - 1)
		usage_error(usage_text, "unexpected argument %s", argv[optind + 1]);
	o->command = argv[optind];
	if (strcmp(o->command, "up") != 0 && strcmp(o->command, "status") != 0 &&
	    strcmp(o->command, "watch") != 0 && strcmp(o->command, "down") != 0)
		usage_error(usage_text, "unknown command %s", o->command);
	const char *name = box_backend(o->backend);
	if (name == NULL)
		die(EXIT_PERMANENT, "backend '%s' is not available (ns and docker are)",
		    o->backend && *o->backend ? o->backend : getenv("SANDBOX_BACKEND"));
	o->backend = name;
}

static long slots_of(const struct pool *p)
{
	const char *env = getenv("CONTAINER_POOL_SIZE");
	if (p->opt.slots)
		return p->opt.slots;
	return env && *env ? arg_number("CONTAINER_POOL_SIZE", env, 1, MAX_SLOTS) : p->table.slots;
}

static void emit_row(cJSON *row)
{
	if (jsonx_write_line(stdout, row) != 0)
		die_sys(EXIT_TEMPORARY, "stdout");
	cJSON_Delete(row);
}

/* "busy" if a sandbox-exec holds the slot's lock, "free" otherwise. */
static const char *lock_state(const char *dir, long k)
{
	char path[PATH_MAX + 64];
	int fd = path_fmt(path, sizeof path, "%s/slots/%ld.lock", dir, k) == 0
			 ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (fd < 0)
		return "free";
	int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy ? "busy" : "free";
}

/* ---- ns: the boxes are made per job; the pool is the slots' locks. ---- */

static int ns_status(struct pool *p)
{
	long n = slots_of(p);
	if (!p->opt.json)
		printf("%-6s %-8s %s\n", "SLOT", "UID", "STATE");
	for (long k = 0; k < n; k++) {
		const char *st = lock_state(p->table.state_dir, k);
		if (!p->opt.json) {
			printf("%-6ld %-8ld %s\n", k, lang_slot_uid(&p->table, NULL, (int)k), st);
			continue;
		}
		cJSON *row = cJSON_CreateObject();
		cJSON_AddNumberToObject(row, "slot", (double)k);
		cJSON_AddNumberToObject(row, "uid", (double)lang_slot_uid(&p->table, NULL, (int)k));
		cJSON_AddStringToObject(row, "state", st);
		emit_row(row);
	}
	return EXIT_OK;
}

static int ns_up(struct pool *p)
{
	struct cg_sys cgs;
	char err[512];
	if (cg_setup(&cgs, p->table.instance, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	for (long k = 0; k < slots_of(p); k++) {
		int fd;
		if (slot_try(p->table.state_dir, (int)k, &fd) == SLOT_ERROR)
			die_sys(EXIT_PERMANENT, "%s/slots/%ld.lock", p->table.state_dir, k);
		if (fd >= 0)
			close(fd);
	}
	char what[1024];
	cg_describe(&cgs, what, sizeof what);
	log_info("ns pool: %s", what);
	log_info("ns pool: %ld slots ready in %s", slots_of(p), p->table.state_dir);
	if (cg_favordynmods("/proc/mounts") == 0)
		log_warn("ns pool: no cgroup hierarchy has favordynmods: each job may wait 10-20 ms "
			 "for an RCU grace period to enter its cgroup; on Linux 6.0+, "
			 "mount -o remount,favordynmods on the cgroup2 mount turns it on (docs/sandbox.md)");
	return EXIT_OK;
}

/* ---- docker: one container per language and slot. ---- */

static void open_docker(struct pool *p)
{
	char err[512];
	if (dk_open(&p->dk, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	int st = dk_call(&p->dk, "GET", "/_ping", NULL, NULL, err, sizeof err);
	if (st != 200)
		die(EXIT_TEMPORARY, "%s", st < 0 ? err : "dockerd: /_ping refused");
}

/* A `pool replace` span and the codex.pool.replaced counter for slot k of
 * l, replaced because of why; err is the failure, or NULL. */
static void report_replace(struct pool *p, const struct lang *l, int k, const char *why,
			   const char *container, const char *err)
{
	struct otel_span *span = otel_span_start("pool replace", OTEL_INTERNAL, NULL);
	struct otel_attr a[3] = {{"codex.language", l->name}, {"codex.replace.reason", why},
				 {"outcome", err ? "failed" : "replaced"}};
	otel_span_set_str(span, "codex.language", l->name);
	otel_span_set_int(span, "codex.slot", k);
	otel_span_set_str(span, "codex.replace.reason", why);
	if (container)
		otel_span_set_str(span, "container.id", container);
	if (err)
		otel_span_set_error(span, "docker", err);
	otel_span_end(span);
	otel_metric_add(p->replaced, 1, a, 3);
}

/* Replaces slot k of l when it must go; fd holds its lock. Returns 1 if it
 * was replaced, 0 if it was fine, -1 on an error (logged). */
static int heal(struct pool *p, const struct lang *l, int k)
{
	struct pool_slot s;
	char err[512];
	pool_slot_load(&s, &p->table, l->name, k);
	const char *why = pool_slot_stale(&s, &p->table);
	if (why == NULL) {
		int running = pool_running(&p->dk, &s, NULL, err, sizeof err);
		if (running < 0) {
			log_error("%s", err);
			return -1;
		}
		why = running ? NULL : "dead";
	}
	if (why == NULL) {
		s.checked_ms = now_wall_ms();
		pool_slot_save(&s);
		return 0;
	}
	if (pool_create(&p->dk, &p->table, l, &s, err, sizeof err) != 0 ||
	    pool_start(&p->dk, &s, err, sizeof err) != 0) {
		log_error("%s slot %d: %s", l->name, k, err);
		report_replace(p, l, k, why, NULL, err);
		return -1;
	}
	log_info("%s slot %d: new container %.12s (%s)", l->name, k, s.id, why);
	report_replace(p, l, k, why, s.id, NULL);
	return 1;
}

/* The codex.pool.slots gauge of language l after a pass. */
static void report_slots(struct pool *p, const struct lang *l, const struct tally *t)
{
	const char *states[] = {"ready", "busy", "broken"};
	long counts[] = {t->ready, t->busy, t->broken};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		struct otel_attr a[2] = {{"codex.language", l->name}, {"state", states[i]}};
		otel_metric_set(p->slots, counts[i], a, 2);
	}
}

/* One pass over every slot. With wait_ms > 0 (up), a busy slot is waited
 * for; otherwise (watch) it is skipped. Returns the number of errors. */
static int heal_all(struct pool *p, long wait_ms)
{
	int errors = 0;
	for (size_t i = 0; i < p->table.n; i++) {
		const struct lang *l = &p->table.langs[i];
		char dir[PATH_MAX];
		if (pool_dir(&p->table, l->name, dir, sizeof dir) != 0 ||
		    (mkdir(p->table.state_dir, 0700) != 0 && errno != EEXIST))
			die_sys(EXIT_PERMANENT, "%s", p->table.state_dir);
		struct tally t = {0};
		for (long k = 0; k < slots_of(p); k++) {
			int fd, rc;
			int64_t deadline = now_mono_ms() + wait_ms;
			while ((rc = slot_try(dir, (int)k, &fd)) == SLOT_BUSY && now_mono_ms() < deadline)
				usleep(20000);
			if (rc == SLOT_ERROR)
				die_sys(EXIT_PERMANENT, "%s/slots/%ld.lock", dir, k);
			if (rc == SLOT_BUSY) {
				t.busy++;	/* a job is in it: healthy enough */
				continue;
			}
			if (heal(p, l, (int)k) < 0)
				t.broken++;
			else
				t.ready++;
			close(fd);
		}
		report_slots(p, l, &t);
		errors += (int)t.broken;
	}
	return errors;
}

static int docker_up(struct pool *p)
{
	int errors = heal_all(p, p->table.acquire_ms);
	if (errors)
		die(EXIT_TEMPORARY, "%d slots could not be readied", errors);
	log_info("docker pool: %ld slots per language ready", slots_of(p));
	return EXIT_OK;
}

static int docker_watch(struct pool *p)
{
	int sig = sigfd_open();
	for (;;) {
		heal_all(p, 0);
		if (p->opt.once)
			break;
		struct pollfd pf = {.fd = sig, .events = POLLIN};
		if (poll(&pf, 1, (int)(p->opt.interval * 1000)) > 0 && sigfd_read(sig) > 0)
			break;
	}
	close(sig);
	return EXIT_OK;
}

static const char *slot_state(struct pool *p, const struct pool_slot *s, const char *lock)
{
	char err[512];
	if (strcmp(lock, "busy") == 0)
		return "busy";
	if (pool_slot_stale(s, &p->table))
		return s->id[0] ? "stale" : "none";
	int running = pool_running(&p->dk, s, NULL, err, sizeof err);
	if (running < 0)
		die(EXIT_TEMPORARY, "%s", err);
	return running ? "ready" : "dead";
}

static void status_row(struct pool *p, const struct pool_slot *s, const char *state)
{
	int64_t now = now_wall_ms();
	long age = s->created_ms ? (long)((now - s->created_ms) / 1000) : -1;
	long checked = s->checked_ms ? (long)((now - s->checked_ms) / 1000) : -1;
	if (!p->opt.json) {
		char age_s[24] = "-", checked_s[24] = "-";
		if (age >= 0)
			snprintf(age_s, sizeof age_s, "%ld", age);
		if (checked >= 0)
			snprintf(checked_s, sizeof checked_s, "%ld", checked);
		printf("%-5d %-11s %-6s %6ld %7s %8s  %.12s\n", s->k, s->lang, state, s->jobs,
		       age_s, checked_s, s->id[0] ? s->id : "-");
		return;
	}
	cJSON *row = cJSON_CreateObject();
	cJSON_AddNumberToObject(row, "slot", s->k);
	cJSON_AddStringToObject(row, "language", s->lang);
	cJSON_AddStringToObject(row, "state", state);
	cJSON_AddNumberToObject(row, "jobs", (double)s->jobs);
	if (age >= 0)
		cJSON_AddNumberToObject(row, "ageS", (double)age);
	else
		cJSON_AddNullToObject(row, "ageS");
	if (checked >= 0)
		cJSON_AddNumberToObject(row, "checkedS", (double)checked);
	else
		cJSON_AddNullToObject(row, "checkedS");
	cJSON_AddStringToObject(row, "container", s->id);
	emit_row(row);
}

static int docker_status(struct pool *p)
{
	if (!p->opt.json)
		printf("%-5s %-11s %-6s %6s %7s %8s  %s\n", "SLOT", "LANGUAGE", "STATE", "JOBS",
		       "AGE_S", "CHECK_S", "CONTAINER");
	for (size_t i = 0; i < p->table.n; i++) {
		char dir[PATH_MAX];
		if (pool_dir(&p->table, p->table.langs[i].name, dir, sizeof dir) != 0)
			die_sys(EXIT_PERMANENT, "%s", p->table.state_dir);
		for (long k = 0; k < slots_of(p); k++) {
			struct pool_slot s;
			pool_slot_load(&s, &p->table, p->table.langs[i].name, (int)k);
			status_row(p, &s, slot_state(p, &s, lock_state(dir, k)));
		}
	}
	return EXIT_OK;
}

/* Every container labelled codex.pool=<pool>, whatever the table's
 * languages and slots are now. */
static int docker_down(struct pool *p)
{
	char err[512], path[512], *body = NULL;
	int removed = 0;
	/* filters={"label":["codex.pool=<pool>"]}; the pool name is a plain word. */
	if (path_fmt(path, sizeof path, "/containers/json?all=1&filters="
		     "%%7B%%22label%%22%%3A%%5B%%22codex.pool%%3D%s%%22%%5D%%7D", p->table.pool) != 0)
		die(EXIT_PERMANENT, "pool name too long: '%.80s...'", p->table.pool);
	int st = dk_call(&p->dk, "GET", path, NULL, &body, err, sizeof err);
	if (st != 200)
		die(EXIT_TEMPORARY, "listing the pool: %s", st < 0 ? err : body);
	cJSON *list = cJSON_Parse(body);
	free(body);
	const cJSON *c;
	cJSON_ArrayForEach(c, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		if (cJSON_IsString(id) && pool_remove(&p->dk, id->valuestring, err, sizeof err) == 0)
			removed++;
		else if (cJSON_IsString(id))
			log_error("%s", err);
	}
	cJSON_Delete(list);
	/* Every slot with a state file, whatever --slots says now. */
	for (size_t i = 0; i < p->table.n; i++)
		for (int k = 0; k < MAX_SLOTS; k++) {
			struct pool_slot s;
			char state[PATH_MAX + 64];
			pool_slot_load(&s, &p->table, p->table.langs[i].name, k);
			snprintf(state, sizeof state, "%s/slots/%d.json", s.dir, k);
			if (access(state, F_OK) != 0)
				continue;
			s.id[0] = '\0';
			s.jobs = s.pid = 0;
			s.created_ms = s.checked_ms = 0;
			s.dirty = 0;
			pool_slot_save(&s);
		}
	log_info("docker pool: %d containers removed", removed);
	return EXIT_OK;
}

static int ns_nothing(const char *command)
{
	log_info("ns pool: boxes live only as long as their job; nothing to %s", command);
	return EXIT_OK;
}

/* With an OTEL endpoint, up and watch report what they do to the docker
 * pool: a span per replaced container and the slot metrics. */
static void telemetry_init(struct pool *p)
{
	const char *c = p->opt.command;
	if (strcmp(c, "up") != 0 && strcmp(c, "watch") != 0)
		return;
	otel_init("pool-ctl");
	p->replaced = otel_counter("codex.pool.replaced", "{container}",
				   "Pool containers created or replaced, by language, reason and outcome");
	p->slots = otel_gauge("codex.pool.slots", "{slot}",
			      "The docker pool's slots after pool-ctl's last pass, by language and state");
}

static int run(struct pool *p)
{
	const char *c = p->opt.command;
	if (strcmp(c, "status") == 0)
		return p->docker ? docker_status(p) : ns_status(p);
	if (strcmp(c, "up") == 0)
		return p->docker ? docker_up(p) : ns_up(p);
	if (strcmp(c, "watch") == 0)
		return p->docker ? docker_watch(p) : ns_nothing(c);
	return p->docker ? docker_down(p) : ns_nothing(c);
}

int main(int argc, char **argv)
{
	struct pool p = {0};
	char err[512];
	util_init(argv[0]);
	log_init("pool-ctl");
	parse_args(&p.opt, argc, argv);
	if (lang_table_open(&p.table, p.opt.languages, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	p.docker = strcmp(p.opt.backend, "docker") == 0;
	if (p.docker) {
		open_docker(&p);
		telemetry_init(&p);
	}
	int rc = run(&p);
	otel_shutdown();
	dk_close(&p.dk);
	lang_table_free(&p.table);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_TEMPORARY, "stdout: write error");
	return rc;
}
