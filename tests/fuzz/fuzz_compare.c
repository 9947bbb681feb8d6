/* libFuzzer target: every comparator but jq (lib/judge/compare.c) on an actual
 * and an expected text. The input is: one byte choosing the comparator
 * and the operands' kind, then actual, a NUL, expected. Checked: a text
 * compared with itself never fails (it passes, or is the comparator's
 * error when a JSON comparator is given what it cannot read), and an
 * expected text cmp_expected_ok() accepts never makes the comparator's
 * error. */
#include "fuzz.h"
#include "judge/compare.h"

FUZZ_QUIET_TARGET("fuzz_compare")

static const char *const specs[] = {
	"\"exact\"", "\"trimmed\"", "\"tokens\"", "\"float\"", "{\"type\":\"float\",\"epsilon\":0}",
	"\"json\"", "\"unordered\"",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmp c;
	char *err = NULL, *why = NULL;
	if (size < 1)
		return 0;
	size_t n = sizeof specs / sizeof specs[0];
	cJSON *spec = cJSON_Parse(specs[data[0] % n]);
	enum cmp_operands ops = (data[0] / n) % 2 ? CMP_AS_JSON : CMP_AS_TEXT;
	char *text = fuzz_text(data + 1, size - 1);
	const char *actual = text;
	const char *expected = text + strlen(text) + 1 <= text + size - 1 ? text + strlen(text) + 1 : "";
	if (cmp_init(&c, spec, CMP_EXACT, &err) != 0)
		abort();
	enum cmp_outcome r = cmp_check(&c, actual, expected, ops, &why);
	free(why);
	why = NULL;
	enum cmp_outcome self = cmp_check(&c, actual, actual, ops, &why);
	free(why);
	why = NULL;
	if (self == CMP_FAIL)
		abort();	/* a text always equals itself */
	if (cmp_expected_ok(&c, ops, expected, &why) == 0 && r == CMP_ERROR)
		abort();	/* an expected text said readable is never an error */
	free(why);
	cmp_free(&c);
	cJSON_Delete(spec);
	free(text);
	return 0;
}
