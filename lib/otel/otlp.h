/* otlp: OTLP export requests over HTTP with libcurl, for the exporter
 * thread of lib/otel/otel.c: the message in the signal's encoding (protobuf or
 * JSON), framed for its protocol (gRPC's length prefix), gzip when asked,
 * one POST, and what the answer means. A client serves one signal: one
 * curl handle (one connection, kept between requests, TLS as the signal's
 * settings say) used by one thread. docs/telemetry.md has the wire
 * details. */
#ifndef OTLP_H
#define OTLP_H

#include <stddef.h>

#include "otel/otelconf.h"
#include "otel/otelpb.h"

enum otlp_outcome {
	OTLP_SENT,
	OTLP_RETRY,		/* worth another attempt */
	OTLP_FAILED,		/* the collector refused it */
};

struct otlp_client;

/* A client for the signal sig (borrowed: it outlives the client): its
 * URL, protocol, headers, compression and TLS files. NULL when libcurl
 * cannot make a handle. Free it with otlp_client_free().
 * curl_global_init() comes first. */
struct otlp_client *otlp_client_new(const struct otel_signal *sig);
void otlp_client_free(struct otlp_client *c);

/* Replaces b's contents with a trace (metrics) request encoded for
 * protocol p: JSON for http/json, else protobuf. The data is borrowed for
 * the call. */
void otlp_trace_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		     struct otelpb_span *const *spans, size_t n);
void otlp_metrics_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		       const struct otelpb_metric *metrics, size_t n);

/* POSTs the request msg (from otlp_*_body) to the client's signal within
 * timeout_ms. Returns OTLP_SENT, or the outcome with the reason in why. */
enum otlp_outcome otlp_send(struct otlp_client *c, const struct otelpb *msg, long timeout_ms,
			    char *why, size_t whylen);

/* Whether an export that failed this way is tried again: the gRPC
 * statuses CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
 * OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS; the HTTP statuses 429, 502, 503,
 * 504. Return 1 or 0. */
int otlp_retryable_grpc(long status);
int otlp_retryable_http(long status);

/* The wait before retry `attempt` (1, 2, ...) in ms: 250 * 2^(attempt-1)
 * capped at 4000, plus u (in [0, 1)) times a fifth of that. */
long otlp_backoff_ms(int attempt, double u);

#endif
