#include "judge/compat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "judge/jsval.h"

/* State of one pass over the results lines. */
struct compat {
	const struct verdict_job *job;
	const struct verdict_run *run;
	int passed;
	double time_ms, memory_mb;	/* maxima of the lines' figures */
	cJSON *results;			/* testResults, mode run */
	char *seen;			/* testcases that had a line */
	int first_bad;			/* lowest index not accepted, or -1 */
	enum verdict first_verdict;
	enum verdict verdict;		/* of the job, once finished */
};

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Math.max(max, v), except that a NaN (missing or unparsable figure)
 * leaves the maximum alone instead of poisoning it. */
static void raise_max(double *max, double v)
{
	if (!isnan(v) && v > *max)
		*max = v;
}

static void add_figure(cJSON *obj, const char *key, const cJSON *line)
{
	/* parseFloat of a missing figure is NaN, which JSON.stringify prints as null. */
	cJSON_AddNumberToObject(obj, key, jsval_parse_float(member(line, key)));
}

/* The output the platform reports: JSON.stringify(actual) when actual is
 * truthy, else the testcase's expected output. Quirk kept on purpose: a
 * falsy actual (0, false, "", null, missing) is shown as the expected
 * output, so a wrong answer of 0 reads like the right one. */
static void add_output(cJSON *obj, const cJSON *line, const cJSON *test)
{
	const cJSON *actual = member(line, "actual");
	if (jsval_truthy(actual)) {
		char *text = jsval_stringify(actual);
		cJSON_AddStringToObject(obj, "output", text);
		free(text);
	} else {
		verdict_copy_field(obj, "output", test, "output");
	}
}

static cJSON *stats(const struct compat *st, int failed)
{
	return verdict_stats(st->job->ntests, st->passed, failed, st->time_ms,
			     st->memory_mb);
}

/* "Invalid judge output: <line>" at index 0 with empty input and
 * expected output, as the platform's catch block answers. */
static cJSON *invalid_output(struct compat *st, const char *text)
{
	cJSON *er = cJSON_CreateObject(), *failed = cJSON_CreateObject();
	char *msg = xasprintf("Invalid judge output: %s", text);
	int n = st->job->ntests;
	cJSON_AddItemToObject(er, "stats", verdict_stats(n, 0, n, st->time_ms, st->memory_mb));
	cJSON_AddNumberToObject(failed, "index", 0);
	cJSON_AddStringToObject(failed, "input", "");
	cJSON_AddStringToObject(failed, "output", msg);
	cJSON_AddStringToObject(failed, "expectedOutput", "");
	cJSON_AddStringToObject(failed, "verdict", verdict_name(VERDICT_RUNTIME_ERROR));
	cJSON_AddItemToObject(er, "failedTestCase", failed);
	free(msg);
	/* With no testcases there is nothing to fail: a clean run is accepted
	 * even though the platform's shape (kept) reports the empty file. */
	st->verdict = n == 0 ? VERDICT_ACCEPTED : VERDICT_RUNTIME_ERROR;
	return er;
}

/* mode submit, at the first failing line: stats (with the program's
 * stderr as "stdout", another platform quirk) and that testcase. */
static cJSON *submit_failure(struct compat *st, const cJSON *line,
			     const cJSON *test, enum verdict v)
{
	cJSON *er = cJSON_CreateObject(), *failed = cJSON_CreateObject();
	cJSON *s = stats(st, st->job->ntests - st->passed);
	if (st->run->err[0])
		cJSON_AddStringToObject(s, "stdout", st->run->err);
	cJSON_AddItemToObject(er, "stats", s);
	verdict_copy_field(failed, "index", line, "index");
	verdict_copy_field(failed, "input", test, "input");
	add_output(failed, line, test);
	verdict_copy_field(failed, "expectedOutput", test, "output");
	cJSON_AddStringToObject(failed, "verdict", verdict_name(v));
	cJSON_AddItemToObject(er, "failedTestCase", failed);
	st->verdict = v;
	return er;
}

static cJSON *test_result(const cJSON *line, const cJSON *test, enum verdict v)
{
	cJSON *r = cJSON_CreateObject();
	verdict_copy_field(r, "Id", test, "Id");
	verdict_copy_field(r, "index", line, "index");
	verdict_copy_field(r, "input", test, "input");
	add_output(r, line, test);
	verdict_copy_field(r, "expectedOutput", test, "output");
	cJSON_AddBoolToObject(r, "passed", v == VERDICT_ACCEPTED);
	add_figure(r, "executionTimeMs", line);
	add_figure(r, "memoryMB", line);
	cJSON_AddStringToObject(r, "verdict", verdict_name(v));
	return r;
}

/* status "passed" is accepted, "failed" a wrong answer; the template
 * writes anything else (an "error" status, say) when the call threw. */
static enum verdict status_verdict(const cJSON *line)
{
	const cJSON *status = member(line, "status");
	if (!cJSON_IsString(status))
		return VERDICT_RUNTIME_ERROR;
	if (strcmp(status->valuestring, "passed") == 0)
		return VERDICT_ACCEPTED;
	if (strcmp(status->valuestring, "failed") == 0)
		return VERDICT_WRONG_ANSWER;
	return VERDICT_RUNTIME_ERROR;
}

/* The line's index, when it names a testcase. (The platform would take
 * "1" or 1.0 too, and let an out-of-range "passed" line count in submit
 * mode; we take integral numbers in range only.) */
static int test_index(const struct compat *st, const cJSON *line, int *index)
{
	const cJSON *i = member(line, "index");
	if (!cJSON_IsNumber(i) || i->valuedouble < 0 ||
	    i->valuedouble >= st->job->ntests || i->valuedouble != floor(i->valuedouble))
		return 0;
	*index = (int)i->valuedouble;
	return 1;
}

/* A line naming testcase `index`. Returns NULL to go on, or the finished
 * executionResult (mode submit, first failure). */
static cJSON *judge_testcase(struct compat *st, const cJSON *line, int index)
{
	const cJSON *test = verdict_test(st->job, index);
	enum verdict v = status_verdict(line);
	st->seen[index] = 1;
	if (v != VERDICT_ACCEPTED && (st->first_bad < 0 || index < st->first_bad)) {
		st->first_bad = index;
		st->first_verdict = v;
	}
	if (st->job->mode == MODE_RUN)
		cJSON_AddItemToArray(st->results, test_result(line, test, v));
	if (v == VERDICT_ACCEPTED) {
		st->passed++;
		return NULL;
	}
	if (st->job->mode == MODE_SUBMIT)
		return submit_failure(st, line, test, v);
	return NULL;
}

/* One line of the results text. Returns NULL to go on, or the finished
 * executionResult. */
static cJSON *judge_line(struct compat *st, const char *text, size_t len)
{
	char *copy = xstrndup(text, len);
	cJSON *line = cJSON_ParseWithOpts(copy, NULL, 1), *done;
	int index;
	if (cJSON_IsObject(line)) {
		/* The platform takes the maxima before it looks at the index. */
		raise_max(&st->time_ms, jsval_parse_float(member(line, "executionTimeMs")));
		raise_max(&st->memory_mb, jsval_parse_float(member(line, "memoryMB")));
	}
	if (cJSON_IsObject(line) && test_index(st, line, &index))
		done = judge_testcase(st, line, index);
	else
		done = invalid_output(st, copy);
	cJSON_Delete(line);
	free(copy);
	return done;
}

/* After the last line: run lists every testcase, submit only counts. */
static cJSON *finish(struct compat *st)
{
	cJSON *er = cJSON_CreateObject();
	int n = st->job->ntests, failed = st->job->mode == MODE_RUN ? n - st->passed : 0;
	cJSON *s = stats(st, failed);
	cJSON_AddStringToObject(s, "stdout", st->run->out);
	cJSON_AddItemToObject(er, "stats", s);
	if (st->job->mode == MODE_RUN) {
		cJSON_AddItemToObject(er, "testResults", st->results);
		st->results = NULL;
	}
	st->verdict = VERDICT_ACCEPTED;
	if (st->first_bad >= 0)
		st->verdict = st->first_verdict;
	for (int i = 0; i < n && st->verdict == VERDICT_ACCEPTED; i++)
		if (!st->seen[i])
			st->verdict = VERDICT_RUNTIME_ERROR;	/* exited before writing it */
	return er;
}

/* The results text, trimmed as String.prototype.trim() does, split on
 * "\n"; an empty text is one empty line, which is invalid output. */
static cJSON *judge_results(struct compat *st, const char *results)
{
	size_t start, end;
	cJSON *done = NULL;
	jsval_trim(results, strlen(results), &start, &end);
	const char *p = results + start, *stop = results + end;
	while (done == NULL) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *e = nl ? nl : stop;
		done = judge_line(st, p, (size_t)(e - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return done ? done : finish(st);
}

static cJSON *from_results(const struct verdict_job *job,
			   const struct verdict_run *run, enum verdict *v)
{
	struct compat st = {
		.job = job,
		.run = run,
		.results = cJSON_CreateArray(),
		.seen = xcalloc((size_t)job->ntests + 1, 1),
		.first_bad = -1,
	};
	cJSON *er = judge_results(&st, run->results);
	cJSON_Delete(st.results);
	free(st.seen);
	*v = st.verdict;
	return er;
}

/* A clean exit without a readable results file: the platform appends
 * its read error to stderr (even an empty one, hence a leading newline). */
static cJSON *results_unreadable(const struct verdict_job *job,
				 const struct verdict_run *run)
{
	const char *reason = run->results_error ? run->results_error : "missing";
	char *text = xasprintf("%s\nFailed to read results file: %s", run->err, reason);
	cJSON *er = verdict_whole_failure(job, text, VERDICT_RUNTIME_ERROR);
	free(text);
	return er;
}

cJSON *compat_execution_result(const struct verdict_job *job, enum verdict *v)
{
	const struct verdict_run *run = job->nruns > 0 ? &job->runs[0] : NULL;
	cJSON *er;
	if (verdict_compile_failed(job)) {
		*v = VERDICT_COMPILATION_ERROR;
		run = &job->compile;
		er = verdict_whole_failure(job, verdict_compile_error_text(job), *v);
	} else if (verdict_run_failed(run)) {
		*v = verdict_of_run(run);
		er = verdict_whole_failure(job, verdict_run_error_text(run), *v);
	} else if (run->results == NULL || run->results_error != NULL) {
		*v = VERDICT_RUNTIME_ERROR;
		er = results_unreadable(job, run);
	} else {
		er = from_results(job, run, v);
	}
	verdict_add_measures(er, job, run, *v);
	return er;
}
