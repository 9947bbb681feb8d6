/* jobtrace: the trace context a job line carries from stage to stage
 * (meta.traceparent and meta.tracestate, docs/pipeline.md) and the spans
 * the stages start from it (docs/telemetry.md, "Spans of the pipeline").
 * With tracing off every span here is NULL and the line's context is
 * passed on as it came. */
#ifndef JOBTRACE_H
#define JOBTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "otel/otel.h"

/* Starts a span as the child of the line's context (the root of a new
 * trace when it has none), with codex.lane and codex.language when the
 * line names them. NULL when tracing is off; else the caller ends it. */
struct otel_span *jobtrace_start(const char *name, enum otel_kind kind, const cJSON *line);

/* The same, started at start_unix_ns (otel_span_start_at(); 0: now). */
struct otel_span *jobtrace_start_at(const char *name, enum otel_kind kind, const cJSON *line,
				    uint64_t start_unix_ns);

/* The traceparent and tracestate headers of a message sent for a line:
 * the span's context, or with no span (tracing off) the line's
 * meta.traceparent and meta.tracestate as they are. */
struct jobtrace_headers {
	const char *traceparent;	/* NULL: none; points into tp or the line */
	const char *tracestate;		/* NULL: none; points into ts or the line */
	char tp[TRACECTX_PARENT_LEN + 1];
	char ts[TRACECTX_STATE_MAX + 1];
};

/* Fills *h for a message of `line` sent under span s (may be NULL). The
 * pointers are valid while h and the line are. */
void jobtrace_headers(struct jobtrace_headers *h, const struct otel_span *s, const cJSON *line);

enum { JOBTRACE_ATTRS = 2 };

/* The metric attributes of a line: codex.lane (meta.lane) and
 * codex.language (the job's, else exec.language), those it has. Values
 * are borrowed from the line. Returns how many were written to out. */
size_t jobtrace_attrs(const cJSON *line, struct otel_attr out[JOBTRACE_ATTRS]);

#endif
