#include "judge/job.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/util.h"
#include "judge/compare.h"
#include "judge/groups.h"
#include "judge/jcanon.h"

void job_free(struct job *j)
{
	cJSON_Delete(j->line);
	free(j->code_owned);
	memset(j, 0, sizeof *j);
}

const char *job_test_input(const struct job *j, int i)
{
	const cJSON *tc = cJSON_GetArrayItem(j->tests, i);
	const char *s = jsonx_str(tc, "input");
	return s ? s : "";
}

static int invalid(const char **code, char *msg, size_t msglen, const char *text)
{
	*code = "invalid-job";
	snprintf(msg, msglen, "%s", text);
	return -1;
}

static int check_tests(struct job *j, char *msg, size_t msglen)
{
	const cJSON *tc;
	int i = 0;
	if (!cJSON_IsArray(j->tests)) {
		snprintf(msg, msglen, "testCases must be an array");
		return -1;
	}
	j->ntests = cJSON_GetArraySize(j->tests);
	if (j->ntests > JOB_MAX_TESTS) {
		snprintf(msg, msglen, "more than %d testCases", JOB_MAX_TESTS);
		return -1;
	}
	cJSON_ArrayForEach(tc, j->tests) {
		if (!cJSON_IsObject(tc) || !jsonx_str(tc, "input") || !jsonx_str(tc, "output")) {
			snprintf(msg, msglen, "testCases[%d] needs string input and output", i);
			return -1;
		}
		i++;
	}
	return 0;
}

/* An identifier every supported language accepts as a function name. */
static int valid_entry(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return 0;
	return strlen(s) <= 128;
}

static int classify(struct job *j, char *msg, size_t msglen)
{
	const cJSON *line = j->line;
	const char *exe = jsonx_str(line, "executableCode");
	const char *user = jsonx_str(line, "userCode");
	j->tests = cJSON_GetObjectItemCaseSensitive(line, "testCases");
	j->entry = jsonx_str(line, "entry");
	if (j->entry == NULL && cJSON_HasObjectItem(line, "entry")) {
		snprintf(msg, msglen, "entry must be a string");
		return -1;
	}
	if (exe) {
		j->shape = SHAPE_COMPAT;
		j->code = exe;
	} else if (user == NULL) {
		snprintf(msg, msglen, "executableCode or userCode (string) is required");
		return -1;
	} else if (j->tests == NULL) {
		/* The platform's custom jobs: userCode is a JSON-encoded string. */
		cJSON *decoded = cJSON_ParseWithOpts(user, NULL, 1);
		if (!cJSON_IsString(decoded)) {
			cJSON_Delete(decoded);
			snprintf(msg, msglen, "custom job: userCode must be a JSON-encoded string");
			return -1;
		}
		j->shape = SHAPE_CUSTOM;
		j->code_owned = xstrdup(decoded->valuestring);
		j->code = j->code_owned;
		cJSON_Delete(decoded);
		return 0;
	} else {
		j->shape = j->entry ? SHAPE_FUNCTION : SHAPE_STDIO;
		j->code = user;
	}
	if (j->shape == SHAPE_FUNCTION && !valid_entry(j->entry)) {
		snprintf(msg, msglen, "entry must be an identifier");
		return -1;
	}
	return check_tests(j, msg, msglen);
}

static int pick_mode(struct job *j, char *msg, size_t msglen)
{
	const char *mode = jsonx_str(j->line, "mode");
	if (mode == NULL && cJSON_HasObjectItem(j->line, "mode")) {
		snprintf(msg, msglen, "mode must be a string");
		return -1;
	}
	if (mode) {
		int m = job_mode_named(mode);
		if (m >= 0) {
			j->mode = (enum job_mode)m;
			return 0;
		}
		snprintf(msg, msglen, "mode must be submit, run or custom");
		return -1;
	}
	if (jsonx_str(j->line, "submissionId"))
		j->mode = MODE_SUBMIT;
	else if (j->shape != SHAPE_CUSTOM)
		j->mode = MODE_RUN;
	else
		j->mode = MODE_CUSTOM;
	return 0;
}

static int pick_limits(struct job *j, const struct lang_table *t, char *msg, size_t msglen)
{
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j->line, "limits");
	j->limits = j->lang->limits;
	j->compile_limits = j->lang->compile_limits;
	if (limit_from_env(&j->limits, msg, msglen) != 0 ||
	    limit_from_json(&j->limits, lim, msg, msglen) != 0)
		return -1;
	j->budget_ms = t->job_wall_ms > 0 ? t->job_wall_ms : 3 * j->limits.wall_ms;
	return 0;
}

int job_lang_takes(const struct lang *l, enum job_shape s)
{
	return s != SHAPE_FUNCTION || (l->harness && l->harness_as && l->solution);
}

/* The table's languages, "python, javascript, go", into buf; only those
 * with a function harness when `harness` is set. */
static const char *names(const struct lang_table *t, int harness, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->n && used < len; i++) {
		if (harness && !job_lang_takes(&t->langs[i], SHAPE_FUNCTION))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 t->langs[i].name);
	}
	return buf;
}

/* Room the work dir keeps beyond the job's files: the harness, the
 * results file, tmpfs blocks. */
enum { WORKDIR_SLACK = 256 << 10 };

/* What the job writes into its box before it runs: its code, and a
 * function job's inputs. */
static size_t job_files_bytes(const struct job *j)
{
	size_t n = strlen(j->code);
	for (int i = 0; j->shape == SHAPE_FUNCTION && i < j->ntests; i++)
		n += strlen(job_test_input(j, i)) + 8;
	return n;
}

/* Limits under what the language needs to start can never run: a job
 * that asks for them is the job's mistake, found before a slot is taken. */
static int check_runnable(const struct job *j, const struct lang_table *t, char *msg, size_t msglen)
{
	const struct lang *l = j->lang;
	char list[256];
	if (!job_lang_takes(l, j->shape)) {
		snprintf(msg, msglen, "language %s has no function harness: jobs with an entry run in %s",
			 l->name, names(t, 1, list, sizeof list));
		return -1;
	}
	if (j->limits.processes < l->min_processes) {
		snprintf(msg, msglen, "limits.processes %lld is below the %ld %s needs to start",
			 (long long)j->limits.processes, l->min_processes, l->name);
		return -1;
	}
	if (j->limits.workdir_mb < l->min_workdir_mb) {
		snprintf(msg, msglen, "limits.workdirMb %lld is below the %ld %s needs for its files",
			 (long long)j->limits.workdir_mb, l->min_workdir_mb, l->name);
		return -1;
	}
	size_t files = job_files_bytes(j);
	if (files + WORKDIR_SLACK > (size_t)j->limits.workdir_mb << 20) {
		snprintf(msg, msglen, "limits.workdirMb %lld is too small for the job's own files (%zu bytes)",
			 (long long)j->limits.workdir_mb, files);
		return -1;
	}
	return 0;
}

/* Native jobs: the comparator compiles, and each expected output is
 * something it can compare with. */
static int check_compare(const struct job *j, char *msg, size_t msglen)
{
	struct cmp c;
	char *err = NULL;
	int rc = 0;
	if (j->shape != SHAPE_FUNCTION && j->shape != SHAPE_STDIO)
		return 0;
	enum cmp_type dflt = j->shape == SHAPE_FUNCTION ? CMP_JSON : CMP_TRIMMED;
	enum cmp_operands ops = j->shape == SHAPE_FUNCTION ? CMP_AS_JSON : CMP_AS_TEXT;
	if (cmp_init(&c, cJSON_GetObjectItemCaseSensitive(j->line, "compare"), dflt, &err) != 0) {
		snprintf(msg, msglen, "compare: %s", err);
		free(err);
		return -1;
	}
	for (int i = 0; rc == 0 && i < j->ntests; i++) {
		const char *expected = jsonx_str(cJSON_GetArrayItem(j->tests, i), "output");
		if (cmp_expected_ok(&c, ops, expected, &err) != 0) {
			snprintf(msg, msglen, "testCases[%d].output: %s", i, err);
			free(err);
			rc = -1;
		}
	}
	cmp_free(&c);
	return rc;
}

/* Scored groups name testcases of a stdio or function job. */
static int check_groups(struct job *j, char *msg, size_t msglen)
{
	struct groups g;
	if (!cJSON_HasObjectItem(j->line, "groups"))
		return 0;
	if (j->shape != SHAPE_FUNCTION && j->shape != SHAPE_STDIO) {
		snprintf(msg, msglen, "groups are for jobs with testCases and userCode (stdio, function)");
		return -1;
	}
	if (groups_parse(&g, j->line, j->tests, j->ntests, msg, msglen) != 0)
		return -1;
	j->grouped = 1;
	groups_free(&g);
	return 0;
}

/* A function job's inputs are JSON texts: the harness parses each. */
static int check_inputs(const struct job *j, char *msg, size_t msglen)
{
	for (int i = 0; j->shape == SHAPE_FUNCTION && i < j->ntests; i++) {
		const char *in = job_test_input(j, i);
		struct sbuf form = {0};
		int bad = jcanon(in, strlen(in), &form) != 0;
		free(form.p);
		if (bad) {
			snprintf(msg, msglen, "testCases[%d].input is not a JSON text", i);
			return -1;
		}
	}
	return 0;
}

int job_parse(struct job *j, cJSON *line, const struct lang_table *t,
	      const char **code, char *msg, size_t msglen)
{
	char sub[256];
	const char *language;
	memset(j, 0, sizeof *j);
	j->line = line;
	if (!cJSON_IsObject(line))
		return invalid(code, msg, msglen, "a job must be a JSON object");
	language = jsonx_str(line, "language");
	if (language == NULL)
		return invalid(code, msg, msglen, "language (string) is required");
	j->lang = lang_find(t, language);
	if (j->lang == NULL) {
		*code = "unknown-language";
		snprintf(msg, msglen, "unknown language '%.64s' (%s)", language, names(t, 0, sub, sizeof sub));
		return -1;
	}
	if (classify(j, sub, sizeof sub) != 0 || pick_mode(j, sub, sizeof sub) != 0 ||
	    pick_limits(j, t, sub, sizeof sub) != 0 || check_runnable(j, t, sub, sizeof sub) != 0 ||
	    check_inputs(j, sub, sizeof sub) != 0 || check_compare(j, sub, sizeof sub) != 0 ||
	    check_groups(j, sub, sizeof sub) != 0)
		return invalid(code, msg, msglen, sub);
	/* Code-Manage counts a submission accepted when passed == total: with
	 * no testcases, even a compile error would be "accepted". */
	if (j->mode == MODE_SUBMIT && j->shape != SHAPE_CUSTOM && j->ntests == 0)
		return invalid(code, msg, msglen, "a submission needs at least one testcase");
	return 0;
}
