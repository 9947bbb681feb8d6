#include "sandbox/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/fit.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/util.h"
#include "sandbox/bincache.h"
#include "sandbox/box.h"

enum { HARNESS_MAX = 1 << 20 };

static const char results_path[] = "sandbox/results/output.json";

/* A word of the table with each {memory_mb} replaced by the step's memory
 * limit (a JVM's -Xmx: it cannot see the box's group); malloc'd. */
static char *with_limits(const char *word, const struct sbx_limits *lim)
{
	static const char key[] = "{memory_mb}";
	const char *at = strstr(word, key);
	if (at == NULL)
		return xstrdup(word);
	char *rest = with_limits(at + sizeof key - 1, lim);
	char *s = xasprintf("%.*s%lld%s", (int)(at - word), word, (long long)lim->memory_mb, rest);
	free(rest);
	return s;
}

/* argv of a step: the table's words with {main} replaced and the step's
 * limits put in, plus extra; free_argv() frees it. */
static char **make_argv(char *const *words, const char *main_file, const char *extra,
			const struct sbx_limits *lim)
{
	size_t n = lang_argc(words);
	char **argv = xcalloc(n + 2, sizeof *argv);
	for (size_t i = 0; i < n; i++)
		argv[i] = strcmp(words[i], "{main}") == 0 ? xstrdup(main_file) : with_limits(words[i], lim);
	argv[n] = extra ? xstrdup(extra) : NULL;
	return argv;
}

static void free_argv(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}

/* Adds K=V entries to env (n used), each replacing an earlier one of K. */
static void env_merge(char **env, size_t *n, char *const *add)
{
	for (size_t i = 0; add && add[i]; i++) {
		size_t klen = strcspn(add[i], "=") + 1, k;
		for (k = 0; k < *n && strncmp(env[k], add[i], klen) != 0; k++)
			;
		env[k] = add[i];
		if (k == *n)
			(*n)++;
	}
}

/* The table's environment, the language's, then the backend's overrides
 * (borrowed strings; the caller frees the array). */
static char **make_env(const struct lang_table *t, const struct lang *l, char *const *extra)
{
	size_t n = 0;
	char **env = xcalloc(lang_argc(t->env) + lang_argc(l->env) + lang_argc(extra) + 1, sizeof *env);
	env_merge(env, &n, t->env);
	env_merge(env, &n, l->env);
	env_merge(env, &n, extra);
	return env;
}

static cJSON *run_json(const struct box_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char sig[32];
	if (r->exit_code >= 0)
		cJSON_AddNumberToObject(o, "exitCode", r->exit_code);
	else
		cJSON_AddNullToObject(o, "exitCode");
	if (r->signal) {
		const char *abbrev = sigabbrev_np(r->signal);
		snprintf(sig, sizeof sig, "SIG%s", abbrev ? abbrev : "UNKNOWN");
		cJSON_AddStringToObject(o, "signal", sig);
	} else {
		cJSON_AddNullToObject(o, "signal");
	}
	cJSON_AddNumberToObject(o, "timeMs", (double)r->time_ms);
	cJSON_AddNumberToObject(o, "wallMs", (double)r->wall_ms);
	cJSON_AddNumberToObject(o, "memoryKb", (double)r->memory_kb);
	if (r->limit)
		cJSON_AddStringToObject(o, "limit", r->limit);
	else
		cJSON_AddNullToObject(o, "limit");
	jsonx_set_bytes(o, "stdout", r->out ? r->out : "", r->out_len);
	cJSON_AddBoolToObject(o, "stdoutTruncated", r->out_truncated);
	jsonx_set_bytes(o, "stderr", r->err ? r->err : "", r->err_len);
	cJSON_AddBoolToObject(o, "stderrTruncated", r->err_truncated);
	return o;
}

static int failed(const struct box_result *r)
{
	return r->exit_code != 0 || r->limit != NULL;
}

/* A file put into the box before it runs; path is below /sandbox. */
struct file {
	char *path;
	char *data;
	size_t len;
};

struct files {
	struct file v[8];
	size_t n;
};

/* Takes ownership of data. */
static void files_add(struct files *f, const char *name, char *data, size_t len)
{
	f->v[f->n++] = (struct file){xasprintf("code/%s", name), data, len};
}

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].data);
	}
	f->n = 0;
}

static char *read_host_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = xmalloc(HARNESS_MAX + 1);
	*len = fread(buf, 1, HARNESS_MAX, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* Go function jobs may leave the package clause out. */
static char *solution_text(const struct job *j)
{
	const char *c = j->code;
	if (strcmp(j->lang->name, "go") == 0 && strncmp(c, "package ", 8) != 0 &&
	    strstr(c, "\npackage ") == NULL)
		return xasprintf("package main\n\n%s", c);
	return xstrdup(c);
}

static char *entry_text(const struct lang *l, const char *entry)
{
	const char *mark = strstr(l->entry_template, "{entry}");
	if (mark == NULL)
		return xstrdup(l->entry_template);
	return xasprintf("%.*s%s%s", (int)(mark - l->entry_template), l->entry_template,
			 entry, mark + 7);
}

static int function_files(const struct lang_table *t, const struct job *j,
			  struct files *f, char *err, size_t errlen)
{
	const struct lang *l = j->lang;
	size_t hlen;
	char *path, *harness, *text;
	if (l->harness == NULL || l->harness_as == NULL || l->solution == NULL) {
		snprintf(err, errlen, "language %s has no function harness", l->name);
		return -1;
	}
	path = xasprintf("%s/%s", t->share_dir, l->harness);
	harness = read_host_file(path, &hlen, err, errlen);
	free(path);
	if (harness == NULL)
		return -1;
	files_add(f, l->harness_as, harness, hlen);
	text = solution_text(j);
	files_add(f, l->solution, text, strlen(text));
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < j->ntests; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(job_test_input(j, i)));
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	files_add(f, "inputs.json", text, strlen(text));
	if (l->entry_file && l->entry_template) {
		text = entry_text(l, j->entry);
		files_add(f, l->entry_file, text, strlen(text));
	}
	return 0;
}

/* Every file the job puts into /sandbox/code. */
static int job_files(const struct lang_table *t, const struct job *j, struct files *f,
		     char *err, size_t errlen)
{
	f->n = 0;
	if (j->shape == SHAPE_FUNCTION)
		return function_files(t, j, f, err, errlen);
	files_add(f, j->lang->source, xstrdup(j->code), strlen(j->code));
	return 0;
}

static void hash_words(struct sha256 *c, char *const *words)
{
	for (size_t i = 0; words && words[i]; i++)
		sha256_update(c, words[i], strlen(words[i]) + 1);
	sha256_update(c, "", 1);
}

/* The binary cache key: everything that goes into a compile. */
static void compile_key(const struct lang_table *t, const struct lang *l,
			const struct files *f, char key[65])
{
	struct sha256 c;
	char len[32];
	struct stat st;
	sha256_init(&c);
	sha256_update(&c, l->name, strlen(l->name) + 1);
	/* A new toolchain makes new binaries. */
	if (stat(l->compile[0], &st) == 0) {
		snprintf(len, sizeof len, "%lld.%ld", (long long)st.st_size, (long)st.st_mtim.tv_sec);
		sha256_update(&c, len, strlen(len) + 1);
	}
	hash_words(&c, l->compile);
	hash_words(&c, t->env);
	hash_words(&c, l->env);
	for (size_t i = 0; i < f->n; i++) {
		snprintf(len, sizeof len, "%zu", f->v[i].len);
		sha256_update(&c, f->v[i].path, strlen(f->v[i].path) + 1);
		sha256_update(&c, len, strlen(len) + 1);
		sha256_update(&c, f->v[i].data, f->v[i].len);
	}
	sha256_hex(&c, key);
}

void runner_phase(struct runner_phases *ph, const char *name, uint64_t start_ns)
{
	if (ph == NULL || ph->n == RUNNER_PHASES_MAX)
		return;
	ph->v[ph->n++] = (struct runner_phase){name, start_ns, now_unix_ns()};
}

cJSON *runner_phases_json(const struct runner_phases *ph)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < ph->n; i++) {
		cJSON *p = cJSON_CreateArray();
		cJSON_AddItemToArray(p, cJSON_CreateString(ph->v[i].name));
		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)ph->v[i].start_ns));
		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)ph->v[i].end_ns));
		cJSON_AddItemToArray(a, p);
	}
	return a;
}

struct plan {
	const struct lang_table *table;
	int64_t deadline_ms;	/* the job's budget ends (monotonic) */
	size_t room;		/* bytes the exec section may still take printed */
	const char *stopped;	/* "time" or "output" ran out: no more testcases */
	struct runner_phases *phases;
	const struct box_ops *ops;
	void *box;
	const struct job *job;
	char **env;
	char **argv;		/* the runs' */
	int launched;		/* the runs are launched (spawn.h) */
	cJSON *exec;
	char key[65];		/* compile_key(), when the language caches binaries */
	int cached;		/* the binary came from the cache */
};

/* The step's limits within what is left of the job's budget: its wall
 * limit shortened to the time left, when that is less. */
static struct sbx_limits within_time(const struct plan *p, const struct sbx_limits *lim)
{
	struct sbx_limits l = *lim;
	int64_t left_ms = p->deadline_ms - now_mono_ms();
	if (left_ms < l.wall_ms)
		l.wall_ms = left_ms > 0 ? left_ms : 1;
	return l;
}

/* Fits a step's JSON into the room left in the exec section, so that the
 * line always fits the judge's cap (caps.h): stderr cut first, then the
 * results text left out, then stdout cut; cut stdout of a stdio run is
 * the output limit, as it is what gets compared. Once the room is gone no
 * testcase runs after this one. */
static void within_room(struct plan *p, cJSON *o, int compared)
{
	static const char *const err_keys[] = {"stderr", NULL}, *const out_keys[] = {"stdout", NULL};
	size_t room = p->room > 1 ? p->room - 1 : 0;	/* its comma */
	size_t size = fit_printed_len(o);
	if (size > room) {
		p->stopped = "output";
		size = fit_texts(o, room, err_keys);
	}
	if (size > room && cJSON_HasObjectItem(o, "results")) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "results");
		jsonx_set(o, "resultsError", cJSON_CreateString("too-large"));
		size = fit_printed_len(o);
	}
	if (size > room) {
		size = fit_texts(o, room, out_keys);
		if (compared && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "limit")))
			jsonx_set(o, "limit", cJSON_CreateString("output"));
	}
	p->room -= size + 1 < p->room ? size + 1 : p->room;
}

static void read_results(struct plan *p, cJSON *o, const struct sbx_limits *lim)
{
	char *data;
	size_t len;
	const char *why;
	if (p->ops->read_file(p->box, results_path, (size_t)lim->file_bytes, &data, &len, &why) == 0) {
		jsonx_set_bytes(o, "results", data, len);
		free(data);
	} else {
		cJSON_AddStringToObject(o, "resultsError", why);
	}
}

/* Runs one step, within the job's budget, and appends its JSON to `into`
 * (or sets it as `key`), within the section's room. A run with next_lim
 * likely follows (the backend may make its box meanwhile). Returns 1 if
 * the step failed (or hit a limit), 0 if it ran clean, -1 on a sandbox
 * error. */
static int step(struct plan *p, char **argv, const struct sbx_limits *lim,
		const char *in, size_t in_len, int results, cJSON *into, const char *key,
		const struct sbx_limits *next_lim, char *err, size_t errlen)
{
	struct box_result r;
	struct sbx_limits l = within_time(p, lim);
	struct box_step next = {.argv = p->argv, .envp = p->env, .limits = next_lim,
				.launched = p->launched};
	struct box_step s = {
		.argv = argv, .envp = p->env, .limits = &l,
		.stdin_data = in, .stdin_len = in_len, .oom_marker = p->job->lang->oom_marker,
		.next = next_lim ? &next : NULL, .launched = argv == p->argv && p->launched,
	};
	uint64_t start = now_unix_ns();
	int rc = p->ops->run(p->box, &s, &r, err, errlen);
	runner_phase(p->phases, key ? key : "run", start);
	if (rc != 0)
		return -1;
	if (now_mono_ms() >= p->deadline_ms)
		p->stopped = "time";
	cJSON *o = run_json(&r);
	if (results)
		read_results(p, o, &l);
	within_room(p, o, p->job->shape == SHAPE_STDIO && key == NULL);
	if (key)
		jsonx_set(into, key, o);
	else
		cJSON_AddItemToArray(into, o);
	rc = failed(&r) || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "limit"));
	box_result_free(&r);
	return rc;
}

/* The compile step's stand-in when the binary came from the cache. */
static void cached_compile(struct plan *p)
{
	struct box_result r = {0};
	cJSON *o = run_json(&r);
	cJSON_AddBoolToObject(o, "cached", 1);
	jsonx_set(p->exec, "compile", o);
}

static void store_binary(struct plan *p)
{
	const struct lang *l = p->job->lang;
	char *data, rel[PATH_MAX];
	size_t len;
	const char *why;
	size_t cap = (size_t)p->job->compile_limits.file_bytes;
	if (cap > l->binary_cache_limits.entry_bytes)
		cap = l->binary_cache_limits.entry_bytes;	/* larger ones are not kept */
	snprintf(rel, sizeof rel, "sandbox/%s", l->binary);
	if (p->ops->read_file(p->box, rel, cap, &data, &len, &why) != 0) {
		log_job(LOG_INFO, p->job->line, "binary cache: %s not kept: %s", l->binary, why);
		return;
	}
	bincache_put(l->binary_cache, p->key, data, len, &l->binary_cache_limits);
	free(data);
}

static int compile(struct plan *p, char *err, size_t errlen)
{
	const struct lang *l = p->job->lang;
	if (l->compile == NULL) {
		cJSON_AddNullToObject(p->exec, "compile");
		return 0;
	}
	if (p->cached) {
		cached_compile(p);
		return 0;
	}
	char **argv = make_argv(l->compile, l->source, NULL, &p->job->compile_limits);
	int rc = step(p, argv, &p->job->compile_limits, NULL, 0, 0, p->exec, "compile",
		      &p->job->limits, err, errlen);
	free_argv(argv);
	if (rc == 0 && l->binary_cache)
		store_binary(p);
	return rc;
}

/* The runs: one, or one per testcase of a stdio job (a submission stops
 * at its first failure). Before each, the job's budget and the section's
 * room are looked at: when one is spent (the compile may have spent the
 * time) no more runs, and exec.stopped tells the judge why. */
static int run_all(struct plan *p, char *err, size_t errlen)
{
	const struct job *j = p->job;
	cJSON *runs = cJSON_AddArrayToObject(p->exec, "runs");
	int stdio = j->shape == SHAPE_STDIO;
	int want_results = j->shape == SHAPE_COMPAT || j->shape == SHAPE_FUNCTION;
	int n = stdio ? j->ntests : 1;
	for (int i = 0; i < n; i++) {
		if (now_mono_ms() >= p->deadline_ms)
			p->stopped = "time";
		if (p->stopped) {
			cJSON_AddStringToObject(p->exec, "stopped", p->stopped);
			break;
		}
		const char *in = stdio ? job_test_input(j, i) : NULL;
		int rc = step(p, p->argv, &j->limits, in, in ? strlen(in) : 0, want_results, runs, NULL,
			      i + 1 < n ? &j->limits : NULL, err, errlen);
		if (rc < 0)
			return -1;
		if (rc > 0 && j->mode == MODE_SUBMIT && !j->grouped)
			break;	/* submit stops at the first failure, unless scored */
	}
	return 0;
}

static void describe(cJSON *exec, const char *backend, const struct job *j, int slot)
{
	cJSON_AddStringToObject(exec, "backend", backend);
	cJSON_AddStringToObject(exec, "shape", job_shape_name(j->shape));
	cJSON_AddStringToObject(exec, "mode", job_mode_name(j->mode));
	cJSON_AddStringToObject(exec, "language", j->lang->name);
	cJSON_AddNumberToObject(exec, "slot", slot);
	cJSON_AddNumberToObject(exec, "budgetMs", (double)j->budget_ms);
}

/* The cached binary of fd (len bytes) into the box: copied in the kernel
 * when the backend can, else read and written. */
static int put_binary(struct plan *p, int fd, size_t len, char *err, size_t errlen)
{
	const char *path = p->job->lang->binary;
	if (p->ops->copy)
		return p->ops->copy(p->box, path, fd, len, 0755, err, errlen);
	char *bin = read_exact(fd, len);
	if (bin == NULL) {
		snprintf(err, errlen, "read %s from the cache", path);
		return -1;
	}
	int rc = p->ops->write(p->box, path, bin, len, 0755, err, errlen);
	free(bin);
	return rc;
}

/* Writes the job's files, and the cached binary when there is one. */
static int fill_box(struct plan *p, char *err, size_t errlen)
{
	const struct lang *l = p->job->lang;
	struct files f;
	int rc = job_files(p->table, p->job, &f, err, errlen);
	for (size_t i = 0; rc == 0 && i < f.n; i++)
		rc = p->ops->write(p->box, f.v[i].path, f.v[i].data, f.v[i].len, 0644, err, errlen);
	if (rc == 0 && l->compile && l->binary_cache) {
		size_t len;
		compile_key(p->table, l, &f, p->key);
		int fd = bincache_open(l->binary_cache, p->key,
				       (size_t)p->job->compile_limits.file_bytes, &len);
		if (fd >= 0) {
			/* A binary that does not fit (a small work dir) is compiled. */
			p->cached = put_binary(p, fd, len, err, errlen) == 0;
			if (!p->cached)
				log_job(LOG_WARN, p->job->line, "binary cache: %s: compiling instead", err);
			close(fd);
		}
	}
	files_free(&f);
	return rc;
}

/* Whether l's runs are launched (spawn.h): the language has `launch` and
 * the backend runs launched steps. */
static int launches(const struct box_ops *ops, const struct lang *l)
{
	return ops->put_launcher && l->launch != NULL;
}

/* How j's runs start: the language's launch words when they are
 * launched, else its run words. */
static char **run_argv(const struct box_ops *ops, const struct job *j)
{
	const struct lang *l = j->lang;
	const char *main_file = j->shape == SHAPE_FUNCTION ? l->harness_as : l->source;
	return make_argv(launches(ops, l) ? l->launch : l->run, main_file,
			 j->shape == SHAPE_FUNCTION ? j->entry : NULL, &j->limits);
}

/* A launched language's launcher, from the share dir to /sandbox, sealed
 * (the program cannot change what runs before a later step's go), unless
 * the box has it already (a warm box: written before the job). Returns 0,
 * or -1 with err. */
static int put_launcher(const struct lang_table *t, const struct box_ops *ops, void *box,
			const struct lang *l, char *err, size_t errlen)
{
	char rel[PATH_MAX], *data, *path;
	size_t len;
	const char *why;
	if (!launches(ops, l))
		return 0;
	snprintf(rel, sizeof rel, "sandbox/%s", l->launcher);
	if (ops->read_file(box, rel, HARNESS_MAX, &data, &len, &why) == 0) {
		free(data);
		return 0;
	}
	path = xasprintf("%s/%s", t->share_dir, l->launcher);
	data = read_host_file(path, &len, err, errlen);
	free(path);
	if (data == NULL)
		return -1;
	int rc = ops->put_launcher(box, l->launcher, data, len, err, errlen);
	free(data);
	return rc;
}

char **runner_env(const struct lang_table *t, const struct box_ops *ops, const struct lang *l)
{
	return make_env(t, l, strcmp(ops->name, "docker") == 0 ? l->docker_env : NULL);
}

int runner_warm(const struct lang_table *t, const struct box_ops *ops, void *box,
		const struct job *j, struct runner_warm *w, char *err, size_t errlen)
{
	const struct lang *l = j->lang;
	*w = (struct runner_warm){.limits = j->limits};
	/* A compiled language's first step is its compile, or its run when
	 * the binary is in the cache, which only the job's files tell: the
	 * box is made for the run (its words are the same for every job).
	 * A compile then ends it and makes its own, a millisecond or two
	 * against its hundreds. */
	if (ops->warm == NULL)
		return 0;
	int launched = launches(ops, l);
	if (launched && put_launcher(t, ops, box, l, err, errlen) != 0)
		return -1;
	w->argv = run_argv(ops, j);
	w->env = runner_env(t, ops, l);
	return ops->warm(box, &(struct box_step){.argv = w->argv, .envp = w->env,
						 .limits = &w->limits, .launched = launched},
			 err, errlen);
}

void runner_warm_free(struct runner_warm *w)
{
	free_argv(w->argv);
	free(w->env);
	*w = (struct runner_warm){0};
}

cJSON *runner_run(const struct lang_table *t, const struct box_ops *ops, void *box,
		  const struct job *j, int slot, struct runner_phases *ph,
		  char *err, size_t errlen)
{
	struct plan p = {.table = t, .phases = ph, .ops = ops, .box = box, .job = j,
			 .deadline_ms = now_mono_ms() + j->budget_ms};
	uint64_t start = now_unix_ns();
	int rc = fill_box(&p, err, errlen);

	if (rc == 0)
		rc = put_launcher(t, ops, box, j->lang, err, errlen);
	runner_phase(ph, "files", start);
	if (rc != 0)
		return NULL;
	p.launched = launches(ops, j->lang);
	p.argv = run_argv(ops, j);
	p.env = runner_env(t, ops, j->lang);
	p.exec = cJSON_CreateObject();
	describe(p.exec, ops->name, j, slot);
	/* What the section takes with its last members, runs and compile, empty. */
	p.room = CAP_EXEC_SECTION - fit_printed_len(p.exec) - 32;
	rc = compile(&p, err, errlen);
	if (rc == 0)
		rc = run_all(&p, err, errlen);
	else if (rc > 0)
		cJSON_AddArrayToObject(p.exec, "runs");
	free(p.env);
	free_argv(p.argv);
	if (rc < 0) {
		cJSON_Delete(p.exec);
		return NULL;
	}
	return p.exec;
}
