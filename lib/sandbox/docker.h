/* docker: a client of the Docker Engine API (v1.41 and later) over its unix
 * socket, with libcurl. Plain calls return the HTTP status and body;
 * dk_attach() hijacks a connection for a container's stdin/stdout, the
 * one stream the docker backend talks to a pool container over. */
#ifndef DOCKER_H
#define DOCKER_H

#include <limits.h>
#include <stddef.h>

#include "core/sbuf.h"

struct dk {
	char sock[PATH_MAX];	/* from DOCKER_HOST=unix://..., else /var/run/docker.sock */
	void *curl;		/* reused easy handle: one connection across calls */
};

/* Reads DOCKER_HOST. Returns 0, or -1 with err (a DOCKER_HOST that is not
 * unix://). */
int dk_open(struct dk *d, char *err, size_t errlen);
void dk_close(struct dk *d);

/* method path (below /v1.41) with an optional JSON body. Returns the HTTP
 * status with *body a malloc'd NUL-terminated reply (caller frees; may be
 * NULL when body is NULL), or -1 with err when dockerd did not answer. */
int dk_call(struct dk *d, const char *method, const char *path, const char *json,
	    char **body, char *err, size_t errlen);

/* The message of an error reply ({"message": ...}), or the body itself;
 * written into out. */
void dk_error_text(const char *body, char *out, size_t outlen);

/* A hijacked attach stream. Bytes from the container arrive multiplexed
 * (8-byte headers; stream 1 stdout, 2 stderr); dk_stream_read() undoes it. */
struct dk_stream {
	void *curl;
	int fd;
	struct sbuf raw;	/* bytes read but not demultiplexed yet */
	size_t raw_off;
};

/* Attaches to the stdin, stdout and stderr of container id. Returns 0, or
 * -1 with err (-2 when the container is gone or not running). */
int dk_attach(struct dk *d, const char *id, struct dk_stream *s, char *err, size_t errlen);

/* Writes all of buf to the container's stdin. Returns 0 or -1. */
int dk_stream_write(struct dk_stream *s, const void *buf, size_t len);

/* Waits up to timeout_ms for bytes; appends stdout payload to out and
 * stderr payload to err. Returns 1 when something came, 0 on time-out,
 * -1 at the end of the stream or on an error. */
int dk_stream_read(struct dk_stream *s, struct sbuf *out, struct sbuf *err, int timeout_ms);

void dk_stream_close(struct dk_stream *s);

#endif
