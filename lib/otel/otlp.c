#include "otel/otlp.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/utf8.h"
#include "core/util.h"
#include "otel/oteljson.h"

#ifndef CODEX_VERSION
#define CODEX_VERSION "0"
#endif

enum {
	BACKOFF_BASE_MS = 250,
	BACKOFF_MAX_MS = 4000,
	GRPC_PREFIX = 5,	/* compressed flag, 4 bytes of length */
};

struct otlp_client {
	const struct otel_signal *sig;	/* borrowed */
	CURL *curl;
	struct curl_slist *headers;
	struct otelpb wire;		/* the body as sent */
	char errbuf[CURL_ERROR_SIZE];
	long grpc_status;		/* -1 until the header or trailer came */
	char grpc_message[256];
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

/* ---- messages ---- */

void otlp_trace_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		     struct otelpb_span *const *spans, size_t n)
{
	b->len = 0;
	if (p == OTEL_PROTO_HTTP_JSON)
		oteljson_trace_request(b, r, spans, n);
	else
		otelpb_trace_request(b, r, spans, n);
}

void otlp_metrics_body(struct otelpb *b, enum otel_protocol p, const struct otelpb_resource *r,
		       const struct otelpb_metric *metrics, size_t n)
{
	b->len = 0;
	if (p == OTEL_PROTO_HTTP_JSON)
		oteljson_metrics_request(b, r, metrics, n);
	else
		otelpb_metrics_request(b, r, metrics, n);
}

/* Appends the gzip stream of msg[0..n) to b. Returns 0, or -1 (zlib
 * failed; b is as it was). */
static int gzip_put(struct otelpb *b, const unsigned char *msg, size_t n)
{
	z_stream z = {0};
	size_t start = b->len, room;
	int rc;
	/* 15 + 16: a gzip header and trailer around the deflate stream. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	room = deflateBound(&z, (uLong)n);
	otelpb_reserve(b, room);
	z.next_in = (unsigned char *)msg;
	z.avail_in = (uInt)n;
	z.next_out = b->p + start;
	z.avail_out = (uInt)room;
	rc = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return -1;
	b->len = start + (room - z.avail_out);
	return 0;
}

/* The body that goes on the wire for msg: over gRPC the message prefix
 * (compressed flag, length) first; the message gzipped when the signal
 * asks for it. Returns 0, or -1 with why. */
static int frame(struct otlp_client *c, const struct otelpb *msg, char *why, size_t whylen)
{
	int grpc = c->sig->protocol == OTEL_PROTO_GRPC;
	c->wire.len = 0;
	if (grpc)
		otelpb_put(&c->wire, c->sig->gzip ? "\1\0\0\0\0" : "\0\0\0\0\0", GRPC_PREFIX);
	if (!c->sig->gzip)
		otelpb_put(&c->wire, msg->p, msg->len);
	else if (gzip_put(&c->wire, msg->p, msg->len) != 0) {
		snprintf(why, whylen, "gzip failed");
		return -1;
	}
	if (grpc) {
		uint64_t n = c->wire.len - GRPC_PREFIX;
		for (int i = 0; i < 4; i++)
			c->wire.p[1 + i] = (unsigned char)(n >> (24 - 8 * i));
	}
	return 0;
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

static struct curl_slist *header_list(const struct otel_signal *sig)
{
	static const char *const content_type[OTEL_PROTO_COUNT] = {
		[OTEL_PROTO_GRPC] = "content-type: application/grpc",
		[OTEL_PROTO_HTTP_PROTOBUF] = "content-type: application/x-protobuf",
		[OTEL_PROTO_HTTP_JSON] = "content-type: application/json",
	};
	int grpc = sig->protocol == OTEL_PROTO_GRPC;
	struct curl_slist *l = curl_slist_append(NULL, content_type[sig->protocol]);
	if (grpc)
		l = curl_slist_append(l, "te: trailers");
	if (sig->gzip)
		l = curl_slist_append(l, grpc ? "grpc-encoding: gzip" : "content-encoding: gzip");
	l = curl_slist_append(l, "expect:");
	l = curl_slist_append(l, "accept:");
	for (size_t i = 0; i < sig->nheaders; i++)
		l = curl_slist_append(l, sig->headers[i]);
	if (l == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	return l;
}

static long http_version(const struct otel_signal *sig)
{
	if (sig->protocol != OTEL_PROTO_GRPC)
		return CURL_HTTP_VERSION_NONE;
	if (strncasecmp(sig->url, "https://", 8) == 0)
		return CURL_HTTP_VERSION_2TLS;
	return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;	/* h2c: no upgrade dance */
}

struct otlp_client *otlp_client_new(const struct otel_signal *sig)
{
	struct otlp_client *c;
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->sig = sig;
	c->curl = curl;
	c->headers = header_list(sig);
	curl_easy_setopt(curl, CURLOPT_URL, sig->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, http_version(sig));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "codex-otel/" CODEX_VERSION);
	if (sig->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, sig->ca_file);
	if (sig->client_cert)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, sig->client_cert);
	if (sig->client_key)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, sig->client_key);
	/* libcurl 7.88 (Debian 12) fails the second request on a reused
	 * prior-knowledge HTTP/2 connection with CURLE_HTTP2 (curl issue
	 * 10634, fixed in 8.0.0): there, each h2c request gets a connection
	 * of its own. */
	unsigned v = curl_version_info(CURLVERSION_NOW)->version_num;
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE,
			 (long)(v >= 0x075800 && v < 0x075900 &&
				http_version(sig) == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
	return c;
}

void otlp_client_free(struct otlp_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	otelpb_free(&c->wire);
	free(c);
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

/* A TLS failure that another attempt would meet again: the collector's
 * certificate is not trusted, or ours cannot be used. */
static int tls_settled(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM;
}

enum otlp_outcome otlp_send(struct otlp_client *c, const struct otelpb *msg, long timeout_ms,
			    char *why, size_t whylen)
{
	CURL *h = c->curl;
	CURLcode rc;
	long code = 0;
	if (frame(c, msg, why, whylen) != 0)
		return OTLP_FAILED;
	c->grpc_status = -1;
	c->grpc_message[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)c->wire.p);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->wire.len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		return tls_settled(rc) ? OTLP_FAILED : OTLP_RETRY;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (c->sig->protocol == OTEL_PROTO_GRPC)
		return grpc_outcome(c, code, why, whylen);
	if (code >= 200 && code < 300)
		return OTLP_SENT;
	snprintf(why, whylen, "HTTP status %ld", code);
	return otlp_retryable_http(code) ? OTLP_RETRY : OTLP_FAILED;
}
