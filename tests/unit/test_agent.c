/* Unit tests of lib/sandbox/agent.c: the frames between the docker backend and
 * codex-agent, built, measured, decoded and read from a pipe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/agent.h"
#include "unit.h"

static const char bin[] = "a\0b\0\0\xff";	/* 6 bytes, NULs inside and last */

/* A read end holding len bytes of data, written by a child so that any
 * size goes through; the child is reaped by reap(). */
static int pipe_from_child(const char *data, size_t len, pid_t *pid)
{
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	*pid = fork();
	if (*pid < 0)
		abort();
	if (*pid == 0) {
		close(fds[0]);
		_exit(write_all(fds[1], data, len) == 0 ? 0 : 1);
	}
	close(fds[1]);
	return fds[0];
}

static void reap(int fd, pid_t pid)
{
	int st;
	close(fd);
	waitpid(pid, &st, 0);
}

/* The message every round trip carries: each kind of field once, argv and
 * env repeated, an empty field, binary data and numbers at the extremes. */
static void build_run(struct sbuf *b)
{
	size_t start = b->len;
	agent_begin(b, AGENT_RUN);
	agent_put_str(b, AT_ARGV, "sh");
	agent_put_str(b, AT_ENV, "A=1");
	agent_put_str(b, AT_ARGV, "-c");
	agent_put_str(b, AT_ARGV, "");
	agent_put_str(b, AT_ENV, "B=");
	agent_put(b, AT_STDIN, bin, sizeof bin - 1);
	agent_put(b, AT_DATA, NULL, 0);
	agent_put_num(b, AT_TIME_MS, 1500);
	agent_put_num(b, AT_EXIT, -1);
	agent_put_num(b, AT_WALL_MS, INT64_MAX);
	agent_put_num(b, AT_FILE_BYTES, INT64_MIN);
	agent_end(b, start);
}

static void check_run(const struct agent_msg *m)
{
	static const int tags[] = {AT_ARGV, AT_ENV, AT_ARGV, AT_ARGV, AT_ENV, AT_STDIN,
				   AT_DATA, AT_TIME_MS, AT_EXIT, AT_WALL_MS, AT_FILE_BYTES};
	int64_t v;
	CHECK_INT(m->op, AGENT_RUN);
	if (!CHECK_INT(m->n, sizeof tags / sizeof tags[0]))
		return;
	for (size_t i = 0; i < m->n; i++)
		CHECK_INT(m->f[i].tag, tags[i]);
	char **argv = agent_list(m, AT_ARGV), **env = agent_list(m, AT_ENV);
	CHECK_STR(argv[0], "sh");
	CHECK_STR(argv[1], "-c");
	CHECK_STR(argv[2], "");
	CHECK(argv[3] == NULL);
	CHECK_STR(env[0], "A=1");
	CHECK_STR(env[1], "B=");
	CHECK(env[2] == NULL);
	agent_list_free(argv);
	agent_list_free(env);
	const struct agent_field *f = agent_get(m, AT_ARGV);	/* the first of them */
	CHECK(f && f->len == 2 && memcmp(f->data, "sh", 2) == 0);
	f = agent_get(m, AT_STDIN);
	CHECK(f && f->len == sizeof bin - 1 && memcmp(f->data, bin, f->len) == 0);
	f = agent_get(m, AT_DATA);
	CHECK(f && f->len == 0);
	CHECK(agent_num(m, AT_TIME_MS, 0, 10000, &v) == 0 && v == 1500);
	CHECK(agent_num(m, AT_EXIT, -1, 255, &v) == 0 && v == -1);
	CHECK(agent_num(m, AT_WALL_MS, 0, INT64_MAX, &v) == 0 && v == INT64_MAX);
	CHECK(agent_num(m, AT_FILE_BYTES, INT64_MIN, 0, &v) == 0 && v == INT64_MIN);
}

/* The bytes on the wire, exactly as agent.h describes them. */
static void test_encoding(void)
{
	struct sbuf b = {0};
	agent_begin(&b, AGENT_FAIL);
	agent_put_str(&b, AT_MSG, "hi");
	agent_put_num(&b, AT_EXIT, -12);
	agent_end(&b, 0);
	static const char want[] = "\0\0\0\x10" "E" "\x06\0\0\0\x02hi" "\x10\0\0\0\x03-12";
	CHECK_INT(b.len, sizeof want - 1);
	CHECK(memcmp(b.p, want, sizeof want - 1) == 0);
	free(b.p);
}

static void test_round_trip_decode(void)
{
	struct sbuf b = {0};
	struct agent_msg m;
	size_t body = 0;
	agent_begin(&b, AGENT_PING);
	agent_end(&b, 0);
	size_t first = b.len;
	build_run(&b);	/* a second frame after the first: agent_end of a start > 0 */
	CHECK_INT(agent_frame_len(b.p, b.len, AGENT_FRAME_MAX, &body), 5);
	CHECK_INT(body, 1);
	CHECK_INT(agent_frame_len(b.p + first, b.len - first, AGENT_FRAME_MAX, &body),
		  b.len - first);
	CHECK_INT(body, b.len - first - 4);
	char *copy = xmalloc(body);
	memcpy(copy, b.p + first + 4, body);
	if (CHECK_INT(agent_decode(copy, body, &m), 0))
		check_run(&m);
	agent_msg_free(&m);
	CHECK(m.frame == NULL && m.n == 0);
	free(b.p);
}

static void test_round_trip_pipe(void)
{
	struct sbuf b = {0};
	struct agent_msg m;
	pid_t pid;
	build_run(&b);
	size_t start = b.len;
	agent_begin(&b, AGENT_OK);
	agent_end(&b, start);
	int fd = pipe_from_child(b.p, b.len, &pid);
	if (CHECK_INT(agent_read(fd, AGENT_FRAME_MAX, &m), 0))
		check_run(&m);
	agent_msg_free(&m);
	CHECK_INT(agent_read(fd, AGENT_FRAME_MAX, &m), 0);
	CHECK_INT(m.op, AGENT_OK);
	CHECK_INT(m.n, 0);
	agent_msg_free(&m);
	CHECK_INT(agent_read(fd, AGENT_FRAME_MAX, &m), 1);	/* clean end */
	CHECK_INT(agent_read(fd, AGENT_FRAME_MAX, &m), 1);
	reap(fd, pid);
	free(b.p);
}

/* A file bigger than a pipe's buffer, NULs and all, read in many pieces. */
static void test_big_data_pipe(void)
{
	enum { N = 300 * 1024 };
	struct sbuf b = {0};
	struct agent_msg m;
	pid_t pid;
	char *data = xmalloc(N);
	for (size_t i = 0; i < N; i++)
		data[i] = (char)(i * 7 % 251);
	agent_begin(&b, AGENT_WRITE);
	agent_put_str(&b, AT_PATH, "a.out");
	agent_put(&b, AT_DATA, data, N);
	agent_end(&b, 0);
	int fd = pipe_from_child(b.p, b.len, &pid);
	CHECK_INT(agent_read(fd, b.len - 4, &m), 0);	/* a cap of exactly the body */
	const struct agent_field *f = agent_get(&m, AT_DATA);
	CHECK(f && f->len == N && memcmp(f->data, data, N) == 0);
	agent_msg_free(&m);
	reap(fd, pid);
	free(data);
	free(b.p);
}

/* A message of one field whose bytes are s (n of them), decoded. */
static int decode_one(struct agent_msg *m, int tag, const char *s, size_t n)
{
	struct sbuf b = {0};
	agent_begin(&b, AGENT_RESULT);
	agent_put(&b, tag, s, n);
	agent_end(&b, 0);
	char *body = xmalloc(b.len - 4);
	memcpy(body, b.p + 4, b.len - 4);
	int rc = agent_decode(body, b.len - 4, m);
	free(b.p);
	return rc;
}

static int num_of(const char *s, int64_t min, int64_t max, int64_t *v)
{
	struct agent_msg m;
	int rc = decode_one(&m, AT_EXIT, s, strlen(s));
	if (rc == 0)
		rc = agent_num(&m, AT_EXIT, min, max, v);
	agent_msg_free(&m);
	return rc;
}

static void test_accessors(void)
{
	struct agent_msg m;
	int64_t v = 42;
	CHECK_INT(decode_one(&m, AT_PATH, "x/y", 3), 0);
	CHECK(agent_get(&m, AT_MSG) == NULL);
	CHECK(agent_str(&m, AT_MSG) == NULL);
	CHECK_INT(agent_num(&m, AT_EXIT, 0, 1, &v), -1);	/* missing */
	CHECK_INT(v, 42);
	char *s = agent_str(&m, AT_PATH);
	CHECK_STR(s, "x/y");
	free(s);
	char **l = agent_list(&m, AT_ARGV);
	CHECK(l != NULL && l[0] == NULL);
	agent_list_free(l);
	agent_list_free(NULL);
	agent_msg_free(&m);
	CHECK_INT(decode_one(&m, AT_PATH, "", 0), 0);	/* empty: "", not NULL */
	s = agent_str(&m, AT_PATH);
	CHECK_STR(s, "");
	free(s);
	agent_msg_free(&m);
}

static void test_numbers(void)
{
	int64_t v = 0;
	CHECK(num_of("0", 0, 0, &v) == 0 && v == 0);
	CHECK(num_of("-1", -1, 255, &v) == 0 && v == -1);
	CHECK(num_of("255", -1, 255, &v) == 0 && v == 255);
	CHECK(num_of("9223372036854775807", 0, INT64_MAX, &v) == 0 && v == INT64_MAX);
	v = 7;
	/* Malformed or out of range: -1, and *v is left alone. */
	static const char *const bad[] = {"", "-", "+1", " 1", "1 ", "1x", "0x10", "1.5",
					  "256", "-2", "9223372036854775808", "99999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!CHECK_INT(num_of(bad[i], -1, 255, &v), -1))
			fprintf(stderr, "    for \"%s\"\n", bad[i]);
	CHECK_INT(v, 7);
}

/* A field with a NUL byte inside is no string and no number: "12\0x"
 * is not read as 12, nor "a\0b" as the path "a". */
static void test_number_with_nul(void)
{
	struct agent_msg m;
	int64_t v;
	CHECK_INT(decode_one(&m, AT_EXIT, "12\0x", 4), 0);
	CHECK_INT(agent_num(&m, AT_EXIT, 0, 100, &v), -1);
	CHECK(agent_str(&m, AT_EXIT) == NULL);
	agent_msg_free(&m);
}

static void test_frame_len(void)
{
	static const char frame[] = "\0\0\0\x06" "P" "\x01\0\0\0\0" "rest";
	size_t body = 99;
	for (size_t n = 0; n < 4; n++)
		CHECK_INT(agent_frame_len(frame, n, 64, &body), 0);	/* partial header */
	for (size_t n = 4; n < 10; n++)
		CHECK_INT(agent_frame_len(frame, n, 64, &body), 0);	/* partial body */
	CHECK_INT(body, 6);
	CHECK_INT(agent_frame_len(frame, 10, 64, &body), 10);
	CHECK_INT(agent_frame_len(frame, sizeof frame - 1, 64, &body), 10);
	CHECK_INT(agent_frame_len(frame, 10, 6, &body), 10);	/* cap is inclusive */
	CHECK_INT(agent_frame_len(frame, 4, 5, &body), -1);	/* over cap: known from the header */
	CHECK_INT(agent_frame_len("\xff\xff\xff\xff", 4, AGENT_FRAME_MAX, &body), -1);
	/* AGENT_FRAME_MAX is 0x0c000000: one more is too much. */
	CHECK_INT(agent_frame_len("\x0c\0\0\x01", 4, AGENT_FRAME_MAX, &body), -1);
	/* A frame needs its op byte: a zero length is refused too. */
	CHECK_INT(agent_frame_len("\0\0\0\0P", 5, 64, &body), -1);
}

/* agent_decode of a hand-made body; frees it whatever the answer. */
static int decode_raw(const char *raw, size_t len, size_t *n)
{
	struct agent_msg m;
	char *body = xmalloc(len + 1);
	memcpy(body, raw, len);
	int rc = agent_decode(body, len, &m);
	*n = m.n;
	agent_msg_free(&m);
	return rc;
}

static void test_decode_rejects(void)
{
	size_t n;
	CHECK_INT(decode_raw("", 0, &n), -1);	/* no op byte */
	CHECK_INT(decode_raw("P", 1, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(decode_raw("P\x01\0\0\0\x03" "abc", 9, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(decode_raw("P\x01\0\0\0\x04" "abc", 9, &n), -1);	/* runs past the end */
	CHECK_INT(decode_raw("P\x01\xff\xff\xff\xff" "abc", 9, &n), -1);
	for (size_t len = 2; len < 6; len++)	/* a field header cut short */
		CHECK_INT(decode_raw("P\x01\0\0\0\0", len, &n), -1);
	CHECK_INT(decode_raw("P\x01\0\0\0\0" "\x02", 7, &n), -1);	/* good, then cut */
	CHECK_INT(decode_raw("P\xff\0\0\0\0", 6, &n), 0);	/* any tag byte */
	/* AGENT_FIELDS_MAX empty fields fit; one more does not. */
	size_t max = 1 + 5 * (size_t)AGENT_FIELDS_MAX;
	char *raw = xcalloc(max + 5, 1);
	raw[0] = AGENT_RUN;
	for (size_t off = 1; off < max + 5; off += 5)
		raw[off] = AT_ARGV;
	CHECK_INT(decode_raw(raw, max, &n), 0);
	CHECK_INT(n, AGENT_FIELDS_MAX);
	CHECK_INT(decode_raw(raw, max + 5, &n), -1);
	free(raw);
}

/* agent_read of a pipe holding exactly raw (len bytes, then the end). */
static int read_raw(const char *raw, size_t len, size_t cap)
{
	struct agent_msg m;
	pid_t pid;
	int fd = pipe_from_child(raw, len, &pid);
	int rc = agent_read(fd, cap, &m);
	if (rc == 0)
		agent_msg_free(&m);
	reap(fd, pid);
	return rc;
}

static void test_read_errors(void)
{
	static const char ok[] = "\0\0\0\x06" "P" "\x01\0\0\0\0";
	CHECK_INT(read_raw("", 0, 64), 1);
	CHECK_INT(read_raw(ok, 10, 64), 0);
	for (size_t len = 1; len < 10; len++)	/* the end mid-header or mid-body */
		CHECK_INT(read_raw(ok, len, 64), -1);
	CHECK_INT(read_raw(ok, 10, 5), -1);	/* over cap */
	CHECK_INT(read_raw("\xff\xff\xff\xff", 4, AGENT_FRAME_MAX), -1);
	CHECK_INT(read_raw("\0\0\0\0", 4, 64), -1);	/* empty body */
	CHECK_INT(read_raw("\0\0\0\x03" "P\x01\0", 7, 64), -1);	/* fields do not add up */
	CHECK_INT(read_raw("\0\0\0\x06" "P\x01\0\0\0\x09", 10, 64), -1);
	struct agent_msg m;
	CHECK_INT(agent_read(-1, 64, &m), -1);	/* a read error */
}

/* A good frame, then a frame cut short: the first is read, then -1. */
static void test_read_then_short(void)
{
	static const char two[] = "\0\0\0\x01" "O" "\0\0\0\x08" "E\x06";
	struct agent_msg m;
	pid_t pid;
	int fd = pipe_from_child(two, sizeof two - 1, &pid);
	CHECK_INT(agent_read(fd, 64, &m), 0);
	CHECK_INT(m.op, AGENT_OK);
	agent_msg_free(&m);
	CHECK_INT(agent_read(fd, 64, &m), -1);
	reap(fd, pid);
}

int main(void)
{
	UNIT_RUN(test_encoding);
	UNIT_RUN(test_round_trip_decode);
	UNIT_RUN(test_round_trip_pipe);
	UNIT_RUN(test_big_data_pipe);
	UNIT_RUN(test_accessors);
	UNIT_RUN(test_numbers);
	UNIT_RUN(test_number_with_nul);
	UNIT_RUN(test_frame_len);
	UNIT_RUN(test_decode_rejects);
	UNIT_RUN(test_read_errors);
	UNIT_RUN(test_read_then_short);
	return unit_finish();
}
