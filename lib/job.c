#include "job.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "util.h"

const char *job_shape_name(enum job_shape s)
{
	static const char *const names[] = {"compat", "function", "stdio", "custom"};
	return names[s];
}

const char *job_mode_name(enum job_mode m)
{
	static const char *const names[] = {"submit", "run", "custom"};
	return names[m];
}

void job_free(struct job *j)
{
	cJSON_Delete(j->line);
	free(j->code_owned);
	memset(j, 0, sizeof *j);
}

static const char *const sections[] = {"meta", "exec", "result", "error", "retry", "dlq"};
enum { NSECTIONS = sizeof sections / sizeof sections[0] };

const char *job_section_of(const cJSON *line)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (cJSON_HasObjectItem(line, sections[i]))
			return sections[i];
	return NULL;
}

cJSON *job_bare(const cJSON *line)
{
	cJSON *job = cJSON_Duplicate(line, 1);
	if (job == NULL)
		die(EXIT_TEMPORARY, "out of memory copying a job");
	for (size_t i = 0; i < NSECTIONS; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(job, sections[i]);
	return job;
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
		for (int m = MODE_SUBMIT; m <= MODE_CUSTOM; m++)
			if (strcmp(mode, job_mode_name(m)) == 0) {
				j->mode = m;
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

static int pick_limits(struct job *j, char *msg, size_t msglen)
{
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j->line, "limits");
	j->limits = j->lang->limits;
	j->compile_limits = j->lang->compile_limits;
	if (limit_from_env(&j->limits, msg, msglen) != 0)
		return -1;
	return limit_from_json(&j->limits, lim, msg, msglen);
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
		snprintf(msg, msglen, "unknown language '%.64s'", language);
		return -1;
	}
	if (classify(j, sub, sizeof sub) != 0 || pick_mode(j, sub, sizeof sub) != 0 ||
	    pick_limits(j, sub, sizeof sub) != 0)
		return invalid(code, msg, msglen, sub);
	/* Code-Manage counts a submission accepted when passed == total: with
	 * no testcases, even a compile error would be "accepted". */
	if (j->mode == MODE_SUBMIT && j->shape != SHAPE_CUSTOM && j->ntests == 0)
		return invalid(code, msg, msglen, "a submission needs at least one testcase");
	return 0;
}
