#include "native.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "jsonx.h"
#include "jsval.h"
#include "log.h"
#include "util.h"

/* What one testcase came to. */
struct native_case {
	enum verdict verdict;
	char *output;			/* owned: the actual text, or the error text */
	double time_ms, memory_mb;
	const struct verdict_run *run;	/* the run that produced it, or NULL */
};

struct native {
	const struct verdict_job *job;
	struct cmp cmp;
	cJSON *lines;			/* function jobs: the parsed results lines (owned) */
	const cJSON **line_of;		/* testcase -> its line, borrowed from lines */
	char *dup;			/* testcase -> had more than one line */
};

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static void raise_max(double *max, double v)
{
	if (!isnan(v) && v > *max)
		*max = v;
}

static int is_submit(const struct native *st)
{
	return st->job->mode == VERDICT_MODE_SUBMIT;
}

/* ---- function jobs: the harness's results lines ---- */

/* The testcase a harness line is about, or -1 for a line to ignore. */
static int line_index(const struct native *st, const cJSON *line)
{
	const cJSON *i = member(line, "index");
	if (!cJSON_IsObject(line) || !cJSON_IsNumber(i) || i->valuedouble < 0 ||
	    i->valuedouble >= st->job->ntests || i->valuedouble != floor(i->valuedouble))
		return -1;
	if (!cJSON_HasObjectItem(line, "actual") && !cJSON_IsString(member(line, "error")))
		return -1;
	return (int)i->valuedouble;
}

/* Files each well-formed line under its testcase. The program can write
 * to the results file too, so a testcase with two lines is not trusted. */
static void file_line(struct native *st, const char *text, size_t len)
{
	char *copy = xstrndup(text, len);
	cJSON *line = cJSON_ParseWithOpts(copy, NULL, 1);
	int i = line_index(st, line);
	free(copy);
	if (i < 0) {
		if (len > 0)
			log_job(LOG_WARN, st->job->line, "ignored a malformed results line");
		cJSON_Delete(line);
		return;
	}
	if (st->line_of[i])
		st->dup[i] = 1;
	else
		st->line_of[i] = line;
	cJSON_AddItemToArray(st->lines, line);
}

static void index_results(struct native *st, const char *results)
{
	if (results == NULL)
		return;
	for (const char *p = results;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		file_line(st, p, len);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* ---- testcases ---- */

static void set_case(struct native_case *c, enum verdict v, char *output)
{
	c->verdict = v;
	c->output = output;
}

/* Compares actual with testcase i's expected output. */
static void compare_case(struct native *st, int i, const char *actual,
			 enum cmp_operands ops, struct native_case *c)
{
	const char *expected = jsonx_str(verdict_test(st->job, i), "output");
	char *why = NULL;
	switch (cmp_check(&st->cmp, actual, expected, ops, &why)) {
	case CMP_PASS:
		set_case(c, VERDICT_ACCEPTED, xstrdup(actual));
		break;
	case CMP_FAIL:
		if (why)
			log_job(LOG_INFO, st->job->line, "testcase %d: %s", i, why);
		set_case(c, VERDICT_WRONG_ANSWER, xstrdup(actual));
		break;
	case CMP_ERROR:
		log_job(LOG_ERROR, st->job->line, "testcase %d: comparator: %s", i, why);
		set_case(c, VERDICT_INTERNAL_ERROR, xasprintf("internal error: %s", why));
		break;
	}
	free(why);
}

/* A testcase with no results line: the program died or stopped first. */
static void missing_line(const struct verdict_run *run, struct native_case *c)
{
	if (verdict_run_failed(run))
		set_case(c, verdict_of_run(run), xstrdup(verdict_run_error_text(run)));
	else if (run->results == NULL || run->results_error)
		set_case(c, VERDICT_RUNTIME_ERROR,
			 xasprintf("Failed to read results file: %s",
				   run->results_error ? run->results_error : "missing"));
	else
		set_case(c, VERDICT_RUNTIME_ERROR, xstrdup("no result for this testcase"));
}

static void function_case(struct native *st, int i, struct native_case *c)
{
	const struct verdict_run *run = &st->job->runs[0];
	const cJSON *line = st->line_of[i], *error = member(line, "error");
	c->run = run;
	c->memory_mb = run->memory_kb / 1024;
	if (st->dup[i]) {
		set_case(c, VERDICT_RUNTIME_ERROR, xstrdup("more than one result for this testcase"));
	} else if (line == NULL) {
		missing_line(run, c);
	} else if (cJSON_IsString(error)) {
		c->time_ms = jsval_parse_float(member(line, "executionTimeMs"));
		set_case(c, VERDICT_RUNTIME_ERROR, xstrdup(error->valuestring));
	} else {
		char *actual = jsval_stringify(member(line, "actual"));
		c->time_ms = jsval_parse_float(member(line, "executionTimeMs"));
		compare_case(st, i, actual, CMP_AS_JSON, c);
		free(actual);
	}
}

static void stdio_case(struct native *st, int i, struct native_case *c)
{
	const struct verdict_job *job = st->job;
	if (i >= job->nruns) {
		/* sandbox-exec gave up before this testcase (an earlier one failed). */
		const struct verdict_run *last = job->nruns ? &job->runs[job->nruns - 1] : NULL;
		enum verdict v = last ? verdict_of_run(last) : VERDICT_RUNTIME_ERROR;
		set_case(c, v == VERDICT_ACCEPTED ? VERDICT_RUNTIME_ERROR : v,
			 xstrdup("not run"));
		return;
	}
	const struct verdict_run *run = &job->runs[i];
	c->run = run;
	c->time_ms = run->time_ms;
	c->memory_mb = run->memory_kb / 1024;
	if (verdict_run_failed(run))
		set_case(c, verdict_of_run(run), xstrdup(verdict_run_error_text(run)));
	else
		compare_case(st, i, run->out, CMP_AS_TEXT, c);
}

static void judge_case(struct native *st, int i, struct native_case *c)
{
	memset(c, 0, sizeof *c);
	if (st->job->shape == VERDICT_SHAPE_FUNCTION)
		function_case(st, i, c);
	else
		stdio_case(st, i, c);
}

/* ---- the message ---- */

/* A testcase object: the fields of testResults, or of failedTestCase. */
static cJSON *case_object(const struct native *st, int i,
			  const struct native_case *c, int full)
{
	const cJSON *test = verdict_test(st->job, i);
	cJSON *r = cJSON_CreateObject();
	if (full)
		verdict_copy_field(r, "Id", test, "Id");
	cJSON_AddNumberToObject(r, "index", i);
	verdict_copy_field(r, "input", test, "input");
	cJSON_AddStringToObject(r, "output", c->output);
	verdict_copy_field(r, "expectedOutput", test, "output");
	if (full) {
		cJSON_AddBoolToObject(r, "passed", c->verdict == VERDICT_ACCEPTED);
		cJSON_AddNumberToObject(r, "executionTimeMs", c->time_ms);
		cJSON_AddNumberToObject(r, "memoryMB", c->memory_mb);
	}
	cJSON_AddStringToObject(r, "verdict", verdict_name(c->verdict));
	return r;
}

/* Running figures of a pass over the testcases. */
struct tally {
	int passed;
	double time_ms, memory_mb;
	int first_bad;			/* lowest index not accepted, or -1 */
	enum verdict first_verdict;
	const struct verdict_run *reported;
};

/* stats.stdout as the platform fills it for a single-run program: its
 * stdout, or on a submit failure its stderr (when there is any). stdio
 * jobs have one stdout per testcase, reported as each one's output. */
static void add_stdout(const struct native *st, cJSON *stats, int submit_failure)
{
	const struct verdict_run *run = &st->job->runs[0];
	if (st->job->shape != VERDICT_SHAPE_FUNCTION)
		return;
	if (!submit_failure)
		cJSON_AddStringToObject(stats, "stdout", run->out);
	else if (run->err[0])
		cJSON_AddStringToObject(stats, "stdout", run->err);
}

static cJSON *stats(const struct native *st, const struct tally *t, int failed,
		    int submit_failure)
{
	cJSON *s = verdict_stats(st->job->ntests, t->passed, failed, t->time_ms,
				 t->memory_mb);
	add_stdout(st, s, submit_failure);
	return s;
}

/* The job's verdict once every testcase is judged: the first failure,
 * else a run that failed after its last result (it hung at exit, say). */
static enum verdict final_verdict(const struct native *st, struct tally *t)
{
	const struct verdict_job *job = st->job;
	if (t->first_bad >= 0)
		return t->first_verdict;
	if (job->shape == VERDICT_SHAPE_FUNCTION && verdict_run_failed(&job->runs[0]))
		return verdict_of_run(&job->runs[0]);
	return VERDICT_ACCEPTED;
}

static void count_case(struct tally *t, int i, const struct native_case *c)
{
	raise_max(&t->time_ms, c->time_ms);
	raise_max(&t->memory_mb, c->memory_mb);
	if (c->verdict == VERDICT_ACCEPTED) {
		t->passed++;
	} else if (t->first_bad < 0) {
		t->first_bad = i;
		t->first_verdict = c->verdict;
		t->reported = c->run;
	}
}

static cJSON *judge_all(struct native *st, struct tally *t, enum verdict *v)
{
	int n = st->job->ntests;
	cJSON *er = cJSON_CreateObject(), *results = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		struct native_case c;
		judge_case(st, i, &c);
		count_case(t, i, &c);
		if (!is_submit(st))
			cJSON_AddItemToArray(results, case_object(st, i, &c, 1));
		if (is_submit(st) && c.verdict != VERDICT_ACCEPTED) {
			cJSON_AddItemToObject(er, "stats", stats(st, t, n - t->passed, 1));
			cJSON_AddItemToObject(er, "failedTestCase", case_object(st, i, &c, 0));
			free(c.output);
			cJSON_Delete(results);
			*v = c.verdict;
			return er;
		}
		free(c.output);
	}
	cJSON_AddItemToObject(er, "stats", stats(st, t, is_submit(st) ? 0 : n - t->passed, 0));
	if (is_submit(st))
		cJSON_Delete(results);
	else
		cJSON_AddItemToObject(er, "testResults", results);
	*v = final_verdict(st, t);
	return er;
}

static cJSON *judge_testcases(struct native *st, enum verdict *v)
{
	const struct verdict_job *job = st->job;
	struct tally t = {.first_bad = -1};
	if (job->shape == VERDICT_SHAPE_FUNCTION) {
		st->lines = cJSON_CreateArray();
		st->line_of = xcalloc((size_t)job->ntests + 1, sizeof *st->line_of);
		st->dup = xcalloc((size_t)job->ntests + 1, 1);
		index_results(st, job->runs[0].results);
	}
	cJSON *er = judge_all(st, &t, v);
	if (t.reported == NULL && job->nruns > 0)
		t.reported = &job->runs[job->shape == VERDICT_SHAPE_FUNCTION ? 0 : job->nruns - 1];
	verdict_add_measures(er, job, t.reported, *v);
	cJSON_Delete(st->lines);
	free(st->line_of);
	free(st->dup);
	return er;
}

/* A job that cannot be judged as a whole: index 0 carries the text. */
static cJSON *whole_failure(const struct verdict_job *job, const char *text,
			    enum verdict v, const struct verdict_run *reported)
{
	cJSON *er = verdict_whole_failure(job, text, v);
	verdict_add_measures(er, job, reported, v);
	return er;
}

cJSON *native_execution_result(const struct verdict_job *job, enum verdict *v)
{
	struct native st = {.job = job};
	enum cmp_type dflt = job->shape == VERDICT_SHAPE_FUNCTION ? CMP_JSON : CMP_TRIMMED;
	const struct verdict_run *first = job->nruns > 0 ? &job->runs[0] : NULL;
	char *err = NULL;
	cJSON *er;
	if (cmp_init(&st.cmp, member(job->line, "compare"), dflt, &err) != 0) {
		char *text = xasprintf("internal error: %s", err);
		log_job(LOG_ERROR, job->line, "comparator: %s", err);
		*v = VERDICT_INTERNAL_ERROR;
		er = whole_failure(job, text, *v, first);
		free(text);
		free(err);
	} else if (verdict_compile_failed(job)) {
		*v = VERDICT_COMPILATION_ERROR;
		er = whole_failure(job, verdict_compile_error_text(job), *v, &job->compile);
	} else {
		er = judge_testcases(&st, v);
	}
	cmp_free(&st.cmp);
	return er;
}
