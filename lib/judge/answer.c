#include "judge/answer.h"

#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "core/fit.h"
#include "core/jsonx.h"
#include "core/util.h"
#include "judge/jobline.h"

/* The lane's mode, or the job's from its fields (docs/formats.md 1). */
static enum job_mode mode_of(const cJSON *job, const char *lane)
{
	const char *name = lane ? lane : jsonx_str(job, "mode");
	if (name && strcmp(name, "submission") == 0)
		return MODE_SUBMIT;
	int m = job_mode_named(name);
	return m >= 0 ? (enum job_mode)m : job_mode_implied(job);
}

const char *answer_id(const cJSON *job, const char *lane, const char *id)
{
	const char *own = jsonx_str(job, mode_of(job, lane) == MODE_SUBMIT ? "submissionId" : "tempId");
	return own ? own : id;
}

/* testCases[0][key] when a string, else "". */
static const char *first_test_text(const cJSON *tests, const char *key)
{
	const char *s = cJSON_IsArray(tests) ? jsonx_str(cJSON_GetArrayItem(tests, 0), key) : NULL;
	return s ? s : "";
}

static void add_error(cJSON *obj, const char *code, const char *message)
{
	cJSON *e = cJSON_AddObjectToObject(obj, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
}

/* Every testcase failed, the first with `text` as its output; at least
 * one: Code-Manage takes passed == total for accepted. */
static cJSON *execution_result(const cJSON *job, const char *text, const char *code,
			       const char *message)
{
	const cJSON *tests = cJSON_GetObjectItemCaseSensitive(job, "testCases");
	int n = cJSON_IsArray(tests) && cJSON_GetArraySize(tests) > 0 ? cJSON_GetArraySize(tests) : 1;
	cJSON *er = cJSON_CreateObject();
	cJSON *stats = cJSON_AddObjectToObject(er, "stats");
	/* executionTimeMs and memoryMB too: the platform always sends them,
	 * and Code-Manage reads them as numbers. */
	cJSON_AddNumberToObject(stats, "totalTestCase", n);
	cJSON_AddNumberToObject(stats, "passedTestCase", 0);
	cJSON_AddNumberToObject(stats, "failedTestCase", n);
	cJSON_AddNumberToObject(stats, "executionTimeMs", 0);
	cJSON_AddNumberToObject(stats, "memoryMB", 0);
	cJSON *failed = cJSON_AddObjectToObject(er, "failedTestCase");
	cJSON_AddNumberToObject(failed, "index", 0);
	cJSON_AddStringToObject(failed, "input", first_test_text(tests, "input"));
	cJSON_AddStringToObject(failed, "output", text);
	cJSON_AddStringToObject(failed, "expectedOutput", first_test_text(tests, "output"));
	cJSON_AddStringToObject(failed, "verdict", "internal_error");
	cJSON_AddStringToObject(er, "verdict", "internal_error");
	add_error(er, code, message);
	return er;
}

cJSON *answer_error(const cJSON *job, const char *lane, const char *id, const char *code,
		    const char *message)
{
	enum job_mode m = mode_of(job, lane);
	const char *answered = answer_id(job, lane, id);
	const char *user = jsonx_str(job, "userId");
	char *text = xasprintf("internal error: %s", message);
	cJSON *msg = cJSON_CreateObject();
	if (m == MODE_SUBMIT) {
		if (answered)
			cJSON_AddStringToObject(msg, "submissionId", answered);
		if (user)
			cJSON_AddStringToObject(msg, "userId", user);
		cJSON_AddItemToObject(msg, "executionResult", execution_result(job, text, code, message));
	} else {
		if (answered)
			cJSON_AddStringToObject(msg, "tempId", answered);
		if (m == MODE_RUN) {
			cJSON_AddItemToObject(msg, "executionResult", execution_result(job, text, code, message));
		} else {
			cJSON_AddStringToObject(msg, "stdOut", text);
			cJSON_AddStringToObject(msg, "verdict", "internal_error");
			add_error(msg, code, message);
		}
	}
	free(text);
	return msg;
}

cJSON *answer_message(const cJSON *job, const char *lane, const char *key, const char *code,
		      const char *message, const char **id)
{
	*id = answer_id(job, lane, key);
	if (*id == NULL || **id == '\0')
		return NULL;
	cJSON *r = answer_error(job, lane, key, code ? code : "unknown",
				message ? message : "the job could not be run");
	fit_result(r, CAP_RESULT_MESSAGE);
	return r;
}
