/* libFuzzer target: lib/sandbox/agent.c, the frames between sandbox-exec and
 * codex-agent, as either end reads them. Checked: a decoded message
 * encodes back to the same frame, and every accessor stays in bounds. */
#include "fuzz.h"
#include "sandbox/agent.h"

FUZZ_QUIET_TARGET("fuzz_agent")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t body;
	long total = agent_frame_len((const char *)data, size, 1 << 20, &body);
	if (total <= 0)
		return 0;
	if ((size_t)total > size || body + 4 != (size_t)total)
		abort();
	struct agent_msg m;
	char *copy = fuzz_text(data + 4, body);
	if (agent_decode(copy, body, &m) != 0) {
		agent_msg_free(&m);	/* the message holds copy either way */
		return 0;
	}
	struct sbuf again = {0};
	agent_begin(&again, m.op);
	for (size_t i = 0; i < m.n; i++)
		agent_put(&again, m.f[i].tag, m.f[i].data, m.f[i].len);
	agent_end(&again, 0);
	if (again.len != (size_t)total || memcmp(again.p, data, again.len) != 0)
		abort();
	for (int tag = 0; tag < 32; tag++) {
		int64_t v;
		free(agent_str(&m, tag));
		agent_num(&m, tag, INT64_MIN, INT64_MAX, &v);
		agent_list_free(agent_list(&m, tag));
	}
	free(again.p);
	agent_msg_free(&m);
	return 0;
}
