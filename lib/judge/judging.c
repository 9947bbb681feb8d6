#include "judge/judging.h"

#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "core/fit.h"
#include "core/jsonx.h"
#include "core/util.h"
#include "judge/answer.h"
#include "judge/compat.h"
#include "judge/native.h"

static cJSON *wrap_message(const struct verdict_job *job, cJSON *er)
{
	cJSON *msg = cJSON_CreateObject();
	if (job->mode == MODE_SUBMIT) {
		verdict_copy_field(msg, "submissionId", job->line, "submissionId");
		verdict_copy_field(msg, "userId", job->line, "userId");
	} else {
		verdict_copy_field(msg, "tempId", job->line, "tempId");
	}
	cJSON_AddItemToObject(msg, "executionResult", er);
	return msg;
}

/* A job whose budget ran out before its one run (its compile took it). */
static cJSON *budget_failure(const struct verdict_job *job, enum verdict *v)
{
	*v = VERDICT_TIME_LIMIT_EXCEEDED;
	if (job->shape == SHAPE_CUSTOM) {
		cJSON *msg = cJSON_CreateObject();
		verdict_copy_field(msg, "tempId", job->line, "tempId");
		cJSON_AddStringToObject(msg, "stdOut", VERDICT_TIMEOUT_TEXT);
		verdict_add_measures(msg, job, NULL, *v);
		return msg;
	}
	cJSON *er = verdict_whole_failure(job, VERDICT_TIMEOUT_TEXT, *v);
	verdict_add_measures(er, job, NULL, *v);
	return wrap_message(job, er);
}

cJSON *judging_result(const cJSON *line, enum verdict *v, char **err)
{
	struct verdict_job job;
	cJSON *msg = NULL;
	if (verdict_job_parse(line, &job, err) != 0) {
		verdict_job_free(&job);
		return NULL;
	}
	if (job.nruns == 0 && job.stopped && job.shape != SHAPE_STDIO &&
	    !verdict_compile_failed(&job)) {
		msg = budget_failure(&job, v);
		verdict_job_free(&job);
		return msg;
	}
	switch (job.shape) {
	case SHAPE_CUSTOM:
		msg = verdict_custom(&job, v);
		break;
	case SHAPE_COMPAT:
		msg = wrap_message(&job, compat_execution_result(&job, v));
		break;
	case SHAPE_FUNCTION:
	case SHAPE_STDIO:
		msg = wrap_message(&job, native_execution_result(&job, v));
		break;
	}
	verdict_job_free(&job);
	return msg;
}

/* ---- lines ---- */

static int blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r", text[i]))
			return 0;
	return 1;
}

static void error_line(struct judging_output *out, cJSON *line)
{
	out->line = line;
	out->status = JUDGING_ERROR;
}

/* The parsed object, or NULL when text[0..len) is not exactly one object. */
static cJSON *parse_object(const char *text, size_t len)
{
	cJSON *obj = jsonx_parse_line(text, len);
	if (obj && !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return obj;
}

/* A parsed job line: pass its error through, or judge it. */
/* "attempt" (meta.attempt, 1 + x-retry-count) next to the verdict, when
 * the line came from Kafka: which try produced this result. */
static void add_attempt(cJSON *result, const cJSON *line)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const cJSON *attempt = cJSON_GetObjectItemCaseSensitive(meta, "attempt");
	cJSON *er = cJSON_GetObjectItemCaseSensitive(result, "executionResult");
	if (cJSON_IsNumber(attempt))
		jsonx_set(cJSON_IsObject(er) ? er : result, "attempt",
			  cJSON_CreateNumber(attempt->valuedouble));
}

static void judge_object(cJSON *line, const char *text, size_t len, struct judging_output *out)
{
	char *err = NULL, msg[128];
	if (cJSON_HasObjectItem(line, "error")) {
		out->passthrough = 1;
		error_line(out, line);
		return;
	}
	if (jsonx_check_text(text, len, msg, sizeof msg) != 0) {
		jsonx_set_error(line, "poison", "invalid-job", msg);
		error_line(out, line);
		return;
	}
	if (!cJSON_HasObjectItem(line, "exec")) {
		jsonx_set_error(line, "poison", "invalid-job",
				"no exec section: judge reads what sandbox-exec writes "
				"(sandbox-exec < jobs | judge)");
		error_line(out, line);
		return;
	}
	cJSON *result = judging_result(line, &out->verdict, &err);
	if (result == NULL) {
		jsonx_set_error(line, "poison", "invalid-job", err);
		free(err);
		error_line(out, line);
		return;
	}
	add_attempt(result, line);
	/* The message goes to Kafka: cut captured texts to fit, not the verdict. */
	if (fit_result(result, CAP_RESULT_MESSAGE) != 0) {
		cJSON_Delete(result);
		result = answer_error(line, NULL, NULL, "result-too-large",
				      "the result does not fit a message even with its texts cut");
		out->verdict = VERDICT_INTERNAL_ERROR;
	}
	jsonx_set(line, "result", result);
	out->line = line;
	out->status = out->verdict == VERDICT_ACCEPTED ? JUDGING_ACCEPTED
						       : JUDGING_REJECTED;
}

void judging_line(const char *text, size_t len, int oversized,
		  struct judging_output *out)
{
	memset(out, 0, sizeof *out);
	if (oversized) {
		char msg[64];
		snprintf(msg, sizeof msg, "the line is longer than %d bytes", VERDICT_LINE_CAP);
		error_line(out, jsonx_unparsable(text, len, "oversized", msg));
		return;
	}
	if (blank(text, len)) {
		out->status = JUDGING_SKIPPED;
		return;
	}
	cJSON *line = parse_object(text, len);
	if (line == NULL)
		error_line(out, jsonx_unparsable(text, len, "invalid-json",
						 "the line is not a JSON object"));
	else
		judge_object(line, text, len, out);
}
