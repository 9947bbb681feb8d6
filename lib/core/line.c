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

void line_init_values(struct line_reader *r, int fd, size_t cap)
{
	line_init(r, fd, cap);
	r->values = 1;
}

void line_free(struct line_reader *r)
{
	free(r->buf);
	free(r->copy);
	r->buf = r->copy = NULL;
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

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scans the value at start from where it was left. Returns the length of
 * the value once it has ended (closed, or cut at a newline), with *cut set
 * when it was cut at buf[start + length] (a newline, consumed with it);
 * 0 without *cut when more input is needed. */
static size_t scan_value(struct line_reader *r, int *cut)
{
	const char *b = r->buf + r->start;
	size_t avail = r->end - r->start;
	*cut = 0;
	for (size_t i = r->scan; i < avail; i++) {
		char c = b[i];
		if (c == '\n' && (r->in_string || (i + 1 < avail && b[i + 1] == '{'))) {
			*cut = 1;
			return i;
		}
		if (c == '\n' && i + 1 == avail && !r->eof) {
			r->scan = i;	/* what follows it decides */
			return 0;
		}
		if (r->in_string) {
			if (r->escaped)
				r->escaped = 0;
			else if (c == '\\')
				r->escaped = 1;
			else if (c == '"')
				r->in_string = 0;
		} else if (c == '"') {
			r->in_string = 1;
		} else if (c == '{' || c == '[') {
			r->depth++;
		} else if ((c == '}' || c == ']') && --r->depth == 0) {
			return i + 1;
		}
	}
	r->scan = avail;
	return 0;
}

static void value_done(struct line_reader *r)
{
	r->scan = 0;
	r->depth = r->in_string = r->escaped = 0;
}

/* The first len bytes at start on one line: a value's newlines are all
 * between tokens. */
static void flatten(struct line_reader *r, size_t len)
{
	char *v = r->buf + r->start;
	for (size_t i = 0; i < len; i++)
		if (v[i] == '\n')
			v[i] = ' ';
}

/* Hands out the value buf[start..start+len) on one line; `cut`: a newline
 * ends it, consumed with it. */
static int emit_value(struct line_reader *r, struct line *out, size_t len, int cut)
{
	char *v = r->buf + r->start;
	flatten(r, len);
	value_done(r);
	if (cut || r->start + len == r->end || is_space(v[len]))
		return emit(r, out, len, len + (r->start + len < r->end), 0);
	/* another value right after it: its first byte cannot be the NUL */
	if (r->copy == NULL)
		r->copy = xmalloc(r->cap + 1);
	memcpy(r->copy, v, len);
	r->copy[len] = '\0';
	r->start += len;
	*out = (struct line){.text = r->copy, .len = len, .oversized = 0};
	return 1;
}

/* line_next() of a values reader; -1: what comes is read as a line. */
static int value_next(struct line_reader *r, struct line *out)
{
	int cut;
	size_t len;
	if (r->skipping == 2) {	/* the rest of an oversized value */
		len = scan_value(r, &cut);
		if (len == 0 && !cut) {
			r->start += r->scan;
			r->scan = 0;
			return 0;
		}
		r->start += len + (size_t)cut;
		value_done(r);
		r->skipping = 0;
	}
	if (r->skipping)
		return -1;
	if (r->scan == 0) {
		while (r->start < r->end && is_space(r->buf[r->start]))
			r->start++;
		if (r->start == r->end)
			return 0;
		if (r->buf[r->start] != '{' && r->buf[r->start] != '[')
			return -1;
	}
	len = scan_value(r, &cut);
	if (len > r->cap) {	/* too long, and ended: its head */
		flatten(r, r->cap);
		value_done(r);
		return emit(r, out, r->cap, len + (size_t)cut, 1);
	}
	if (len == 0 && r->scan > r->cap) {	/* too long, still open: its head */
		flatten(r, r->cap);
		emit(r, out, r->cap, r->scan, 1);
		r->scan = 0;
		r->skipping = 2;
		return 1;
	}
	if (len > 0)
		return emit_value(r, out, len, cut);
	if (r->eof && r->end > r->start)
		return emit_value(r, out, r->end - r->start, 0);
	return 0;
}

int line_next(struct line_reader *r, struct line *out)
{
	if (r->values) {
		int got = value_next(r, out);
		if (got >= 0)
			return got;
	}
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
