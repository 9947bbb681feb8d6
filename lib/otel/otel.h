/* otel: OpenTelemetry traces and metrics, exported over OTLP (docs/telemetry.md).
 *
 * otel_init() reads the standard OTEL_* variables. With no endpoint (or
 * OTEL_SDK_DISABLED=true, or both exporters `none`) nothing is started:
 * otel_span_start() and the instrument constructors return NULL, and every
 * function taking a span or an instrument returns at once on NULL. With an
 * endpoint, one background thread owns the connection: ended spans wait in
 * a bounded queue (a full queue drops the span, never blocks), go out in
 * batches, and the metrics go out every OTEL_METRIC_EXPORT_INTERVAL and at
 * otel_shutdown(), over gRPC (HTTP/2 cleartext), http/protobuf or http/json
 * (lib/otel/otlp.c; the settings: lib/otel/otelconf.h).
 *
 * Threads: every function may be called from any thread; one span is used
 * by one thread at a time. fork(): the child of a process that called
 * otel_init() starts with telemetry off (spans NULL, instruments no-ops;
 * the parent's thread does not exist there). A child that wants its own
 * exporter calls otel_init() again and makes new instruments. */
#ifndef OTEL_H
#define OTEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tracectx.h"
#include "otel/otelconf.h"
#include "otel/otelpb.h"

/* ---- setup ---- */

/* Reads the configuration (otel_config_from_env) and starts the exporter
 * thread when a signal has an endpoint. `program` is the default
 * service.name (borrowed for the call). Returns 1 when exporting, 0 when
 * everything is a no-op. A call while the exporter runs changes nothing. */
int otel_init(const char *program);

/* Stops the exporter: the queued spans and the metrics are sent, within
 * OTEL_EXPORTER_OTLP_TIMEOUT from now (what is left then is dropped and
 * counted), the thread is joined, and the instrument handles become
 * invalid (spans still open may be ended: they are freed, not sent). A
 * no-op when nothing was started. */
void otel_shutdown(void);

/* ---- spans ---- */

enum otel_kind {
	OTEL_INTERNAL = OTELPB_KIND_INTERNAL,
	OTEL_SERVER = OTELPB_KIND_SERVER,
	OTEL_CLIENT = OTELPB_KIND_CLIENT,
	OTEL_PRODUCER = OTELPB_KIND_PRODUCER,
	OTEL_CONSUMER = OTELPB_KIND_CONSUMER,
};

struct otel_span;

/* Starts a span now: a child of parent when that is a valid context (same
 * trace, its tracestate, its sampled flag), else the root of a new sampled
 * trace. A span whose parent is not sampled is not recorded but still has
 * ids to propagate. Returns NULL when tracing is off; otherwise the span
 * belongs to the caller until otel_span_end(). name is copied. */
struct otel_span *otel_span_start(const char *name, enum otel_kind kind,
				  const struct tracectx *parent);

/* The same with an explicit start time, for a span built after the fact
 * from figures measured elsewhere: start_unix_ns is nanoseconds since the
 * epoch (CLOCK_REALTIME); 0 means now. */
struct otel_span *otel_span_start_at(const char *name, enum otel_kind kind,
				     const struct tracectx *parent, uint64_t start_unix_ns);

/* Sets an attribute (key and value are copied; a key set again is
 * replaced; past OTELPB_SPAN_ATTRS keys the attribute is counted as
 * dropped). Strings are cut to 1 KiB, invalid UTF-8 becomes '?'; a NULL
 * value sets nothing. */
void otel_span_set_str(struct otel_span *s, const char *key, const char *value);
void otel_span_set_int(struct otel_span *s, const char *key, int64_t value);
void otel_span_set_double(struct otel_span *s, const char *key, double value);
void otel_span_set_bool(struct otel_span *s, const char *key, int value);

/* Status ERROR with message (may be NULL) and the error.type attribute
 * (when error_type is not NULL). */
void otel_span_set_error(struct otel_span *s, const char *error_type, const char *message);

/* The span's own context, to parent other spans and to write traceparent
 * on outgoing messages. Returns 0, or -1 (out untouched) when s is NULL:
 * then forward the incoming context as it came. */
int otel_span_context(const struct otel_span *s, struct tracectx *out);

/* Ends the span now and hands it to the exporter (or drops and counts it
 * when the queue is full). Takes s; NULL is ignored. */
void otel_span_end(struct otel_span *s);

/* The same with an explicit end time in nanoseconds since the epoch (0:
 * now); an end before the span's start is taken as its start. */
void otel_span_end_at(struct otel_span *s, uint64_t end_unix_ns);

/* ---- metrics ---- */

/* A metric attribute: both strings borrowed for the call. */
struct otel_attr {
	const char *key, *value;
};

enum {
	OTEL_METRIC_ATTRS = 8,		/* attributes kept per data point */
	OTEL_METRIC_SERIES = 100,	/* attribute sets per instrument */
};

struct otel_metric;

/* Instruments. Each returns NULL when metrics are off; a name already
 * made with the same kind returns that instrument. Strings are copied.
 * Handles live until otel_shutdown(). An instrument keeps at most
 * OTEL_METRIC_SERIES attribute sets; later sets are added up in one
 * point with the attribute otel.metric.overflow=true. */
struct otel_metric *otel_counter(const char *name, const char *unit, const char *description);
struct otel_metric *otel_updown(const char *name, const char *unit, const char *description);
struct otel_metric *otel_gauge(const char *name, const char *unit, const char *description);
/* bounds: nbounds increasing bucket bounds, copied; NULL for
 * otel_ms_bounds (milliseconds, 1 .. 10000). */
struct otel_metric *otel_histogram(const char *name, const char *unit, const char *description,
				   const double *bounds, size_t nbounds);

extern const double otel_ms_bounds[];
extern const size_t otel_ms_nbounds;

/* Adds n to a counter (n >= 0) or an up-down counter, sets a gauge,
 * records v in a histogram, for the attribute set attrs[0..nattrs)
 * (order does not matter; past OTEL_METRIC_ATTRS they are ignored;
 * values are cut to 128 bytes). A call on another kind of instrument is
 * ignored. */
void otel_metric_add(struct otel_metric *m, int64_t n, const struct otel_attr *attrs, size_t nattrs);
void otel_metric_set(struct otel_metric *m, int64_t v, const struct otel_attr *attrs, size_t nattrs);
void otel_metric_record(struct otel_metric *m, double v, const struct otel_attr *attrs,
			size_t nattrs);

/* ---- what the exporter did ---- */

struct otel_stats {
	int running;			/* the exporter thread runs */
	uint64_t spans_exported;	/* accepted by the collector */
	uint64_t spans_dropped;		/* queue full, or export failed */
	uint64_t metric_exports;	/* metrics requests accepted */
	uint64_t metric_exports_failed;
};

/* The counts since otel_init() (kept after otel_shutdown()). The drops
 * are also exported as the counter otel.exporter.dropped{reason}. */
void otel_stats(struct otel_stats *out);

#endif
