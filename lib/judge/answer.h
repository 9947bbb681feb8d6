/* answer: the error result, what a job's lane gets on its results topic
 * when the job cannot run or could not be answered (docs/formats.md,
 * "Error results"): the platform's message in the lane's shape, with
 * verdict internal_error, the reason as the failing output, and an
 * `error` object {code, message} saying what happened. Every consumed
 * message gets one answer: its result, or this. */
#ifndef ANSWER_H
#define ANSWER_H

#include <cjson/cJSON.h>

/* The error result of a job of the lane `lane` ("submit" or "submission",
 * "run", "custom"; NULL or another name: the mode from the job's fields,
 * docs/formats.md section 1). job (borrowed) is the job as far as it could
 * be read: its id, userId and testCases are used when present; NULL when
 * the message was no JSON object. id, when not NULL, is the id to answer
 * when the job has none (the message's key). code and message say why
 * ("invalid-job", "unknown language 'Python' (python, ...)"). A
 * submission or run result counts at least one testcase, all failed, so
 * that it never reads as "all passed". Returns a new object. */
cJSON *answer_error(const cJSON *job, const char *lane, const char *id, const char *code,
		    const char *message);

/* The id answer_error() would answer for a job of lane (its id field,
 * else id), or NULL when there is none: such a job cannot be answered.
 * Borrowed from job or id. */
const char *answer_id(const cJSON *job, const char *lane, const char *id);

/* answer_error() ready to send: cut to fit CAP_RESULT_MESSAGE (fit.h),
 * with *id set to the id to key it by (borrowed from job or key). NULL
 * when the job has no id and there is no key: nobody can be answered. A
 * new object. */
cJSON *answer_message(const cJSON *job, const char *lane, const char *key, const char *code,
		      const char *message, const char **id);

#endif
