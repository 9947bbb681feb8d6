#include "judge/verdict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/util.h"

static const char *const verdict_names[] = {
	[VERDICT_ACCEPTED] = "accepted",
	[VERDICT_WRONG_ANSWER] = "wrong_answer",
	[VERDICT_TIME_LIMIT_EXCEEDED] = "time_limit_exceeded",
	[VERDICT_MEMORY_LIMIT_EXCEEDED] = "memory_limit_exceeded",
	[VERDICT_OUTPUT_LIMIT_EXCEEDED] = "output_limit_exceeded",
	[VERDICT_RUNTIME_ERROR] = "runtime_error",
	[VERDICT_COMPILATION_ERROR] = "compilation_error",
	[VERDICT_INTERNAL_ERROR] = "internal_error",
};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v <= VERDICT_INTERNAL_ERROR ? verdict_names[v] : "internal_error";
}

/* ---- reading the exec section ---- */

static const char *const limit_names[] = {
	[VERDICT_LIMIT_NONE] = "",
	[VERDICT_LIMIT_TIME] = "time",
	[VERDICT_LIMIT_WALL] = "wall",
	[VERDICT_LIMIT_MEMORY] = "memory",
	[VERDICT_LIMIT_OUTPUT] = "output",
	[VERDICT_LIMIT_FILE] = "file",
	[VERDICT_LIMIT_PROCESSES] = "processes",
};

/* Index of s in names[1..n) (index 0 too when from0), or -1. */
static int name_index(const char *s, const char *const *names, int n, int from0)
{
	for (int i = from0 ? 0 : 1; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

#define NAME_INDEX(s, names, from0) \
	name_index((s), (names), (int)(sizeof(names) / sizeof((names)[0])), (from0))

/* Sets *err to msg (taken) and returns -1. */
static int fail(char **err, char *msg)
{
	*err = msg;
	return -1;
}

/* An optional string member: absent or null gives dflt. Returns -1 when
 * present with another type. */
static int opt_string(const cJSON *obj, const char *key, const char *dflt,
		      const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = dflt;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*out = v->valuestring;
	return 0;
}

/* An optional number >= 0: absent gives 0. */
static int opt_measure(const cJSON *obj, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = 0;
	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
		return -1;
	*out = v->valuedouble;
	return 0;
}

static int parse_limit(const cJSON *run, enum verdict_limit *out, char **err)
{
	const char *s;
	*out = VERDICT_LIMIT_NONE;
	if (opt_string(run, "limit", NULL, &s) != 0)
		return fail(err, xstrdup("limit is not a string"));
	if (s == NULL)
		return 0;
	int i = NAME_INDEX(s, limit_names, 0);
	if (i < 1)
		return fail(err, xasprintf("unknown limit \"%s\"", s));
	*out = (enum verdict_limit)i;
	return 0;
}

static int parse_run_measures(const cJSON *run, struct verdict_run *r, char **err)
{
	if (opt_measure(run, "timeMs", &r->time_ms) != 0 ||
	    opt_measure(run, "wallMs", &r->wall_ms) != 0 ||
	    opt_measure(run, "memoryKb", &r->memory_kb) != 0) {
		*err = xstrdup("timeMs, wallMs and memoryKb must be numbers >= 0");
		return -1;
	}
	return 0;
}

static int parse_run_streams(const cJSON *run, struct verdict_run *r, char **err)
{
	if (opt_string(run, "stdout", "", &r->out) != 0 ||
	    opt_string(run, "stderr", "", &r->err) != 0 ||
	    opt_string(run, "results", NULL, &r->results) != 0 ||
	    opt_string(run, "resultsError", NULL, &r->results_error) != 0 ||
	    opt_string(run, "signal", NULL, &r->signal) != 0) {
		*err = xstrdup("stdout, stderr, results, resultsError and signal must be strings");
		return -1;
	}
	return 0;
}

/* One <run>; what is wrong is said with `where` ("exec.runs[2]") in front. */
static int parse_run(const cJSON *run, const char *where, struct verdict_run *r,
		     char **err)
{
	char *why = NULL;
	memset(r, 0, sizeof *r);
	if (!cJSON_IsObject(run)) {
		why = xstrdup("is not an object");
	} else {
		r->exit_code = cJSON_GetObjectItemCaseSensitive(run, "exitCode");
		if (!cJSON_IsNumber(r->exit_code) && !cJSON_IsNull(r->exit_code))
			why = xstrdup("exitCode must be a number or null");
	}
	if (why == NULL)
		parse_run_measures(run, r, &why);
	if (why == NULL)
		parse_run_streams(run, r, &why);
	if (why == NULL)
		parse_limit(run, &r->limit, &why);
	if (why == NULL)
		return 0;
	*err = xasprintf("%s: %s", where, why);
	free(why);
	return -1;
}

static int parse_runs(const cJSON *exec, struct verdict_job *job, char **err)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(exec, "runs");
	const cJSON *compile = cJSON_GetObjectItemCaseSensitive(exec, "compile");
	if (!cJSON_IsArray(runs))
		return fail(err, xstrdup("exec.runs is not an array"));
	if (compile && !cJSON_IsNull(compile)) {
		job->has_compile = 1;
		if (parse_run(compile, "exec.compile", &job->compile, err) != 0)
			return -1;
	}
	job->nruns = cJSON_GetArraySize(runs);
	job->runs = xcalloc((size_t)job->nruns, sizeof *job->runs);
	int i = 0;
	for (const cJSON *it = runs->child; it; it = it->next, i++) {
		char where[32];
		snprintf(where, sizeof where, "exec.runs[%d]", i);
		if (parse_run(it, where, &job->runs[i], err) != 0)
			return -1;
	}
	return 0;
}

/* docs/formats.md section 1: `mode` if given, else from the ids present. */
static enum job_mode mode_from_job(const cJSON *line)
{
	int i = job_mode_named(jsonx_str(line, "mode"));
	return i >= 0 ? (enum job_mode)i : job_mode_implied(line);
}

static int parse_shape_mode(const cJSON *exec, struct verdict_job *job, char **err)
{
	const char *shape, *mode;
	if (opt_string(exec, "shape", NULL, &shape) != 0 || shape == NULL)
		return fail(err, xstrdup("exec.shape is missing"));
	int s = job_shape_named(shape);
	if (s < 0)
		return fail(err, xasprintf("unknown exec.shape \"%s\"", shape));
	job->shape = (enum job_shape)s;
	if (opt_string(exec, "mode", NULL, &mode) != 0)
		return fail(err, xstrdup("exec.mode is not a string"));
	int m = mode ? job_mode_named(mode) : (int)mode_from_job(job->line);
	if (m < 0)
		return fail(err, xasprintf("unknown exec.mode \"%s\"", mode));
	job->mode = (enum job_mode)m;
	if ((job->shape == SHAPE_CUSTOM) != (job->mode == MODE_CUSTOM))
		return fail(err, xasprintf("exec.shape \"%s\" does not go with mode \"%s\"",
					job_shape_name((enum job_shape)s), job_mode_name((enum job_mode)m)));
	return 0;
}

/* Native jobs compare outside: each testcase needs its expected text. */
static int check_native_tests(const struct verdict_job *job, char **err)
{
	int i = 0;
	for (const cJSON *t = job->tests->child; t; t = t->next, i++) {
		if (!cJSON_IsObject(t) || jsonx_str(t, "output") == NULL) {
			*err = xasprintf("testCases[%d] has no string \"output\"", i);
			return -1;
		}
	}
	return 0;
}

static int parse_tests(struct verdict_job *job, char **err)
{
	if (job->shape == SHAPE_CUSTOM)
		return 0;
	job->tests = cJSON_GetObjectItemCaseSensitive(job->line, "testCases");
	if (!cJSON_IsArray(job->tests))
		return fail(err, xstrdup("testCases is missing or not an array"));
	job->ntests = cJSON_GetArraySize(job->tests);
	if (job->shape == SHAPE_COMPAT)
		return 0;
	return check_native_tests(job, err);
}

/* Every shape needs a run to judge, unless its compile step failed or its
 * budget ran out before the run. */
static int check_runs_present(const struct verdict_job *job, char **err)
{
	if (job->nruns > 0 || verdict_compile_failed(job) || job->stopped)
		return 0;
	if (job->shape == SHAPE_STDIO && job->ntests == 0)
		return 0;
	*err = xstrdup("exec.runs is empty");
	return -1;
}

int verdict_job_parse(const cJSON *line, struct verdict_job *job, char **err)
{
	const cJSON *exec = cJSON_GetObjectItemCaseSensitive(line, "exec");
	memset(job, 0, sizeof *job);
	job->line = line;
	*err = NULL;
	if (!cJSON_IsObject(exec))
		return fail(err, xstrdup("exec is not an object"));
	job->stopped = jsonx_str(exec, "stopped");
	if (parse_shape_mode(exec, job, err) != 0 || parse_tests(job, err) != 0 ||
	    parse_runs(exec, job, err) != 0 || check_runs_present(job, err) != 0)
		return -1;
	job->language = jsonx_str(exec, "language");
	if (job->language == NULL)
		job->language = jsonx_str(line, "language");
	return 0;
}

void verdict_job_free(struct verdict_job *job)
{
	free(job->runs);
	job->runs = NULL;
}

/* ---- runs ---- */

static int time_limit(enum verdict_limit l)
{
	return l == VERDICT_LIMIT_TIME || l == VERDICT_LIMIT_WALL;
}

int verdict_run_failed(const struct verdict_run *r)
{
	return r->limit != VERDICT_LIMIT_NONE || r->signal != NULL ||
	       !cJSON_IsNumber(r->exit_code) || r->exit_code->valuedouble != 0;
}

int verdict_compile_failed(const struct verdict_job *job)
{
	return job->has_compile && verdict_run_failed(&job->compile);
}

enum verdict verdict_of_run(const struct verdict_run *r)
{
	switch (r->limit) {
	case VERDICT_LIMIT_TIME:
	case VERDICT_LIMIT_WALL:
		return VERDICT_TIME_LIMIT_EXCEEDED;
	case VERDICT_LIMIT_MEMORY:
		return VERDICT_MEMORY_LIMIT_EXCEEDED;
	case VERDICT_LIMIT_OUTPUT:
	case VERDICT_LIMIT_FILE:
		return VERDICT_OUTPUT_LIMIT_EXCEEDED;
	case VERDICT_LIMIT_PROCESSES:
		return VERDICT_RUNTIME_ERROR;
	case VERDICT_LIMIT_NONE:
		break;
	}
	return verdict_run_failed(r) ? VERDICT_RUNTIME_ERROR : VERDICT_ACCEPTED;
}

const char *verdict_run_error_text(const struct verdict_run *r)
{
	if (time_limit(r->limit))
		return VERDICT_TIMEOUT_TEXT;
	return r->err[0] ? r->err : r->out;
}

/* The platform ran `go build` with the same time-out as the program. */
const char *verdict_compile_error_text(const struct verdict_job *job)
{
	if (time_limit(job->compile.limit))
		return VERDICT_TIMEOUT_TEXT;
	return job->compile.err;
}

/* ---- pieces of results ---- */

const cJSON *verdict_test(const struct verdict_job *job, int i)
{
	if (job->tests == NULL || i < 0 || i >= job->ntests)
		return NULL;
	return cJSON_GetArrayItem(job->tests, i);
}

void verdict_copy_field(cJSON *dst, const char *dkey, const cJSON *src,
			const char *skey)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, skey);
	if (v != NULL)
		cJSON_AddItemToObject(dst, dkey, cJSON_Duplicate(v, 1));
}

cJSON *verdict_stats(int total, int passed, int failed, double time_ms,
		     double memory_mb)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddNumberToObject(s, "totalTestCase", total);
	cJSON_AddNumberToObject(s, "passedTestCase", passed);
	cJSON_AddNumberToObject(s, "failedTestCase", failed);
	cJSON_AddNumberToObject(s, "executionTimeMs", time_ms);
	cJSON_AddNumberToObject(s, "memoryMB", memory_mb);
	return s;
}

cJSON *verdict_whole_failure(const struct verdict_job *job, const char *text,
			     enum verdict v)
{
	cJSON *er = cJSON_CreateObject(), *failed = cJSON_CreateObject();
	const cJSON *first = verdict_test(job, 0);
	cJSON_AddItemToObject(er, "stats",
			      verdict_stats(job->ntests, 0, job->ntests, 0, 0));
	cJSON_AddNumberToObject(failed, "index", 0);
	if (first) {
		verdict_copy_field(failed, "input", first, "input");
		cJSON_AddStringToObject(failed, "output", text);
		verdict_copy_field(failed, "expectedOutput", first, "output");
	} else {
		cJSON_AddStringToObject(failed, "input", "");
		cJSON_AddStringToObject(failed, "output", text);
		cJSON_AddStringToObject(failed, "expectedOutput", "");
	}
	cJSON_AddStringToObject(failed, "verdict", verdict_name(v));
	cJSON_AddItemToObject(er, "failedTestCase", failed);
	return er;
}

/* At most VERDICT_STDERR_CAP bytes of s, not cutting a UTF-8 sequence. */
static void add_capped(cJSON *obj, const char *key, const char *s)
{
	size_t n = strlen(s);
	if (n > VERDICT_STDERR_CAP) {
		n = VERDICT_STDERR_CAP;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	jsonx_set_bytes(obj, key, s, n);
}

void verdict_add_measures(cJSON *obj, const struct verdict_job *job,
			  const struct verdict_run *reported, enum verdict v)
{
	double time_ms = 0, wall_ms = 0, memory_kb = 0;
	for (int i = 0; i < job->nruns; i++) {
		time_ms = fmax(time_ms, job->runs[i].time_ms);
		wall_ms = fmax(wall_ms, job->runs[i].wall_ms);
		memory_kb = fmax(memory_kb, job->runs[i].memory_kb);
	}
	cJSON_AddStringToObject(obj, "verdict", verdict_name(v));
	cJSON_AddNumberToObject(obj, "timeMs", time_ms);
	cJSON_AddNumberToObject(obj, "wallMs", wall_ms);
	cJSON_AddNumberToObject(obj, "memoryKb", memory_kb);
	if (reported && reported->exit_code)
		cJSON_AddItemToObject(obj, "exitCode", cJSON_Duplicate(reported->exit_code, 0));
	else
		cJSON_AddNullToObject(obj, "exitCode");
	if (reported && reported->signal)
		cJSON_AddStringToObject(obj, "signal", reported->signal);
	else
		cJSON_AddNullToObject(obj, "signal");
	if (job->has_compile)
		cJSON_AddStringToObject(obj, "compileOutput", job->compile.err);
	if (reported)
		add_capped(obj, "stderr", reported->err);
}

/* ---- messages ---- */

cJSON *verdict_custom(const struct verdict_job *job, enum verdict *v)
{
	cJSON *msg = cJSON_CreateObject();
	const struct verdict_run *run = job->nruns > 0 ? &job->runs[0] : NULL;
	verdict_copy_field(msg, "tempId", job->line, "tempId");
	if (verdict_compile_failed(job)) {
		*v = VERDICT_COMPILATION_ERROR;
		run = &job->compile;
		cJSON_AddStringToObject(msg, "stdOut", verdict_compile_error_text(job));
	} else if (verdict_run_failed(run)) {
		*v = verdict_of_run(run);
		cJSON_AddStringToObject(msg, "stdOut", verdict_run_error_text(run));
	} else {
		*v = VERDICT_ACCEPTED;
		cJSON_AddStringToObject(msg, "stdOut", run->out);
	}
	verdict_add_measures(msg, job, run, *v);
	return msg;
}

/* submit: {"submissionId","userId","executionResult"}; run: {"tempId",...}. */
