#include "sandbox/backend.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

const char *box_backend(const char *arg)
{
	const char *name = arg && *arg ? arg : getenv("SANDBOX_BACKEND");
	if (name == NULL || *name == '\0')
		return "ns";
	return strcmp(name, "ns") == 0 || strcmp(name, "docker") == 0 ? name : NULL;
}

void box_classify(struct box_result *r, const struct box_step *s, int64_t oom_kills,
		  int64_t pids_max_hits)
{
	const struct sbx_limits *l = s->limits;
	int failed = r->exit_code != 0;
	/* Stopped by a clock with its memory at the ceiling: the kernel kept
	 * reclaiming instead of OOM-killing (file pages the box was the first
	 * to read, evicted and read again), and memory is what ran out. */
	if (r->limit && (strcmp(r->limit, "time") == 0 || strcmp(r->limit, "wall") == 0) &&
	    r->memory_kb >= l->memory_mb * 1024)
		r->limit = "memory";
	if (r->limit == NULL && r->time_ms > l->time_ms)
		r->limit = "time";
	if (r->limit == NULL && r->signal == SIGXCPU)
		r->limit = "time";
	if (r->limit == NULL && r->signal == SIGXFSZ)
		r->limit = "file";
	if (r->limit == NULL && (oom_kills > 0 || r->memory_kb > l->memory_mb * 1024))
		r->limit = "memory";
	if (r->limit == NULL && failed && s->oom_marker && r->err && strstr(r->err, s->oom_marker))
		r->limit = "memory";
	if (r->limit == NULL && failed && pids_max_hits > 0)
		r->limit = "processes";
}

void box_result_free(struct box_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
