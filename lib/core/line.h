/* line: a capped, poll-friendly reader of newline-terminated lines. */
#ifndef LINE_H
#define LINE_H

#include <stddef.h>
#include <sys/types.h>

struct line_reader {
	int fd;
	size_t cap;		/* longest line kept, in bytes, without the newline */
	char *buf;		/* owned; cap + 1 bytes plus read slack */
	size_t size;		/* bytes allocated */
	size_t start, end;	/* unread bytes are buf[start..end) */
	int skipping;		/* discarding the tail of an oversized line */
	int eof;
};

/* A line handed out by line_next(). `text` points into the reader's buffer
 * (borrowed: valid until the next line_* call) and is NUL-terminated. */
struct line {
	char *text;
	size_t len;
	int oversized;		/* the line was longer than cap; text holds its head */
};

void line_init(struct line_reader *r, int fd, size_t cap);
void line_free(struct line_reader *r);

/* Reads once from the fd (one read(2), may block if the fd does).
 * Returns bytes read, 0 at end of file, -1 on error (errno set;
 * EAGAIN/EINTR are for the caller to retry). */
ssize_t line_fill(struct line_reader *r);

/* Takes the next complete line out of the buffer. At end of file a last
 * line without a newline counts as complete. Returns 1 and fills *out,
 * or 0 when no complete line is buffered. An oversized line is returned
 * once, truncated to cap bytes, with oversized set; the rest of it is
 * dropped as it arrives. */
int line_next(struct line_reader *r, struct line *out);

/* Blocking convenience: fills until a line is available. Returns 1 with a
 * line, 0 at end of input, -1 on a read error. */
int line_read(struct line_reader *r, struct line *out);

/* line_read(), also watching watch_fd, the write end of our output: when
 * its reader goes away (POLLERR/POLLHUP) while we wait for input, returns
 * -2, so an idle stage of a pipeline ends with the stage after it. */
int line_read_watch(struct line_reader *r, struct line *out, int watch_fd);

#endif
