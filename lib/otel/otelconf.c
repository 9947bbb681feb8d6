#include "otel/otelconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"

#ifndef CODEX_VERSION
#define CODEX_VERSION "0"
#endif

enum { LIST_MAX = 32 };		/* entries of OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES */

const char otel_traces_grpc_path[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const char otel_metrics_grpc_path[] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/* getenv, with "" read as unset. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The signal's own variable OTEL_EXPORTER_OTLP_<SIGNAL>_<NAME>, else the
 * general OTEL_EXPORTER_OTLP_<NAME>; NULL when neither is set. *name gets
 * the variable's name (for messages). */
static const char *signal_env(const char *signal, const char *what, char *name, size_t size)
{
	const char *v;
	snprintf(name, size, "OTEL_EXPORTER_OTLP_%s_%s", signal, what);
	if ((v = env(name)) != NULL)
		return v;
	snprintf(name, size, "OTEL_EXPORTER_OTLP_%s", what);
	return env(name);
}

static long env_number(const char *name, long def, long min, long max, int *bad)
{
	const char *v = env(name);
	int64_t n;
	if (v == NULL)
		return def;
	if (parse_i64(v, min, max, &n) == 0)
		return (long)n;
	log_warn("otel: %s=%s is not a number in %ld..%ld; using %ld", name, v, min, max, def);
	++*bad;
	return def;
}

static int env_true(const char *name, int *bad)
{
	const char *v = env(name);
	if (v == NULL || strcasecmp(v, "false") == 0)
		return 0;
	if (strcasecmp(v, "true") == 0)
		return 1;
	log_warn("otel: %s=%s is neither true nor false; using false", name, v);
	++*bad;
	return 0;
}

static const char *const protocol_names[OTEL_PROTO_COUNT] = {
	[OTEL_PROTO_GRPC] = "grpc",
	[OTEL_PROTO_HTTP_PROTOBUF] = "http/protobuf",
	[OTEL_PROTO_HTTP_JSON] = "http/json",
};

static enum otel_protocol env_protocol(const char *name, enum otel_protocol def, int *bad)
{
	const char *v = env(name);
	if (v == NULL)
		return def;
	if (strcmp(v, "grpc") == 0)
		return OTEL_PROTO_GRPC;
	for (int p = 0; p < OTEL_PROTO_COUNT; p++)
		if (strcmp(v, protocol_names[p]) == 0)
			return p;
	log_warn("otel: %s=%s is not supported (grpc, http/protobuf, http/json); using %s", name,
		 v, protocol_names[def]);
	++*bad;
	return def;
}

/* OTEL_{TRACES,METRICS}_EXPORTER: a comma-separated list; the signal is
 * exported when it names otlp (the default). */
static int env_exporter(const char *name, int *bad)
{
	const char *v = env(name), *p;
	int on = 0;
	if (v == NULL)
		return 1;
	for (p = v; *p;) {
		size_t n = strcspn(p, ",");
		char word[32] = "";
		snprintf(word, sizeof word, "%.*s", (int)n, p);
		if (strcmp(word, "otlp") == 0) {
			on = 1;
		} else if (strcmp(word, "none") != 0) {
			log_warn("otel: %s: exporter '%s' is not supported (otlp, none)", name, word);
			++*bad;
		}
		p += n + (p[n] == ',');
	}
	return on;
}

/* The URL of one signal: the signal's own endpoint (used as it is over
 * HTTP), else the general one plus the signal's path. NULL when
 * neither is set or the endpoint cannot be used. The caller frees. */
static char *signal_url(const char *own_name, const char *grpc_path, const char *http_path,
			enum otel_protocol protocol, int *bad)
{
	static const char general_name[] = "OTEL_EXPORTER_OTLP_ENDPOINT";
	const char *own = env(own_name), *base = own ? own : env(general_name);
	const char *name = own ? own_name : general_name, *scheme = "";
	size_t n;
	if (base == NULL)
		return NULL;
	for (const char *p = base; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			log_warn("otel: %s has a space or a control character; not exporting", name);
			++*bad;
			return NULL;
		}
	}
	if (strstr(base, "://") == NULL) {
		scheme = "http://";
	} else if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
		log_warn("otel: %s=%s is not an http or https URL; not exporting", name, base);
		++*bad;
		return NULL;
	}
	n = strlen(base);
	if (protocol != OTEL_PROTO_GRPC && own)
		return xasprintf("%s%s", scheme, base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%s%.*s%s", scheme, (int)n, base,
			 protocol == OTEL_PROTO_GRPC ? grpc_path : http_path);
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		++*s;
		--*n;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		--*n;
}

/* Splits a "key=value,key=value" list (OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_RESOURCE_ATTRIBUTES: W3C Baggage without properties, values
 * percent-encoded) into at most LIST_MAX fresh keys and values (the caller
 * frees both). Entries without '=' or with a bad escape are reported and
 * skipped. Returns the number of pairs. */
static size_t kv_list(const char *name, const char *v, char **keys, char **vals, int *bad)
{
	size_t count = 0;
	for (const char *p = v; v && *p;) {
		size_t n = strcspn(p, ","), kn, vn;
		const char *eq = memchr(p, '=', n), *k = p, *val;
		char *dv = NULL;
		if (eq) {
			kn = (size_t)(eq - p);
			val = eq + 1;
			vn = n - kn - 1;
			trim(&k, &kn);
			trim(&val, &vn);
			dv = kn > 0 ? percent_decode(val, vn) : NULL;
		}
		if (dv && count < LIST_MAX) {
			keys[count] = xstrndup(k, kn);
			vals[count++] = dv;
		} else if (n > 0) {
			log_warn("otel: %s: ignoring the entry '%.*s'%s", name, (int)n, p,
				 dv ? " (too many)" : "");
			free(dv);
			++*bad;
		}
		p += n + (p[n] == ',');
	}
	return count;
}

static int header_name_ok(const char *s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(tchar, *s)))
			return 0;
	return 1;
}

static int header_value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* The header lines ("name: value") of the list in the variable `name`
 * into a fresh array *out (the caller frees each and it); returns how many. */
static size_t parse_headers(const char *name, char ***out, int *bad)
{
	char *keys[LIST_MAX], *vals[LIST_MAX];
	size_t n = kv_list(name, env(name), keys, vals, bad), kept = 0;
	*out = xcalloc(n + 1, sizeof **out);
	for (size_t i = 0; i < n; i++) {
		if (header_name_ok(keys[i]) && header_value_ok(vals[i])) {
			(*out)[kept++] = xasprintf("%s: %s", keys[i], vals[i]);
		} else {
			log_warn("otel: %s: '%s' is not a usable header", name, keys[i]);
			++*bad;
		}
		free(keys[i]);
		free(vals[i]);
	}
	return kept;
}

/* ..._HEADERS: a signal's own list replaces the general one. */
static void read_headers(struct otel_config *c, int *bad)
{
	struct otel_signal *sigs[] = {&c->traces, &c->metrics};
	const char *own[] = {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"};
	char **general;
	size_t n = parse_headers("OTEL_EXPORTER_OTLP_HEADERS", &general, bad);
	for (size_t k = 0; k < 2; k++) {
		struct otel_signal *sig = sigs[k];
		if (env(own[k])) {
			sig->nheaders = parse_headers(own[k], &sig->headers, bad);
			continue;
		}
		sig->headers = xcalloc(n + 1, sizeof *sig->headers);
		for (size_t i = 0; i < n; i++)
			sig->headers[i] = xstrdup(general[i]);
		sig->nheaders = n;
	}
	for (size_t i = 0; i < n; i++)
		free(general[i]);
	free(general);
}

/* Sets the resource attribute key (replacing one of that key). Takes the
 * fresh strings key and value. */
static void resource_put(struct otel_config *c, char *key, enum otelpb_type type, char *s,
			 int64_t i)
{
	struct otelpb_kv *kv = NULL;
	for (size_t j = 0; j < c->nresource && kv == NULL; j++)
		if (strcmp(c->resource[j].key, key) == 0)
			kv = &c->resource[j];
	if (kv) {
		free(key);
		if (kv->type == OTELPB_STRING)
			free(kv->v.s);
	} else {
		kv = &c->resource[c->nresource++];
		kv->key = key;
	}
	kv->type = type;
	if (type == OTELPB_STRING)
		kv->v.s = s;
	else
		kv->v.i = i;
}

/* service.name (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES', else
 * the program), service.version, host.name, process.pid, then the rest of
 * OTEL_RESOURCE_ATTRIBUTES. */
static void read_resource(struct otel_config *c, const char *program, int *bad)
{
	char *keys[LIST_MAX], *vals[LIST_MAX], host[256] = "localhost";
	size_t n = kv_list("OTEL_RESOURCE_ATTRIBUTES", env("OTEL_RESOURCE_ATTRIBUTES"), keys, vals,
			   bad);
	const char *service = env("OTEL_SERVICE_NAME");
	c->resource = xcalloc(n + 4, sizeof *c->resource);
	resource_put(c, xstrdup("service.name"), OTELPB_STRING,
		     utf8_dup(program ? program : "codex", OTEL_NAME_MAX), 0);
	resource_put(c, xstrdup("service.version"), OTELPB_STRING, xstrdup(CODEX_VERSION), 0);
	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	resource_put(c, xstrdup("host.name"), OTELPB_STRING, utf8_dup(host, sizeof host), 0);
	resource_put(c, xstrdup("process.pid"), OTELPB_INT, NULL, getpid());
	for (size_t i = 0; i < n; i++) {
		resource_put(c, utf8_dup(keys[i], OTEL_KEY_MAX), OTELPB_STRING,
			     utf8_dup(vals[i], OTEL_VALUE_MAX), 0);
		free(keys[i]);
		free(vals[i]);
	}
	if (service)
		resource_put(c, xstrdup("service.name"), OTELPB_STRING,
			     utf8_dup(service, OTEL_NAME_MAX), 0);
}

/* ..._COMPRESSION: gzip or none (the default). */
static int signal_gzip(const char *signal, int *bad)
{
	char name[96];
	const char *v = signal_env(signal, "COMPRESSION", name, sizeof name);
	if (v == NULL || strcmp(v, "none") == 0)
		return 0;
	if (strcmp(v, "gzip") == 0)
		return 1;
	log_warn("otel: %s=%s is not supported (gzip, none); not compressing", name, v);
	++*bad;
	return 0;
}

/* A file named by ..._<WHAT>, for libcurl to read: a fresh copy of the
 * path, or NULL. One that cannot be read is reported (and kept: the
 * exports then fail, saying why, rather than go out without it). */
static char *signal_file(const char *signal, const char *what, int *bad)
{
	char name[96];
	const char *v = signal_env(signal, what, name, sizeof name);
	if (v == NULL)
		return NULL;
	if (access(v, R_OK) != 0) {
		log_warn("otel: %s=%s cannot be read: %s", name, v, strerror(errno));
		++*bad;
	}
	return xstrdup(v);
}

/* The settings of one signal's requests; def_timeout is the general one. */
static void read_transport(struct otel_signal *sig, const char *signal, long def_timeout, int *bad)
{
	char name[96];
	snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_TIMEOUT", signal);
	sig->timeout_ms = env_number(name, def_timeout, 1, 600000, bad);
	sig->gzip = signal_gzip(signal, bad);
	sig->ca_file = signal_file(signal, "CERTIFICATE", bad);
	sig->client_cert = signal_file(signal, "CLIENT_CERTIFICATE", bad);
	sig->client_key = signal_file(signal, "CLIENT_KEY", bad);
}

static void signal_free(struct otel_signal *sig)
{
	free(sig->url);
	free(sig->ca_file);
	free(sig->client_cert);
	free(sig->client_key);
	for (size_t i = 0; i < sig->nheaders; i++)
		free(sig->headers[i]);
	free(sig->headers);
}

int otel_config_has_endpoint(void)
{
	return env("OTEL_EXPORTER_OTLP_ENDPOINT") || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ||
	       env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
}

int otel_config_from_env(struct otel_config *c, const char *program)
{
	int bad = 0, disabled = env_true("OTEL_SDK_DISABLED", &bad);
	enum otel_protocol p = env_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", OTEL_PROTO_GRPC, &bad);
	memset(c, 0, sizeof *c);
	c->traces.protocol = env_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", p, &bad);
	c->metrics.protocol = env_protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", p, &bad);
	c->traces.url = signal_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otel_traces_grpc_path,
				   "/v1/traces", c->traces.protocol, &bad);
	c->metrics.url = signal_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", otel_metrics_grpc_path,
				    "/v1/metrics", c->metrics.protocol, &bad);
	c->traces.on = !disabled && c->traces.url && env_exporter("OTEL_TRACES_EXPORTER", &bad);
	c->metrics.on = !disabled && c->metrics.url && env_exporter("OTEL_METRICS_EXPORTER", &bad);
	c->timeout_ms = env_number("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, 600000, &bad);
	c->metric_interval_ms = env_number("OTEL_METRIC_EXPORT_INTERVAL", 60000, 1, 86400000, &bad);
	c->bsp_delay_ms = env_number("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 3600000, &bad);
	c->bsp_queue = env_number("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1000000, &bad);
	c->bsp_batch = env_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1000000, &bad);
	if (c->bsp_batch > c->bsp_queue)
		c->bsp_batch = c->bsp_queue;
	read_transport(&c->traces, "TRACES", c->timeout_ms, &bad);
	read_transport(&c->metrics, "METRICS", c->timeout_ms, &bad);
	read_headers(c, &bad);
	read_resource(c, program, &bad);
	return bad;
}

void otel_config_free(struct otel_config *c)
{
	signal_free(&c->traces);
	signal_free(&c->metrics);
	for (size_t i = 0; i < c->nresource; i++) {
		free(c->resource[i].key);
		if (c->resource[i].type == OTELPB_STRING)
			free(c->resource[i].v.s);
	}
	free(c->resource);
	memset(c, 0, sizeof *c);
}
