/* Unit tests of lib/judge/job.c: shapes, modes and validation of job lines. */
#include <stdlib.h>
#include <string.h>

#include "judge/job.h"
#include "unit.h"

static struct lang_table table;

/* Parses text; returns job_parse's status, with code and msg filled. */
static int parse(struct job *j, const char *text, const char **code, char *msg)
{
	return job_parse(j, cJSON_Parse(text), &table, code, msg, 256);
}

static void test_shapes(void)
{
	struct job j;
	const char *code = NULL;
	char msg[256];
	CHECK_INT(parse(&j, "{\"submissionId\":\"s\",\"language\":\"python\",\"executableCode\":\"x\","
			"\"userCode\":\"y\",\"testCases\":[{\"Id\":\"1\",\"input\":\"1\",\"output\":\"2\"}]}",
			&code, msg), 0);
	CHECK_INT(j.shape, SHAPE_COMPAT);
	CHECK_INT(j.mode, MODE_SUBMIT);
	CHECK_STR(j.code, "x");
	CHECK_INT(j.ntests, 1);
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"go\",\"userCode\":\"f\",\"entry\":\"twoSum\","
			"\"testCases\":[]}", &code, msg), 0);
	CHECK_INT(j.shape, SHAPE_FUNCTION);
	CHECK_INT(j.mode, MODE_RUN);
	CHECK_STR(j.entry, "twoSum");
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[]}",
			&code, msg), 0);
	CHECK_INT(j.shape, SHAPE_STDIO);
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"\\\"print(1)\\\"\"}",
			&code, msg), 0);
	CHECK_INT(j.shape, SHAPE_CUSTOM);
	CHECK_INT(j.mode, MODE_CUSTOM);
	CHECK_STR(j.code, "print(1)");
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"mode\":\"submit\",\"language\":\"python\",\"userCode\":\"p\","
			"\"testCases\":[{\"input\":\"1\",\"output\":\"1\"}]}", &code, msg), 0);
	CHECK_INT(j.mode, MODE_SUBMIT);
	job_free(&j);
}

static void expect_error(const char *text, const char *want_code, const char *want_msg)
{
	struct job j;
	const char *code = NULL;
	char msg[256] = "";
	CHECK_INT(parse(&j, text, &code, msg), -1);
	CHECK_STR(code, want_code);
	CHECK_STR(msg, want_msg);
	job_free(&j);
}

static void test_errors(void)
{
	expect_error("[1]", "invalid-job", "a job must be a JSON object");
	expect_error("{\"userCode\":\"x\"}", "invalid-job", "language (string) is required");
	expect_error("{\"language\":\"cobol\",\"userCode\":\"x\"}", "unknown-language",
		     "unknown language 'cobol' (python, javascript, go, c, cpp, rust, java)");
	expect_error("{\"language\":\"python\"}", "invalid-job",
		     "executableCode or userCode (string) is required");
	expect_error("{\"language\":\"python\",\"userCode\":\"print(1)\"}", "invalid-job",
		     "custom job: userCode must be a JSON-encoded string");
	expect_error("{\"language\":\"python\",\"userCode\":\"x\",\"testCases\":{}}", "invalid-job",
		     "testCases must be an array");
	expect_error("{\"language\":\"python\",\"userCode\":\"x\",\"testCases\":[{\"input\":\"1\"}]}",
		     "invalid-job", "testCases[0] needs string input and output");
	expect_error("{\"language\":\"python\",\"userCode\":\"x\",\"entry\":\"a b\",\"testCases\":[]}",
		     "invalid-job", "entry must be an identifier");
	expect_error("{\"language\":\"python\",\"userCode\":\"x\",\"mode\":\"fast\",\"testCases\":[]}",
		     "invalid-job", "mode must be submit, run or custom");
	expect_error("{\"language\":\"python\",\"userCode\":\"x\",\"testCases\":[],\"limits\":{\"timeMs\":0}}",
		     "invalid-job", "limit timeMs=0 is out of range [1, 600000]");
	expect_error("{\"submissionId\":\"s\",\"language\":\"python\",\"executableCode\":\"x\",\"testCases\":[]}",
		     "invalid-job", "a submission needs at least one testcase");
}

static void test_limits_layering(void)
{
	struct job j;
	const char *code;
	char msg[256];
	setenv("EXECUTION_TIMEOUT", "4000", 1);
	CHECK_INT(parse(&j, "{\"language\":\"python\",\"userCode\":\"x\",\"testCases\":[],"
			"\"limits\":{\"memoryMb\":64}}", &code, msg), 0);
	CHECK_INT(j.limits.wall_ms, 4000);	/* the platform's variable */
	CHECK_INT(j.limits.memory_mb, 64);	/* the job's own */
	CHECK_INT(j.limits.time_ms, 3000);	/* the table's default */
	job_free(&j);
	unsetenv("EXECUTION_TIMEOUT");
}

/* Everything knowable from the line is refused before a slot is taken,
 * saying what is allowed. */
static void test_refused_before_running(void)
{
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[],"
		     "\"limits\":{\"processes\":1}}", "invalid-job",
		     "limits.processes 1 is below the 2 python needs to start");
	expect_error("{\"tempId\":\"t\",\"language\":\"javascript\",\"userCode\":\"p\",\"testCases\":[],"
		     "\"limits\":{\"processes\":4}}", "invalid-job",
		     "limits.processes 4 is below the 8 javascript needs to start");
	expect_error("{\"tempId\":\"t\",\"language\":\"go\",\"userCode\":\"p\",\"testCases\":[],"
		     "\"limits\":{\"workdirMb\":2}}", "invalid-job",
		     "limits.workdirMb 2 is below the 16 go needs for its files");
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[],"
		     "\"compare\":\"fuzzy\"}", "invalid-job", "compare: unknown comparator \"fuzzy\"");
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[],"
		     "\"compare\":{\"type\":\"jq\",\"expr\":\"$actual ==\"}}", "invalid-job",
		     "compare: jq expression does not compile: jq: error: syntax error, unexpected ')' "
		     "(Unix shell quoting issues?) at <top-level>, line 3:\n); jq: 1 compile error");
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"entry\":\"f\","
		     "\"testCases\":[{\"input\":\"[1]\",\"output\":\"NaN\"}]}", "invalid-job",
		     "testCases[0].output: not JSON, which the json comparator needs");
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"entry\":\"f\","
		     "\"compare\":\"unordered\",\"testCases\":[{\"input\":\"[1]\",\"output\":\"1\"}]}",
		     "invalid-job", "testCases[0].output: not a JSON array, which the unordered comparator needs");
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"entry\":\"f\","
		     "\"testCases\":[{\"input\":\"[1,\",\"output\":\"1\"}]}", "invalid-job",
		     "testCases[0].input is not a JSON text");
}

/* A function job needs its language's harness. */
static void test_harness_needed(void)
{
	char *harness = table.langs[0].harness;	/* python's */
	table.langs[0].harness = NULL;
	expect_error("{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"entry\":\"f\","
		     "\"testCases\":[]}", "invalid-job",
		     "language python has no function harness: jobs with an entry run in javascript, go");
	table.langs[0].harness = harness;
}

/* What stdio and compat jobs may carry is not held to JSON. */
static void test_texts_where_texts_go(void)
{
	struct job j;
	const char *code;
	char msg[256];
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\","
			"\"testCases\":[{\"input\":\"1 2\",\"output\":\"NaN\"}]}", &code, msg), 0);
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"entry\":\"f\","
			"\"compare\":\"tokens\",\"testCases\":[{\"input\":\"1\",\"output\":\"NaN\"}]}",
			&code, msg), 0);
	job_free(&j);
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"executableCode\":\"p\","
			"\"testCases\":[{\"input\":\"[1,\",\"output\":\"x\"}]}", &code, msg), 0);
	job_free(&j);
}

static void test_budget(void)
{
	struct job j;
	const char *code;
	char msg[256];
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[],"
			"\"limits\":{\"wallMs\":1000}}", &code, msg), 0);
	CHECK_INT(j.budget_ms, 3000);
	job_free(&j);
	table.job_wall_ms = 5000;
	CHECK_INT(parse(&j, "{\"tempId\":\"t\",\"language\":\"python\",\"userCode\":\"p\",\"testCases\":[]}",
			&code, msg), 0);
	CHECK_INT(j.budget_ms, 5000);
	job_free(&j);
	table.job_wall_ms = 0;
}

int main(void)
{
	char err[512];
	if (lang_table_load(&table, "etc/languages.conf", NULL, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	UNIT_RUN(test_shapes);
	UNIT_RUN(test_errors);
	UNIT_RUN(test_limits_layering);
	UNIT_RUN(test_refused_before_running);
	UNIT_RUN(test_harness_needed);
	UNIT_RUN(test_texts_where_texts_go);
	UNIT_RUN(test_budget);
	lang_table_free(&table);
	return unit_finish();
}
