/* Unit tests of lib/core/line.c: the capped line reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/line.h"
#include "core/util.h"
#include "unit.h"

/* A reader over a pipe already holding `data` (it must fit the pipe). */
static int pipe_with(const char *data, size_t len)
{
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	if (write_all(fds[1], data, len) != 0)
		abort();
	close(fds[1]);
	return fds[0];
}

/* A pipe fed by a child process in chunks of `chunk` bytes, pausing
 * between them, so that each read(2) sees a piece of a line. */
static int pipe_chunked(const char *data, size_t len, size_t chunk, pid_t *pid)
{
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	*pid = fork();
	if (*pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;
			if (write_all(fds[1], data + off, n) != 0)
				_exit(1);
			usleep(200);
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

static void test_plain_lines(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("one\ntwo\n", 8), 64);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "one");
	CHECK_INT(l.len, 3);
	CHECK(!l.oversized);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "two");
	CHECK_INT(line_read(&r, &l), 0);
	CHECK_INT(line_read(&r, &l), 0);	/* end of input stays the end */
	close(r.fd);
	line_free(&r);
}

static void test_empty_lines(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("\n\nx\n\n", 5), 64);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_INT(l.len, 0);
	CHECK_STR(l.text, "");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_INT(l.len, 0);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "x");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_INT(l.len, 0);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
}

static void test_last_line_without_newline(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("a\nlast", 6), 64);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "a");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "last");
	CHECK_INT(l.len, 4);
	CHECK(!l.oversized);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
}

static void test_empty_input(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("", 0), 64);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
}

static void test_cap_exactly(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("12345678\n123456789\nok\n", 23), 8);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "12345678");
	CHECK(!l.oversized);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "12345678");	/* one byte over: cut to the cap */
	CHECK(l.oversized);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "ok");
	CHECK(!l.oversized);
	close(r.fd);
	line_free(&r);
}

static void test_oversized_then_next(void)
{
	struct line_reader r;
	struct line l;
	size_t big = 200000;
	char *data = xmalloc(big + 16);
	memset(data, 'x', big);
	memcpy(data + big, "\nnext\n", 6);
	pid_t pid;
	line_init(&r, pipe_chunked(data, big + 6, 4096, &pid), 1000);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK(l.oversized);
	CHECK_INT(l.len, 1000);
	CHECK_INT(strlen(l.text), 1000);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "next");	/* the tail was dropped, not returned */
	CHECK(!l.oversized);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
	waitpid(pid, NULL, 0);
	free(data);
}

static void test_oversized_at_end(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("ok\nabcdefghijkl", 15), 4);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "ok");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "abcd");
	CHECK(l.oversized);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
}

static void test_long_line_under_cap(void)
{
	struct line_reader r;
	struct line l;
	size_t big = 300000;	/* several times the reader's read size */
	char *data = xmalloc(big + 8);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	memcpy(data + big, "\nz\n", 3);
	pid_t pid;
	line_init(&r, pipe_chunked(data, big + 3, 65536, &pid), 1 << 20);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_INT(l.len, big);
	CHECK(!l.oversized);
	CHECK(memcmp(l.text, data, big) == 0);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "z");
	close(r.fd);
	line_free(&r);
	waitpid(pid, NULL, 0);
	free(data);
}

static void test_small_chunks(void)
{
	static const char data[] = "{\"a\":1}\n\nsecond line\nthird";
	struct line_reader r;
	struct line l;
	pid_t pid;
	line_init(&r, pipe_chunked(data, sizeof data - 1, 3, &pid), 64);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "{\"a\":1}");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "second line");
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "third");
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
	waitpid(pid, NULL, 0);
}

static void test_oversized_in_small_chunks(void)
{
	static const char data[] = "0123456789abcdef\nshort\n";
	struct line_reader r;
	struct line l;
	pid_t pid;
	line_init(&r, pipe_chunked(data, sizeof data - 1, 2, &pid), 5);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "01234");
	CHECK(l.oversized);
	CHECK_INT(line_read(&r, &l), 1);
	CHECK_STR(l.text, "short");
	CHECK(!l.oversized);
	CHECK_INT(line_read(&r, &l), 0);
	close(r.fd);
	line_free(&r);
	waitpid(pid, NULL, 0);
}

static void test_next_without_fill(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, pipe_with("ab\ncd", 5), 64);
	CHECK_INT(line_next(&r, &l), 0);	/* nothing read yet */
	CHECK(line_fill(&r) == 5);
	CHECK_INT(line_next(&r, &l), 1);
	CHECK_STR(l.text, "ab");
	CHECK_INT(line_next(&r, &l), 0);	/* "cd" may still grow */
	CHECK(line_fill(&r) == 0);
	CHECK_INT(line_next(&r, &l), 1);
	CHECK_STR(l.text, "cd");
	close(r.fd);
	line_free(&r);
}

static void test_read_error(void)
{
	struct line_reader r;
	struct line l;
	line_init(&r, 999, 64);	/* not an open fd */
	CHECK_INT(line_read(&r, &l), -1);
	CHECK_INT(errno, EBADF);
	line_free(&r);
}

/* Every value of `data` read with cap `cap`, fed in chunks of `chunk`
 * bytes (0: at once), joined by '|'; an oversized one marked with '!'. */
static char *values_of(const char *data, size_t cap, size_t chunk)
{
	struct line_reader r;
	struct line l;
	pid_t pid = -1;
	size_t len = strlen(data);
	static char got[1024];
	got[0] = '\0';
	line_init_values(&r, chunk ? pipe_chunked(data, len, chunk, &pid) : pipe_with(data, len),
			 cap);
	for (int n = 0; line_read(&r, &l) == 1; n++) {
		CHECK_INT(strlen(l.text), l.len);
		CHECK(memchr(l.text, '\n', l.len) == NULL);
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s%s", n ? "|" : "",
			 l.oversized ? "!" : "", l.text);
	}
	close(r.fd);
	line_free(&r);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return got;
}

/* The same values whatever the pieces the input comes in. */
static void check_values(const char *data, size_t cap, const char *want)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7};
	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		char *got = values_of(data, cap, chunks[i]);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "chunks of %zu: %s\n", chunks[i], data);
		CHECK_STR(got, want);
	}
}

static void test_values(void)
{
	/* one a line, as the pipeline writes them */
	check_values("{\"a\":1}\n{\"b\":2}\n", 64, "{\"a\":1}|{\"b\":2}");
	/* pretty-printed, blank lines and spaces between */
	check_values("{\n  \"a\": [1,\n 2],\n  \"s\": \"}{\\\"\"\n}\n\n  \n{\"b\":2}", 64,
		     "{   \"a\": [1,  2],   \"s\": \"}{\\\"\" }|{\"b\":2}");
	/* several on a line, with and without space between */
	check_values("{\"a\":1} {\"b\":2}{\"c\":3}[4]\n", 64, "{\"a\":1}|{\"b\":2}|{\"c\":3}|[4]");
	/* not an object or array: the rest of its line, as a line */
	check_values("nope {\"a\":1}\n  \"x\"\n{\"b\":2}\n", 64, "nope {\"a\":1}|\"x\"|{\"b\":2}");
	/* unfinished: cut at a newline in a string, or before a { at column 0 */
	check_values("{\"a\": \"ab\n{\"b\":2}\n", 64, "{\"a\": \"ab|{\"b\":2}");
	check_values("{\"a\": [1,\n{\"b\":2}\n", 64, "{\"a\": [1,|{\"b\":2}");
	/* unfinished at the end of input */
	check_values("{\"b\":2}\n{\"a\": [1,", 64, "{\"b\":2}|{\"a\": [1,");
	/* too long: its head, and the rest of it skipped, ended or not */
	check_values("{\"a\":\"123456789\"}{\"b\":2}", 8, "!{\"a\":\"12|{\"b\":2}");
	check_values("{\"a\":\n\"123456789\",\n\"c\":[1,2,3]}\n{\"b\":2}\n", 8,
		     "!{\"a\": \"1|{\"b\":2}");
	check_values("{\"a\":\"123456789\n{\"b\":2}\n", 8, "!{\"a\":\"12|{\"b\":2}");
	check_values("", 8, "");
	check_values(" \n\n ", 8, "");
}

int main(void)
{
	UNIT_RUN(test_plain_lines);
	UNIT_RUN(test_empty_lines);
	UNIT_RUN(test_last_line_without_newline);
	UNIT_RUN(test_empty_input);
	UNIT_RUN(test_cap_exactly);
	UNIT_RUN(test_oversized_then_next);
	UNIT_RUN(test_oversized_at_end);
	UNIT_RUN(test_long_line_under_cap);
	UNIT_RUN(test_small_chunks);
	UNIT_RUN(test_oversized_in_small_chunks);
	UNIT_RUN(test_next_without_fill);
	UNIT_RUN(test_read_error);
	UNIT_RUN(test_values);
	return unit_finish();
}
