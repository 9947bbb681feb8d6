#include "otel/jobtrace.h"

#include <string.h>

#include "core/jsonx.h"

static const char *language_of(const cJSON *line)
{
	const char *l = jsonx_str(line, "language");
	return l ? l : jsonx_str(cJSON_GetObjectItemCaseSensitive(line, "exec"), "language");
}

struct otel_span *jobtrace_start_at(const char *name, enum otel_kind kind, const cJSON *line,
				    uint64_t start_unix_ns)
{
	struct tracectx parent;
	int has_parent = tracectx_of_line(line, &parent) == 0;
	struct otel_span *s = otel_span_start_at(name, kind, has_parent ? &parent : NULL,
						 start_unix_ns);
	otel_span_set_str(s, "codex.lane",
			  jsonx_str(cJSON_GetObjectItemCaseSensitive(line, "meta"), "lane"));
	otel_span_set_str(s, "codex.language", language_of(line));
	return s;
}

struct otel_span *jobtrace_start(const char *name, enum otel_kind kind, const cJSON *line)
{
	return jobtrace_start_at(name, kind, line, 0);
}

void jobtrace_headers(struct jobtrace_headers *h, const struct otel_span *s, const cJSON *line)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	struct tracectx c;
	memset(h, 0, sizeof *h);
	if (otel_span_context(s, &c) != 0) {
		h->traceparent = jsonx_str(meta, "traceparent");
		h->tracestate = jsonx_str(meta, "tracestate");
		return;
	}
	tracectx_format(&c, h->tp);
	h->traceparent = h->tp;
	if (c.trace_state[0]) {
		memcpy(h->ts, c.trace_state, sizeof h->ts);
		h->tracestate = h->ts;
	}
}

size_t jobtrace_attrs(const cJSON *line, struct otel_attr out[JOBTRACE_ATTRS])
{
	const char *lane = jsonx_str(cJSON_GetObjectItemCaseSensitive(line, "meta"), "lane");
	const char *language = language_of(line);
	size_t n = 0;
	if (lane)
		out[n++] = (struct otel_attr){"codex.lane", lane};
	if (language)
		out[n++] = (struct otel_attr){"codex.language", language};
	return n;
}
