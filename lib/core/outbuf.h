/* outbuf: bytes waiting to be written to a non-blocking fd, so a slow
 * reader downstream never blocks the loop that also has to serve Kafka. */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stddef.h>

#include "core/sbuf.h"

struct outbuf {
	int fd;
	struct sbuf buf;	/* owned */
	size_t off;		/* bytes of buf already written */
	int broken;		/* the reader is gone (EPIPE) or the fd failed */
};

/* Takes fd (made non-blocking). */
void outbuf_init(struct outbuf *o, int fd);
void outbuf_free(struct outbuf *o);

/* Queues len bytes of data. */
void outbuf_put(struct outbuf *o, const char *data, size_t len);

/* Writes what it can without blocking. Returns 0, or -1 once broken. */
int outbuf_flush(struct outbuf *o);

/* Bytes still queued. */
size_t outbuf_pending(const struct outbuf *o);

#endif
