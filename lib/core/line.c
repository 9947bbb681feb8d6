#include "core/line.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

enum { LINE_READ_CHUNK = 64 * 1024 };

void line_init(struct line_reader *r, int fd, size_t cap)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->cap = cap;
	r->size = cap + 1 + LINE_READ_CHUNK;
	r->buf = xmalloc(r->size);
}

void line_free(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

static void compact(struct line_reader *r)
{
	if (r->start == 0)
		return;
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
}

ssize_t line_fill(struct line_reader *r)
{
	compact(r);
	size_t room = r->size - 1 - r->end;
	if (room == 0) {
		errno = ENOBUFS;	/* line_next() always frees room first */
		return -1;
	}
	ssize_t n = read(r->fd, r->buf + r->end, room);
	if (n == 0)
		r->eof = 1;
	if (n > 0)
		r->end += (size_t)n;
	return n;
}

/* Hands out buf[start..start+len) as a line and consumes `used` bytes. */
static int emit(struct line_reader *r, struct line *out, size_t len,
		size_t used, int oversized)
{
	out->text = r->buf + r->start;
	out->len = len;
	out->oversized = oversized;
	r->start += used;
	/* start > position of the terminator, so writing NUL there is safe. */
	out->text[len] = '\0';
	return 1;
}

int line_next(struct line_reader *r, struct line *out)
{
	for (;;) {
		size_t avail = r->end - r->start;
		char *nl = memchr(r->buf + r->start, '\n', avail);
		if (r->skipping) {
			if (nl == NULL) {
				r->start = r->end;
				return 0;
			}
			r->start = (size_t)(nl - r->buf) + 1;
			r->skipping = 0;
			continue;
		}
		if (nl != NULL) {
			size_t len = (size_t)(nl - (r->buf + r->start));
			if (len > r->cap)
				return emit(r, out, r->cap, len + 1, 1);
			return emit(r, out, len, len + 1, 0);
		}
		if (avail > r->cap) {
			/* Too long and still no newline: give the head, skip the tail. */
			r->skipping = 1;
			emit(r, out, r->cap, avail, 1);
			return 1;
		}
		if (r->eof && avail > 0)
			return emit(r, out, avail, avail, 0);
		return 0;
	}
}

int line_read(struct line_reader *r, struct line *out)
{
	for (;;) {
		if (line_next(r, out))
			return 1;
		if (r->eof)
			return 0;
		ssize_t n = line_fill(r);
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int line_read_watch(struct line_reader *r, struct line *out, int watch_fd)
{
	for (;;) {
		if (line_next(r, out))
			return 1;
		if (r->eof)
			return 0;
		struct pollfd pf[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = watch_fd, .events = 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (pf[1].revents & (POLLERR | POLLHUP))
			return -2;
		if (pf[0].revents && line_fill(r) < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}
