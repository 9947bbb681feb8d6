/* libFuzzer target: a line with an exec section as judge takes it
 * (lib/judge/verdict.c: reading the section, compat and native judging, the
 * comparators, fitting the result into a message). Checked: a judged line
 * has a result, and its result fits CAP_RESULT_MESSAGE. */
#include "core/caps.h"
#include "core/fit.h"
#include "fuzz.h"
#include "judge/judging.h"

FUZZ_QUIET_TARGET("fuzz_exec")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct judging_output out;
	char *text = fuzz_text(data, size);
	judging_line(text, size, 0, &out);
	if (out.status == JUDGING_ACCEPTED || out.status == JUDGING_REJECTED) {
		const cJSON *result = cJSON_GetObjectItemCaseSensitive(out.line, "result");
		if (result == NULL || fit_printed_len(result) > CAP_RESULT_MESSAGE)
			abort();
	}
	cJSON_Delete(out.line);
	free(text);
	return 0;
}
