/* libFuzzer target: a job line as consume and sandbox-exec take it
 * (lib/core/jsonx.c's text check and parse, lib/judge/job.c's validation, with the
 * project's language table, and the comparators it compiles). */
#include "core/jsonx.h"
#include "fuzz.h"
#include "judge/job.h"

static struct lang_table table;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	fuzz_quiet("fuzz_job");
	if (lang_table_load(&table, "etc/languages.conf", "share/harness", err, sizeof err) != 0)
		abort();	/* run from the checkout */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512];
	const char *code;
	struct job j;
	char *text = fuzz_text(data, size);
	jsonx_check_text(text, size, msg, sizeof msg);
	cJSON *line = jsonx_parse_line(text, size);
	if (line && job_parse(&j, line, &table, &code, msg, sizeof msg) == 0) {
		if (j.ntests < 0 || (j.shape != SHAPE_CUSTOM && j.tests == NULL) || j.code == NULL)
			abort();
		for (int i = 0; i < j.ntests; i++)
			job_test_input(&j, i);
	}
	if (line)
		job_free(&j);
	free(text);
	return 0;
}
