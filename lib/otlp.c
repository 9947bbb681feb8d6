#include "otlp.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oteljson.h"
#include "utf8.h"
#include "util.h"

#ifndef CODEX_VERSION
#define CODEX_VERSION "0"
#endif

enum {
	BACKOFF_BASE_MS = 250,
	BACKOFF_MAX_MS = 4000,
	GRPC_PREFIX = 5,	/* compressed flag, 4 bytes of length */
};

struct otlp_client {
	CURL *curl;
	struct curl_slist *headers[OTEL_PROTO_COUNT];
	char errbuf[CURL_ERROR_SIZE];
	long grpc_status;		/* -1 until the header or trailer came */
	char grpc_message[256];
	int h2c_fresh;			/* a new connection for each h2c request */
};

/* ---- the retry policy ---- */

int otlp_retryable_grpc(long status)
{
	switch (status) {
	case 1:		/* CANCELLED */
	case 4:		/* DEADLINE_EXCEEDED */
	case 8:		/* RESOURCE_EXHAUSTED */
	case 10:	/* ABORTED */
	case 11:	/* OUT_OF_RANGE */
	case 14:	/* UNAVAILABLE */
	case 15:	/* DATA_LOSS */
		return 1;
	default:
		return 0;
	}
}

int otlp_retryable_http(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

long otlp_backoff_ms(int attempt, double u)
{
	long ms = BACKOFF_BASE_MS;
	for (int i = 1; i < attempt && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	return ms + (long)(u * (double)ms / 5);
}

/* ---- bodies ---- */

/* Starts a body: over gRPC the message prefix (compressed flag, length)
 * goes before the protobuf message. */
static void body_begin(struct otelpb *b, enum otel_protocol p)
{
	b->len = 0;
	if (p == OTEL_PROTO_GRPC)
		otelpb_put(b, "\0\0\0\0\0", GRPC_PREFIX);
}

static void body_end(struct otelpb *b, enum otel_protocol p)
{
	if (p == OTEL_PROTO_GRPC) {
		uint64_t n = b->len - GRPC_PREFIX;
		for (int i = 0; i < 4; i++)
			b->p[1 + i] = (unsigned char)(n >> (24 - 8 * i));
	}
}

void otlp_trace_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		     struct otelpb_span *const *spans, size_t n)
{
	body_begin(b, p);
	if (p == OTEL_PROTO_HTTP_JSON)
		oteljson_trace_request(b, r, spans, n);
	else
		otelpb_trace_request(b, r, spans, n);
	body_end(b, p);
}

void otlp_metrics_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		       const struct otelpb_metric *metrics, size_t n)
{
	body_begin(b, p);
	if (p == OTEL_PROTO_HTTP_JSON)
		oteljson_metrics_request(b, r, metrics, n);
	else
		otelpb_metrics_request(b, r, metrics, n);
	body_end(b, p);
}

/* ---- the client ---- */

/* Copies the value of the header line buf[0..len) into out when its name
 * is `name` (with the colon). Returns 1 when it was. */
static int header_value(const char *buf, size_t len, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	if (len < n || strncasecmp(buf, name, n) != 0)
		return 0;
	buf += n;
	len -= n;
	while (len > 0 && (*buf == ' ' || *buf == '\t')) {
		buf++;
		len--;
	}
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	snprintf(out, size, "%.*s", (int)len, buf);
	return 1;
}

/* libcurl hands the trailers to the header callback too, so grpc-status
 * is found whether it came in the headers (a trailers-only response) or
 * after the body. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct otlp_client *c = arg;
	size_t len = size * nitems;
	char v[256];
	int64_t status;
	if (header_value(buf, len, "grpc-status:", v, sizeof v))
		c->grpc_status = parse_i64(v, 0, 1000, &status) == 0 ? (long)status : 2;
	else if (header_value(buf, len, "grpc-message:", v, sizeof v)) {
		char *d = percent_decode(v, strlen(v));
		utf8_copy(c->grpc_message, sizeof c->grpc_message, d ? d : v);
		free(d);
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *arg)
{
	(void)buf;
	(void)arg;
	return size * nitems;
}

static struct curl_slist *header_list(const char *content_type, int grpc, char *const *headers,
				      size_t n)
{
	struct curl_slist *l = NULL;
	char *ct = xasprintf("content-type: %s", content_type);
	l = curl_slist_append(l, ct);
	free(ct);
	if (grpc)
		l = curl_slist_append(l, "te: trailers");
	l = curl_slist_append(l, "expect:");
	l = curl_slist_append(l, "accept:");
	for (size_t i = 0; i < n; i++)
		l = curl_slist_append(l, headers[i]);
	if (l == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	return l;
}

struct otlp_client *otlp_client_new(char *const *headers, size_t n)
{
	static const char *const content_type[OTEL_PROTO_COUNT] = {
		[OTEL_PROTO_GRPC] = "application/grpc",
		[OTEL_PROTO_HTTP_PROTOBUF] = "application/x-protobuf",
		[OTEL_PROTO_HTTP_JSON] = "application/json",
	};
	struct otlp_client *c;
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->curl = curl;
	for (int p = 0; p < OTEL_PROTO_COUNT; p++)
		c->headers[p] = header_list(content_type[p], p == OTEL_PROTO_GRPC, headers, n);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "codex-otel/" CODEX_VERSION);
	/* libcurl 7.88 (Debian 12) fails the second request on a reused
	 * prior-knowledge HTTP/2 connection with CURLE_HTTP2 (curl issue
	 * 10634, fixed in 8.0.0): there, each h2c request gets a connection
	 * of its own. */
	unsigned v = curl_version_info(CURLVERSION_NOW)->version_num;
	c->h2c_fresh = v >= 0x075800 && v < 0x075900;
	return c;
}

void otlp_client_free(struct otlp_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	for (int p = 0; p < OTEL_PROTO_COUNT; p++)
		curl_slist_free_all(c->headers[p]);
	free(c);
}

static long http_version(const struct otel_signal *sig)
{
	if (sig->protocol != OTEL_PROTO_GRPC)
		return CURL_HTTP_VERSION_NONE;
	if (strncasecmp(sig->url, "https://", 8) == 0)
		return CURL_HTTP_VERSION_2TLS;
	return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;	/* h2c: no upgrade dance */
}

static enum otlp_outcome grpc_outcome(const struct otlp_client *c, long code, char *why,
				      size_t whylen)
{
	if (c->grpc_status < 0) {
		snprintf(why, whylen, "HTTP status %ld without grpc-status", code);
		return otlp_retryable_http(code) ? OTLP_RETRY : OTLP_FAILED;
	}
	if (c->grpc_status == 0)
		return OTLP_SENT;
	snprintf(why, whylen, "grpc-status %ld%s%s", c->grpc_status,
		 c->grpc_message[0] ? ": " : "", c->grpc_message);
	return otlp_retryable_grpc(c->grpc_status) ? OTLP_RETRY : OTLP_FAILED;
}

enum otlp_outcome otlp_send(struct otlp_client *c, const struct otel_signal *sig,
			    const struct otelpb *body, long timeout_ms, char *why, size_t whylen)
{
	CURL *h = c->curl;
	CURLcode rc;
	long code = 0;
	c->grpc_status = -1;
	c->grpc_message[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, sig->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers[sig->protocol]);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, http_version(sig));
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE,
			 (long)(c->h2c_fresh && http_version(sig) == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body->p);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		return OTLP_RETRY;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (sig->protocol == OTEL_PROTO_GRPC)
		return grpc_outcome(c, code, why, whylen);
	if (code >= 200 && code < 300)
		return OTLP_SENT;
	snprintf(why, whylen, "HTTP status %ld", code);
	return otlp_retryable_http(code) ? OTLP_RETRY : OTLP_FAILED;
}
