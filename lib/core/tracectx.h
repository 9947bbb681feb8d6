/* tracectx: the W3C Trace Context (level 1) of a job: a traceparent and a
 * tracestate, as a job line carries them in meta.traceparent and
 * meta.tracestate (docs/pipeline.md) and a Kafka message in its headers.
 * A leaf: log.c stamps log lines with it, otel.c starts spans from it. */
#ifndef TRACECTX_H
#define TRACECTX_H

#include <stdint.h>
#include <cjson/cJSON.h>

enum {
	TRACECTX_PARENT_LEN = 55,	/* "00-" 32 hex "-" 16 hex "-" 2 hex */
	TRACECTX_STATE_MAX = 512,	/* a longer tracestate is not carried */
	TRACECTX_SAMPLED = 0x01,
};

struct tracectx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;			/* TRACECTX_SAMPLED or 0 */
	char trace_state[TRACECTX_STATE_MAX + 1];	/* opaque; "" when none */
};

/* Parses a traceparent header value into *c, and carries tracestate
 * (NULL for none) as an opaque string when it is printable ASCII of at
 * most TRACECTX_STATE_MAX bytes (else it is left out). Returns 0, or -1
 * (c zeroed) for a bad version, length, digit (upper case included),
 * separator, or an all-zero id. Versions above 00 are read as 00 when
 * their first 55 bytes are well formed. */
int tracectx_parse(struct tracectx *c, const char *traceparent, const char *tracestate);

/* The context of a job line: meta.traceparent with meta.tracestate.
 * Returns 0, or -1 (c zeroed) when the line has none that is valid. */
int tracectx_of_line(const cJSON *line, struct tracectx *c);

/* 1 when c has a non-zero trace id and span id, else 0. */
int tracectx_valid(const struct tracectx *c);

/* Writes c as a version 00 traceparent and a NUL into out. */
void tracectx_format(const struct tracectx *c, char out[TRACECTX_PARENT_LEN + 1]);

#endif
