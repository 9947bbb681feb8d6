#include "sandbox/docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util.h"

enum { CALL_TIMEOUT_MS = 30000, REPLY_MAX = 16 << 20, HEADER_MAX = 8192 };

static const char api[] = "http://docker/v1.41";

int dk_open(struct dk *d, char *err, size_t errlen)
{
	const char *host = getenv("DOCKER_HOST");
	memset(d, 0, sizeof *d);
	if (host == NULL || *host == '\0')
		host = "unix:///var/run/docker.sock";
	if (strncmp(host, "unix://", 7) != 0) {
		snprintf(err, errlen, "DOCKER_HOST=%s: only unix:// sockets are supported", host);
		return -1;
	}
	if (path_fmt(d->sock, sizeof d->sock, "%s", host + 7) != 0) {
		snprintf(err, errlen, "DOCKER_HOST: the socket's path is too long");
		return -1;
	}
	curl_global_init(CURL_GLOBAL_NOTHING);
	return 0;
}

void dk_close(struct dk *d)
{
	if (d->curl)
		curl_easy_cleanup(d->curl);
	d->curl = NULL;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct sbuf *b = arg;
	if (b->len + size * n > REPLY_MAX)
		return 0;
	sbuf_put(b, p, size * n);
	return size * n;
}

int dk_call(struct dk *d, const char *method, const char *path, const char *json,
	    char **body, char *err, size_t errlen)
{
	char url[1024];
	struct sbuf reply = {0};
	struct curl_slist *hdr = NULL;
	long status = -1;
	if (d->curl == NULL && (d->curl = curl_easy_init()) == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	CURL *c = d->curl;
	curl_easy_reset(c);
	snprintf(url, sizeof url, "%s%s", api, path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	if (json) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "dockerd at %s: %s", d->sock, curl_easy_strerror(rc));
		free(reply.p);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (body)
		*body = reply.p ? reply.p : xstrdup("");
	else
		free(reply.p);
	return (int)status;
}

void dk_error_text(const char *body, char *out, size_t outlen)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
	snprintf(out, outlen, "%s", cJSON_IsString(m) ? m->valuestring : body ? body : "");
	cJSON_Delete(o);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pf = {.fd = fd, .events = events};
	int rc;
	while ((rc = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return rc;
}

/* Reads the reply head of the attach request; what follows it stays in
 * s->raw. Returns the HTTP status, or -1. */
static int read_head(struct dk_stream *s)
{
	int64_t deadline = now_mono_ms() + CALL_TIMEOUT_MS;
	char *end;
	while ((end = s->raw.p ? strstr(s->raw.p, "\r\n\r\n") : NULL) == NULL) {
		char chunk[1024];
		size_t n = 0;
		if (s->raw.len > HEADER_MAX || wait_fd(s->fd, POLLIN, (int)(deadline - now_mono_ms())) <= 0)
			return -1;
		CURLcode rc = curl_easy_recv(s->curl, chunk, sizeof chunk, &n);
		if (rc == CURLE_AGAIN)
			continue;
		if (rc != CURLE_OK || n == 0)
			return -1;
		sbuf_put(&s->raw, chunk, n);
	}
	int status = -1;
	if (sscanf(s->raw.p, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	s->raw_off = (size_t)(end + 4 - s->raw.p);
	return status;
}

int dk_attach(struct dk *d, const char *id, struct dk_stream *s, char *err, size_t errlen)
{
	char req[512];
	curl_socket_t sock;
	memset(s, 0, sizeof *s);
	s->fd = -1;
	if ((s->curl = curl_easy_init()) == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	curl_easy_setopt(s->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(s->curl, CURLOPT_URL, "http://docker/");
	curl_easy_setopt(s->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK || curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK) {
		snprintf(err, errlen, "dockerd at %s: %s", d->sock, curl_easy_strerror(rc));
		dk_stream_close(s);
		return -1;
	}
	s->fd = sock;
	int len = snprintf(req, sizeof req,
			   "POST /v1.41/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
			   "Host: docker\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", id);
	int status = dk_stream_write(s, req, (size_t)len) == 0 ? read_head(s) : -1;
	if (status == 101 || status == 200)
		return 0;
	snprintf(err, errlen, "attach to %.12s: %s", id,
		 status < 0 ? "no reply from dockerd" : status == 404 || status == 409
		 ? "container gone or not running" : "refused");
	dk_stream_close(s);
	return status == 404 || status == 409 ? -2 : -1;
}

int dk_stream_write(struct dk_stream *s, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->curl, p, len, &n);
		if (rc == CURLE_AGAIN) {
			if (wait_fd(s->fd, POLLOUT, CALL_TIMEOUT_MS) <= 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Moves whole frames from raw into out/err. */
static void demux(struct dk_stream *s, struct sbuf *out, struct sbuf *err)
{
	while (s->raw.len - s->raw_off >= 8) {
		const unsigned char *h = (const unsigned char *)s->raw.p + s->raw_off;
		size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		if (s->raw.len - s->raw_off - 8 < n)
			break;
		sbuf_put(h[0] == 2 ? err : out, (const char *)h + 8, n);
		s->raw_off += 8 + n;
	}
	if (s->raw_off == s->raw.len)
		s->raw.len = s->raw_off = 0;
}

int dk_stream_read(struct dk_stream *s, struct sbuf *out, struct sbuf *err, int timeout_ms)
{
	char chunk[65536];
	size_t n = 0, had = out->len + err->len;
	demux(s, out, err);
	if (out->len + err->len > had)
		return 1;	/* bytes that came with an earlier read */
	int w = wait_fd(s->fd, POLLIN, timeout_ms);
	if (w <= 0)
		return w < 0 ? -1 : 0;
	CURLcode rc = curl_easy_recv(s->curl, chunk, sizeof chunk, &n);
	if (rc == CURLE_AGAIN)
		return 0;
	if (rc != CURLE_OK || n == 0)
		return -1;
	/* Compact before growing: a long job passes many frames through. */
	if (s->raw_off > 0) {
		memmove(s->raw.p, s->raw.p + s->raw_off, s->raw.len - s->raw_off);
		s->raw.len -= s->raw_off;
		s->raw_off = 0;
	}
	sbuf_put(&s->raw, chunk, n);
	demux(s, out, err);
	return 1;
}

void dk_stream_close(struct dk_stream *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->fd = -1;
	free(s->raw.p);
	s->raw = (struct sbuf){0};
	s->raw_off = 0;
}
