/* otelconf: the exporter's configuration, read from the standard OTEL_*
 * variables (docs/telemetry.md has the table). otel_init() reads it; the
 * tests read it directly. */
#ifndef OTELCONF_H
#define OTELCONF_H

#include <stddef.h>

#include "otel/otelpb.h"

/* Text that goes out is cut to these many bytes (as valid UTF-8): names
 * (spans, metrics, service.name), attribute keys, attribute values and
 * status messages. */
enum {
	OTEL_NAME_MAX = 256,
	OTEL_KEY_MAX = 128,
	OTEL_VALUE_MAX = 1024,
};

/* The gRPC paths of the two Export calls. */
extern const char otel_traces_grpc_path[], otel_metrics_grpc_path[];

enum otel_protocol {
	OTEL_PROTO_GRPC,
	OTEL_PROTO_HTTP_PROTOBUF,
	OTEL_PROTO_HTTP_JSON,
	OTEL_PROTO_COUNT,
};

struct otel_signal {
	int on;				/* has an endpoint and is not `none` */
	enum otel_protocol protocol;
	char *url;			/* the full URL POSTed to; owned */
	int gzip;			/* ..._COMPRESSION=gzip */
	char *ca_file;			/* ..._CERTIFICATE: the CAs that verify the collector; owned, NULL: the system's */
	char *client_cert, *client_key;	/* ..._CLIENT_CERTIFICATE, ..._CLIENT_KEY (mutual TLS); owned, or NULL */
	char **headers;			/* ..._HEADERS as "name: value" lines; owned */
	size_t nheaders;
	long timeout_ms;		/* ..._TIMEOUT */
};

struct otel_config {
	struct otel_signal traces, metrics;
	long timeout_ms;		/* OTEL_EXPORTER_OTLP_TIMEOUT, 10000: the shutdown deadline */
	long metric_interval_ms;	/* OTEL_METRIC_EXPORT_INTERVAL, 60000 */
	long bsp_delay_ms;		/* OTEL_BSP_SCHEDULE_DELAY, 5000 */
	long bsp_queue;			/* OTEL_BSP_MAX_QUEUE_SIZE, 2048 */
	long bsp_batch;			/* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 */
	struct otelpb_kv *resource;	/* service.name first; owned */
	size_t nresource;
};

/* Whether an endpoint variable is set: without one nothing is exported,
 * and the rest need not be read. Returns 1 or 0. */
int otel_config_has_endpoint(void);

/* Fills *c from the environment, with `program` as the default
 * service.name. A value that cannot be used is reported on stderr and
 * replaced by its default (an endpoint that cannot be used turns its
 * signal off). Returns how many values were ignored. Free c with
 * otel_config_free(). */
int otel_config_from_env(struct otel_config *c, const char *program);
void otel_config_free(struct otel_config *c);

#endif
