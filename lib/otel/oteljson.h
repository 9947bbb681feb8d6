/* oteljson: the OTLP requests in their JSON form (OTLP/HTTP with
 * content-type application/json), from the same structures as lib/otelpb.
 *
 * The specification's JSON mapping of the protobuf messages: field names
 * in lowerCamelCase, trace and span ids as hex strings (not base64), enums
 * as numbers, 64-bit integers as decimal strings, doubles as numbers (or
 * "NaN", "Infinity", "-Infinity"). Fields at their proto3 default are left
 * out, as the protobuf encoder does. */
#ifndef OTELJSON_H
#define OTELJSON_H

#include <stddef.h>

#include "otel/otelpb.h"

/* Appends an ExportTraceServiceRequest as JSON text (no NUL) to b. */
void oteljson_trace_request(struct otelpb *b, const struct otelpb_resource *r,
			    struct otelpb_span *const *spans, size_t n);

/* Appends an ExportMetricsServiceRequest as JSON text (no NUL) to b. */
void oteljson_metrics_request(struct otelpb *b, const struct otelpb_resource *r,
			      const struct otelpb_metric *metrics, size_t n);

#endif
