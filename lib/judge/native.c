#include "judge/native.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/compare.h"
#include "judge/groups.h"
#include "judge/jcanon.h"

/* What one testcase came to. */
struct native_case {
	enum verdict verdict;
	char *output;			/* owned: the actual text, or the error text */
	double time_ms, memory_mb;
	const struct verdict_run *run;	/* the run that produced it, or NULL */
};

/* A harness's results line about one testcase. */
struct result_line {
	int index;		/* -1 until a valid "index" is seen */
	char *actual;		/* the text of "actual" (owned), or NULL */
	char *error;		/* "error" decoded (owned), or NULL */
	int bad;		/* a member of the wrong type */
};

struct native {
	const struct verdict_job *job;
	struct cmp cmp;
	struct groups groups;		/* scored groups (none: n == 0) */
	char *accepted;			/* testcase -> accepted (owned) */
	struct result_line *line_of;	/* function jobs: testcase -> its line (owned) */
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
	return st->job->mode == MODE_SUBMIT;
}

/* ---- function jobs: the harness's results lines ---- */

/* A decimal index without sign, point, exponent or leading zero. */
static int index_of(const char *text, size_t len)
{
	int64_t i;
	char buf[16];
	if (len == 0 || len >= sizeof buf || (len > 1 && text[0] == '0'))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return parse_i64(buf, 0, INT32_MAX, &i) == 0 ? (int)i : -1;
}

/* jcanon_members() callback: the members of a results line that count (of
 * a duplicated key the last, as JSON.parse keeps it). */
static void line_member(void *arg, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct result_line *rl = arg;
	struct sbuf dec = {0};
	if (klen == 5 && memcmp(key, "index", 5) == 0) {
		rl->index = index_of(value, vlen);
	} else if (klen == 6 && memcmp(key, "actual", 6) == 0) {
		free(rl->actual);
		rl->actual = xstrndup(value, vlen);
	} else if (klen == 5 && memcmp(key, "error", 5) == 0) {
		free(rl->error);
		rl->error = NULL;
		if (jcanon_string(value, vlen, &dec) == 0)
			rl->error = jsonx_utf8(dec.p, dec.len);
		else
			rl->bad = 1;
		free(dec.p);
	}
}

static void result_line_free(struct result_line *rl)
{
	free(rl->actual);
	free(rl->error);
	memset(rl, 0, sizeof *rl);
}

/* Files a well-formed line under its testcase: an object with a valid
 * index and an actual value (a JSON text, kept exactly as written) or an
 * error string. The program can write to the results file too, so a
 * testcase with two lines is not trusted. */
static void file_line(struct native *st, const char *text, size_t len)
{
	struct result_line rl = {.index = -1};
	int ok = jcanon_members(text, len, line_member, &rl) == 0 && !rl.bad &&
		 rl.index >= 0 && rl.index < st->job->ntests && (rl.actual || rl.error);
	if (!ok) {
		if (len > 0)
			log_job(LOG_WARN, st->job->line, "ignored a malformed results line");
		result_line_free(&rl);
		return;
	}
	if (st->dup[rl.index] || st->line_of[rl.index].index >= 0) {
		st->dup[rl.index] = 1;
		result_line_free(&rl);
		return;
	}
	st->line_of[rl.index] = rl;
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

/* A function job's testcase: its time and memory are the run's, measured
 * from outside (the harness's own executionTimeMs is the program's to
 * forge). */
static void function_case(struct native *st, int i, struct native_case *c)
{
	const struct verdict_run *run = &st->job->runs[0];
	const struct result_line *line = &st->line_of[i];
	c->run = run;
	c->time_ms = run->time_ms;
	c->memory_mb = run->memory_kb / 1024;
	if (st->dup[i])
		set_case(c, VERDICT_RUNTIME_ERROR, xstrdup("more than one result for this testcase"));
	else if (line->index < 0)
		missing_line(run, c);
	else if (line->error)
		set_case(c, VERDICT_RUNTIME_ERROR, xstrdup(line->error));
	else
		compare_case(st, i, line->actual, CMP_AS_JSON, c);
}

/* A stdio testcase after the last run: sandbox-exec stopped, at the
 * job's time or output budget, or at an earlier failure (submit). */
static void not_run(const struct verdict_job *job, struct native_case *c)
{
	const struct verdict_run *last = job->nruns ? &job->runs[job->nruns - 1] : NULL;
	enum verdict v = last ? verdict_of_run(last) : VERDICT_RUNTIME_ERROR;
	if (job->stopped && strcmp(job->stopped, "time") == 0)
		set_case(c, VERDICT_TIME_LIMIT_EXCEEDED, xstrdup("not run: the job's time budget ran out"));
	else if (job->stopped && strcmp(job->stopped, "output") == 0)
		set_case(c, VERDICT_OUTPUT_LIMIT_EXCEEDED, xstrdup("not run: the job's output budget ran out"));
	else
		set_case(c, v == VERDICT_ACCEPTED ? VERDICT_RUNTIME_ERROR : v, xstrdup("not run"));
}

static void stdio_case(struct native *st, int i, struct native_case *c)
{
	const struct verdict_job *job = st->job;
	if (i >= job->nruns) {
		not_run(job, c);
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
	if (st->job->shape == SHAPE_FUNCTION)
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
	if (st->job->shape != SHAPE_FUNCTION)
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
	if (job->shape == SHAPE_FUNCTION && verdict_run_failed(&job->runs[0]))
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

/* Every testcase judged, in order: a run job reports each, a submission
 * its first failure (and stops there, unless it has scored groups, which
 * need every testcase's verdict). */
static cJSON *judge_all(struct native *st, struct tally *t, enum verdict *v)
{
	int n = st->job->ntests, submit = is_submit(st);
	cJSON *er = cJSON_CreateObject(), *results = cJSON_CreateArray(), *failed = NULL;
	for (int i = 0; i < n && !(failed && st->groups.n == 0); i++) {
		struct native_case c;
		judge_case(st, i, &c);
		count_case(t, i, &c);
		st->accepted[i] = c.verdict == VERDICT_ACCEPTED;
		if (!submit)
			cJSON_AddItemToArray(results, case_object(st, i, &c, 1));
		else if (c.verdict != VERDICT_ACCEPTED && failed == NULL)
			failed = case_object(st, i, &c, 0);
		free(c.output);
	}
	if (failed) {
		cJSON_AddItemToObject(er, "stats", stats(st, t, n - t->passed, 1));
		cJSON_AddItemToObject(er, "failedTestCase", failed);
		cJSON_Delete(results);
		*v = t->first_verdict;
		return er;
	}
	cJSON_AddItemToObject(er, "stats", stats(st, t, submit ? 0 : n - t->passed, 0));
	if (submit)
		cJSON_Delete(results);
	else
		cJSON_AddItemToObject(er, "testResults", results);
	*v = final_verdict(st, t);
	return er;
}

/* A score, to a millionth of a point (a third of 100 is 33.333333). */
static double rounded(double x)
{
	return round(x * 1e6) / 1e6;
}

/* score, maxScore and each group's, beside the platform's fields. */
static void add_scores(const struct native *st, cJSON *er)
{
	double score = 0, max = 0;
	cJSON *arr = cJSON_CreateArray();
	for (int k = 0; k < st->groups.n; k++) {
		const struct group *gr = &st->groups.v[k];
		int passed;
		double s = group_score(gr, st->accepted, &passed);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", gr->name);
		cJSON_AddNumberToObject(o, "score", rounded(s));
		cJSON_AddNumberToObject(o, "maxScore", gr->points);
		cJSON_AddStringToObject(o, "scoring", gr->sum ? "sum" : "all");
		cJSON_AddNumberToObject(o, "passedTestCase", passed);
		cJSON_AddNumberToObject(o, "totalTestCase", gr->n);
		cJSON_AddItemToArray(arr, o);
		score += s;
		max += gr->points;
	}
	cJSON_AddNumberToObject(er, "score", rounded(score));
	cJSON_AddNumberToObject(er, "maxScore", max);
	cJSON_AddItemToObject(er, "groups", arr);
}

static cJSON *judge_testcases(struct native *st, enum verdict *v)
{
	const struct verdict_job *job = st->job;
	struct tally t = {.first_bad = -1};
	if (job->shape == SHAPE_FUNCTION) {
		st->line_of = xcalloc((size_t)job->ntests + 1, sizeof *st->line_of);
		for (int i = 0; i < job->ntests; i++)
			st->line_of[i].index = -1;
		st->dup = xcalloc((size_t)job->ntests + 1, 1);
		index_results(st, job->runs[0].results);
	}
	cJSON *er = judge_all(st, &t, v);
	if (t.reported == NULL && job->nruns > 0)
		t.reported = &job->runs[job->shape == SHAPE_FUNCTION ? 0 : job->nruns - 1];
	verdict_add_measures(er, job, t.reported, *v);
	for (int i = 0; st->line_of && i < job->ntests; i++)
		result_line_free(&st->line_of[i]);
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

/* A job the judge cannot judge: an internal error whose text says why
 * (what: the part of the job at fault, for the log). */
static cJSON *internal_failure(const struct verdict_job *job, const char *what, const char *why,
			       const struct verdict_run *reported)
{
	char *text = xasprintf("internal error: %s", why);
	log_job(LOG_ERROR, job->line, "%s: %s", what, why);
	cJSON *er = whole_failure(job, text, VERDICT_INTERNAL_ERROR, reported);
	free(text);
	return er;
}

cJSON *native_execution_result(const struct verdict_job *job, enum verdict *v)
{
	struct native st = {.job = job};
	enum cmp_type dflt = job->shape == SHAPE_FUNCTION ? CMP_JSON : CMP_TRIMMED;
	const struct verdict_run *first = job->nruns > 0 ? &job->runs[0] : NULL;
	char *err = NULL, why[256];
	cJSON *er;
	if (groups_parse(&st.groups, job->line, job->tests, job->ntests, why, sizeof why) != 0) {
		/* sandbox-exec refuses such a job: a line made by hand. */
		*v = VERDICT_INTERNAL_ERROR;
		return internal_failure(job, "groups", why, first);
	}
	st.accepted = xcalloc((size_t)job->ntests + 1, 1);
	if (cmp_init(&st.cmp, member(job->line, "compare"), dflt, &err) != 0) {
		*v = VERDICT_INTERNAL_ERROR;
		er = internal_failure(job, "comparator", err, first);
		free(err);
	} else if (verdict_compile_failed(job)) {
		*v = VERDICT_COMPILATION_ERROR;
		er = whole_failure(job, verdict_compile_error_text(job), *v, &job->compile);
	} else {
		er = judge_testcases(&st, v);
	}
	if (st.groups.n > 0)
		add_scores(&st, er);	/* nothing accepted unless judged */
	cmp_free(&st.cmp);
	free(st.accepted);
	groups_free(&st.groups);
	return er;
}
