#include "core/outbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void outbuf_init(struct outbuf *o, int fd)
{
	memset(o, 0, sizeof *o);
	o->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void outbuf_free(struct outbuf *o)
{
	free(o->buf.p);
	memset(&o->buf, 0, sizeof o->buf);
}

void outbuf_put(struct outbuf *o, const char *data, size_t len)
{
	sbuf_put(&o->buf, data, len);
}

int outbuf_flush(struct outbuf *o)
{
	while (!o->broken && o->off < o->buf.len) {
		ssize_t n = write(o->fd, o->buf.p + o->off, o->buf.len - o->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			o->broken = 1;
			break;
		}
		o->off += (size_t)n;
	}
	if (o->off == o->buf.len) {
		o->off = o->buf.len = 0;	/* keep the allocation */
	} else if (o->off > (1u << 20)) {
		memmove(o->buf.p, o->buf.p + o->off, o->buf.len - o->off);
		o->buf.len -= o->off;
		o->off = 0;
	}
	return o->broken ? -1 : 0;
}

size_t outbuf_pending(const struct outbuf *o)
{
	return o->buf.len - o->off;
}
