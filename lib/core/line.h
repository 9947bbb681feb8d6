/* line: a capped, poll-friendly reader of newline-terminated lines, or
 * (line_init_values) of a stream of JSON values as jq reads them. */
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
	int skipping;		/* discarding the tail of an oversized line (1)
				 * or value (2) */
	int eof;
	/* JSON values (line_init_values): where the value at start is scanned
	 * to, and the scanner's state there. */
	int values;
	size_t scan;
	int depth, in_string, escaped;
	char *copy;		/* owned; a value followed at once by another */
};

/* A line handed out by line_next(). `text` points into the reader's buffer
 * (borrowed: valid until the next line_* call) and is NUL-terminated. */
struct line {
	char *text;
	size_t len;
	int oversized;		/* the line was longer than cap; text holds its head */
};

void line_init(struct line_reader *r, int fd, size_t cap);

/* A reader of JSON values instead of lines: whitespace (blank lines
 * included) is skipped; a value that starts with { or [ ends where it
 * closes, across lines or several on one line, and is handed out on one
 * line (its newlines, which JSON allows only between tokens, become
 * spaces). A newline inside a string, or a newline directly followed by
 * '{' while a value is open, ends that value where it is (an unfinished
 * value, which will not parse; the next one is not lost). Anything else
 * runs to the end of its line, as a line would. */
void line_init_values(struct line_reader *r, int fd, size_t cap);
void line_free(struct line_reader *r);

/* Reads once from the fd (one read(2), may block if the fd does).
 * Returns bytes read, 0 at end of file, -1 on error (errno set;
 * EAGAIN/EINTR are for the caller to retry). */
ssize_t line_fill(struct line_reader *r);

/* Takes the next complete line (or value) out of the buffer. At end of file a last
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
