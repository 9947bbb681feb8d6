/* Unit tests of lib/judge/answer.c: the error result in each lane's shape. */
#include <stdlib.h>
#include <string.h>

#include "judge/answer.h"
#include "unit.h"

static void check(const char *job, const char *lane, const char *id, const char *want, int line)
{
	cJSON *j = job ? cJSON_Parse(job) : NULL, *r = answer_error(j, lane, id, "invalid-job", "boom");
	char *got = cJSON_PrintUnformatted(r);
	unit_check_str(got, want, __FILE__, line, want);
	free(got);
	cJSON_Delete(r);
	cJSON_Delete(j);
}
#define ANSWER(job, lane, id, want) check((job), (lane), (id), (want), __LINE__)

#define ERROR_OBJ "\"error\":{\"code\":\"invalid-job\",\"message\":\"boom\"}"
#define FAILED(in, exp) "\"failedTestCase\":{\"index\":0,\"input\":\"" in "\",\"output\":\"internal error: boom\"," \
	"\"expectedOutput\":\"" exp "\",\"verdict\":\"internal_error\"}"
#define STATS(n) "\"stats\":{\"totalTestCase\":" #n ",\"passedTestCase\":0,\"failedTestCase\":" #n \
	",\"executionTimeMs\":0,\"memoryMB\":0}"

static void test_shapes(void)
{
	static const char run_job[] = "{\"tempId\":\"t1\",\"testCases\":[{\"Id\":\"a\",\"input\":\"1\",\"output\":\"2\"},"
				      "{\"Id\":\"b\",\"input\":\"3\",\"output\":\"4\"}]}";
	static const char run_want[] = "{\"tempId\":\"t1\",\"executionResult\":{" STATS(2) "," FAILED("1", "2")
				       ",\"verdict\":\"internal_error\"," ERROR_OBJ "}}";
	ANSWER(run_job, "run", NULL, run_want);
	ANSWER(run_job, NULL, NULL, run_want);	/* the mode from the fields */
	ANSWER("{\"tempId\":\"t2\",\"userCode\":\"x\"}", "custom", NULL,
	       "{\"tempId\":\"t2\",\"stdOut\":\"internal error: boom\",\"verdict\":\"internal_error\"," ERROR_OBJ "}");
	ANSWER("{\"tempId\":\"t2\",\"userCode\":\"x\"}", "elsewhere", NULL,
	       "{\"tempId\":\"t2\",\"stdOut\":\"internal error: boom\",\"verdict\":\"internal_error\"," ERROR_OBJ "}");
	ANSWER("{\"submissionId\":\"s\",\"userId\":\"u\",\"testCases\":[{\"input\":5}]}", "submission", NULL,
	       "{\"submissionId\":\"s\",\"userId\":\"u\",\"executionResult\":{" STATS(1) "," FAILED("", "")
	       ",\"verdict\":\"internal_error\"," ERROR_OBJ "}}");
}

/* No testcases known: one counted, failed, so that passed == total never
 * reads as accepted. */
static void test_never_all_passed(void)
{
	ANSWER("{\"submissionId\":\"s\"}", "submit", NULL,
	       "{\"submissionId\":\"s\",\"executionResult\":{" STATS(1) "," FAILED("", "")
	       ",\"verdict\":\"internal_error\"," ERROR_OBJ "}}");
	ANSWER("{\"submissionId\":\"s\",\"testCases\":[]}", "submit", NULL,
	       "{\"submissionId\":\"s\",\"executionResult\":{" STATS(1) "," FAILED("", "")
	       ",\"verdict\":\"internal_error\"," ERROR_OBJ "}}");
}

/* A message that was no job: answered by its key. */
static void test_by_key(void)
{
	ANSWER(NULL, "submit", "k1",
	       "{\"submissionId\":\"k1\",\"executionResult\":{" STATS(1) "," FAILED("", "")
	       ",\"verdict\":\"internal_error\"," ERROR_OBJ "}}");
	ANSWER(NULL, "custom", "k2",
	       "{\"tempId\":\"k2\",\"stdOut\":\"internal error: boom\",\"verdict\":\"internal_error\"," ERROR_OBJ "}");
	ANSWER("{\"tempId\":\"own\"}", "custom", "key",
	       "{\"tempId\":\"own\",\"stdOut\":\"internal error: boom\",\"verdict\":\"internal_error\"," ERROR_OBJ "}");
	CHECK(answer_id(NULL, "run", NULL) == NULL);
	cJSON *j = cJSON_Parse("{\"tempId\":7}");
	CHECK_STR(answer_id(j, "run", "key"), "key");	/* not a string: the key */
	cJSON_Delete(j);
}

int main(void)
{
	UNIT_RUN(test_shapes);
	UNIT_RUN(test_never_all_passed);
	UNIT_RUN(test_by_key);
	return unit_finish();
}
