/* Unit tests of lib/sandbox/docker.c without a Docker daemon: DOCKER_HOST, error
 * bodies, and dk_call/dk_attach against a thread that serves canned HTTP
 * replies on a unix socket, then the attach stream's 8-byte framing. */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/docker.h"
#include "unit.h"

static char dir[] = "/tmp/test_docker.XXXXXX";
static char sock[64];
static int lfd = -1;

struct canned {
	const char *p;		/* NULL ends a list */
	size_t len;
};
#define C(s) {s, sizeof s - 1}

/* A server thread: answers each request with the next reply. */
struct srv {
	int keep;		/* 0: close after each reply; 1: one connection, left in fd */
	struct canned replies[4];
	size_t split;		/* write a reply in two parts, cut here (0: in one) */
	int accepts, fd;
	struct sbuf req;	/* what came, every request one after the other */
	pthread_t th;
};

static const char upgraded[] = "HTTP/1.1 101 UPGRADED\r\n"
	"Content-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int readable(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	return poll(&pf, 1, 5000) > 0;
}

/* Reads one request (head and Content-Length body) onto req. Returns 0, or
 * -1 at the end of the connection or after 5 s of nothing. */
static int read_request(int fd, struct sbuf *req)
{
	struct sbuf b = {0};
	char chunk[4096], *head;
	size_t need = SIZE_MAX;
	while (b.len < need) {
		ssize_t n = readable(fd) ? read(fd, chunk, sizeof chunk) : -1;
		if (n <= 0) {
			free(b.p);
			return -1;
		}
		sbuf_put(&b, chunk, (size_t)n);
		if (need == SIZE_MAX && (head = strstr(b.p, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(b.p, "\r\nContent-Length:");
			need = (size_t)(head + 4 - b.p) + (cl && cl < head ? strtoul(cl + 17, NULL, 10) : 0);
		}
	}
	sbuf_put(req, b.p, b.len);
	free(b.p);
	return 0;
}

static void reply(struct srv *s, int fd, struct canned r)
{
	size_t cut = s->split && s->split < r.len ? s->split : r.len;
	send_all(fd, r.p, cut);
	if (cut < r.len) {
		usleep(10000);
		send_all(fd, r.p + cut, r.len - cut);
	}
}

static void *serve(void *arg)
{
	struct srv *s = arg;
	int conn = -1;
	for (struct canned *r = s->replies; r->p; r++) {
		while (conn < 0 || read_request(conn, &s->req) != 0) {
			if (conn >= 0)
				close(conn);	/* the client gave it up: a new one comes */
			if (!readable(lfd) || (conn = accept(lfd, NULL, NULL)) < 0)
				return NULL;
			s->accepts++;
		}
		reply(s, conn, *r);
		if (!s->keep) {
			close(conn);
			conn = -1;
		}
	}
	s->fd = conn;
	return NULL;
}

static void srv_start(struct srv *s)
{
	s->fd = -1;
	if (pthread_create(&s->th, NULL, serve, s) != 0)
		abort();
}

static void test_open(void)
{
	struct dk d;
	char err[256] = "";
	unsetenv("DOCKER_HOST");
	CHECK_INT(dk_open(&d, err, sizeof err), 0);
	CHECK_STR(d.sock, "/var/run/docker.sock");
	setenv("DOCKER_HOST", "", 1);
	CHECK_INT(dk_open(&d, err, sizeof err), 0);
	CHECK_STR(d.sock, "/var/run/docker.sock");
	setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock", 1);
	CHECK_INT(dk_open(&d, err, sizeof err), 0);
	CHECK_STR(d.sock, "/run/user/1000/docker.sock");
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	CHECK_INT(dk_open(&d, err, sizeof err), -1);
	CHECK_STR(err, "DOCKER_HOST=tcp://127.0.0.1:2375: only unix:// sockets are supported");
	/* A path that would not fit is refused, never cut. */
	char host[PATH_MAX + 16] = "unix://";
	memset(host + 7, 'a', PATH_MAX);
	host[PATH_MAX + 7] = '\0';
	setenv("DOCKER_HOST", host, 1);
	CHECK_INT(dk_open(&d, err, sizeof err), -1);
	CHECK_STR(err, "DOCKER_HOST: the socket's path is too long");
	unsetenv("DOCKER_HOST");
}

static void test_error_text(void)
{
	char out[64];
	dk_error_text("{\"message\":\"No such container: abc\"}\n", out, sizeof out);
	CHECK_STR(out, "No such container: abc");
	dk_error_text("{\"message\":\"conflict\\n\\n\"}", out, sizeof out);
	CHECK_STR(out, "conflict");
	dk_error_text("page not found\n", out, sizeof out);	/* not JSON: the body */
	CHECK_STR(out, "page not found");
	dk_error_text("{\"error\":\"x\"}", out, sizeof out);	/* no message: the body */
	CHECK_STR(out, "{\"error\":\"x\"}");
	dk_error_text("{\"message\":5}", out, sizeof out);
	CHECK_STR(out, "{\"message\":5}");
	dk_error_text("", out, sizeof out);
	CHECK_STR(out, "");
	dk_error_text(NULL, out, sizeof out);
	CHECK_STR(out, "");
	dk_error_text("{\"message\":\"No such container: abc\"}", out, 6);
	CHECK_STR(out, "No su");
}

/* One dk_call of method path answered by reply; checks the status and
 * body it gives, then that the request began with req_start. */
static void call(const char *reply_text, const char *method, const char *path, int status,
		 const char *body, const char *req_start)
{
	struct srv s = {.replies = {{reply_text, strlen(reply_text)}}};
	struct dk d;
	char err[256] = "", *got = NULL;
	srv_start(&s);
	dk_open(&d, err, sizeof err);
	if (!CHECK_INT(dk_call(&d, method, path, NULL, &got, err, sizeof err), status))
		fprintf(stderr, "    err: %s\n", err);
	CHECK_STR(got, body);
	if (status < 0)
		CHECK(strncmp(err, "dockerd at ", 11) == 0 && strstr(err, sock) != NULL);
	dk_close(&d);
	pthread_join(s.th, NULL);
	CHECK(s.req.p && strncmp(s.req.p, req_start, strlen(req_start)) == 0);
	free(s.req.p);
	free(got);
}

static void test_call_replies(void)
{
	call("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	     "Content-Length: 12\r\n\r\n[{\"Id\":\"a\"}]", "GET", "/containers/json?all=1", 200,
	     "[{\"Id\":\"a\"}]", "GET /v1.41/containers/json?all=1 HTTP/1.1\r\n");
	call("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5\r\nhello\r\n7\r\n, world\r\nB\r\n 0123456789\r\n0\r\n\r\n", "GET", "/info", 200,
	     "hello, world 0123456789", "GET /v1.41/info HTTP/1.1\r\n");
	call("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	     "Content-Length: 35\r\n\r\n{\"message\":\"No such container: x\"}\n",
	     "DELETE", "/containers/x?force=1", 404, "{\"message\":\"No such container: x\"}\n",
	     "DELETE /v1.41/containers/x?force=1 HTTP/1.1\r\n");
	call("HTTP/1.1 204 No Content\r\n\r\n", "POST", "/containers/x/start", 204, "",
	     "POST /v1.41/containers/x/start HTTP/1.1\r\n");
	/* Cut mid-body, mid-chunk, before any reply, or not HTTP: no status. */
	call("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Id\":", "GET", "/x", -1, NULL,
	     "GET /v1.41/x ");
	call("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "GET", "/x", -1, NULL,
	     "GET /v1.41/x ");
	call("", "GET", "/x", -1, NULL, "GET /v1.41/x ");
	call("SSH-2.0-OpenSSH_9.2\r\n\r\n", "GET", "/x", -1, NULL, "GET /v1.41/x ");
}

static void test_call_requests(void)
{
	struct srv s = {.keep = 1, .replies = {
		C("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"),
		C("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")}};
	struct dk d;
	char err[256] = "", *body = NULL;
	static const char json[] = "{\"Image\":\"runner\"}";
	srv_start(&s);
	dk_open(&d, err, sizeof err);
	CHECK_INT(dk_call(&d, "POST", "/containers/create", json, &body, err, sizeof err), 201);
	CHECK_STR(body, "{}");
	free(body);
	CHECK_INT(dk_call(&d, "POST", "/containers/x/stop", NULL, NULL, err, sizeof err), 200);
	dk_close(&d);
	pthread_join(s.th, NULL);
	close(s.fd);
	CHECK_INT(s.accepts, 1);	/* one connection across calls */
	char *second = s.req.p ? strstr(s.req.p + 1, "POST ") : NULL;
	if (!CHECK(second != NULL))
		return;
	/* A POST without a body still says so: dockerd wants a length. */
	CHECK(strncmp(second, "POST /v1.41/containers/x/stop HTTP/1.1\r\n", 40) == 0);
	CHECK(strcasestr(second, "\r\nContent-Length: 0\r\n") != NULL);
	*second = '\0';
	CHECK(strncmp(s.req.p, "POST /v1.41/containers/create HTTP/1.1\r\n", 40) == 0);
	CHECK(strstr(s.req.p, "\r\nHost: docker\r\n") != NULL);
	CHECK(strstr(s.req.p, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(s.req.p, "\r\n\r\n{\"Image\":\"runner\"}") != NULL);
	free(s.req.p);
}

static void test_no_daemon(void)
{
	struct dk d;
	struct dk_stream st;
	char err[256] = "", *body = (char *)"unset", path[200], host[220];
	snprintf(path, sizeof path, "%s/none.sock", dir);
	snprintf(host, sizeof host, "unix://%s", path);
	setenv("DOCKER_HOST", host, 1);
	dk_open(&d, err, sizeof err);
	CHECK_INT(dk_call(&d, "GET", "/_ping", NULL, &body, err, sizeof err), -1);
	CHECK(strncmp(err, "dockerd at ", 11) == 0 && strstr(err, path) != NULL);
	CHECK_STR(body, "unset");	/* untouched */
	CHECK_INT(dk_attach(&d, "abc", &st, err, sizeof err), -1);
	CHECK(strstr(err, path) != NULL);
	dk_close(&d);
	snprintf(host, sizeof host, "unix://%s", sock);
	setenv("DOCKER_HOST", host, 1);
}

/* dk_attach answered by r. Returns its result; *peer is the server's end
 * of the stream when it is 0. */
static int attach(struct canned r, size_t split, struct dk_stream *st, int *peer, char *err)
{
	/* No reply at all: the server closes, as a dying dockerd would. */
	struct srv s = {.keep = r.len > 0, .replies = {r}, .split = split};
	struct dk d;
	srv_start(&s);
	dk_open(&d, err, 256);
	int rc = dk_attach(&d, "0123456789abcdef", st, err, 256);
	dk_close(&d);
	pthread_join(s.th, NULL);
	free(s.req.p);
	*peer = s.fd;
	if (rc != 0 && s.fd >= 0)
		close(s.fd);
	return rc;
}

static void test_attach_refused(void)
{
	struct dk_stream st;
	char err[256];
	int peer;
	CHECK_INT(attach((struct canned)C("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
			 0, &st, &peer, err), -2);
	CHECK_STR(err, "attach to 0123456789ab: container gone or not running");
	CHECK(st.curl == NULL && st.fd == -1 && st.raw.p == NULL);
	dk_stream_close(&st);	/* twice is harmless */
	CHECK_INT(attach((struct canned)C("HTTP/1.1 409 Conflict\r\n\r\n"), 0, &st, &peer, err), -2);
	CHECK_INT(attach((struct canned)C("HTTP/1.1 500 Server Error\r\n\r\n"), 0, &st, &peer, err), -1);
	CHECK_STR(err, "attach to 0123456789ab: refused");
	CHECK_INT(attach((struct canned){"", 0}, 0, &st, &peer, err), -1);
	CHECK_STR(err, "attach to 0123456789ab: no reply from dockerd");
	CHECK_INT(attach((struct canned)C("garbage\r\n\r\n"), 0, &st, &peer, err), -1);
}

/* Appends one multiplexed frame: stream, 3 zero bytes, big-endian size. */
static void frame(struct sbuf *b, int stream, const char *p, size_t n)
{
	char h[8] = {(char)stream, 0, 0, 0, (char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
	sbuf_put(b, h, 8);
	sbuf_put(b, p, n);
}

static void sbufs_free(struct sbuf *a, struct sbuf *b, struct sbuf *c)
{
	free(a->p);
	free(b->p);
	free(c->p);
}

struct pump {
	int fd;
	char *p;
	size_t n;
	int sending;		/* 1: send p; 0: read n bytes into a new p */
};

/* Writes or reads all n bytes on fd, from a thread. */
static void *pump(void *arg)
{
	struct pump *a = arg;
	if (a->sending)
		send_all(a->fd, a->p, a->n);
	else
		a->p = read_exact(a->fd, a->n);
	return NULL;
}

static void test_stream_frames(void)
{
	struct dk_stream st;
	struct sbuf out = {0}, err = {0}, w = {0};
	char e[256];
	int peer;
	if (!CHECK_INT(attach((struct canned)C(upgraded), 20, &st, &peer, e), 0))
		return;
	/* Several frames in one write, a zero-length one among them. */
	frame(&w, 1, "a", 1);
	frame(&w, 2, "bb", 2);
	frame(&w, 1, "", 0);
	frame(&w, 1, "c\0c", 3);
	frame(&w, 2, "\1\0\0\0", 4);	/* a payload that looks like a header */
	send_all(peer, w.p, w.len);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), 1);
	CHECK(out.len == 4 && memcmp(out.p, "ac\0c", 4) == 0);
	CHECK(err.len == 6 && memcmp(err.p, "bb\1\0\0\0", 6) == 0);
	/* One frame in pieces: nothing comes out until the whole of it. */
	w.len = out.len = err.len = 0;
	frame(&w, 1, "hello", 5);
	frame(&w, 2, "oops", 4);
	/* Cut mid-header, after it, mid-payload, after it, then the same for
	 * the second frame; its last 4 bytes come after the loop. */
	static const size_t cuts[] = {3, 8, 11, 13, 16, 21};
	for (size_t i = 0, at = 0; i < sizeof cuts / sizeof cuts[0]; at = cuts[i++]) {
		send_all(peer, w.p + at, cuts[i] - at);
		CHECK_INT(dk_stream_read(&st, &out, &err, 1000), 1);
		CHECK_INT(out.len, cuts[i] >= 13 ? 5 : 0);
		CHECK_INT(err.len, 0);
	}
	send_all(peer, w.p + 21, w.len - 21);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), 1);
	CHECK_STR(out.p, "hello");
	CHECK_STR(err.p, "oops");
	/* Nothing more: a time-out, with nothing added. */
	int64_t t0 = now_mono_ms();
	CHECK_INT(dk_stream_read(&st, &out, &err, 30), 0);
	CHECK(now_mono_ms() - t0 >= 25 && now_mono_ms() - t0 < 1000);
	CHECK_INT(dk_stream_read(&st, &out, &err, 0), 0);
	CHECK_INT(out.len + err.len, 9);
	/* A frame cut by the end of the stream is dropped; the end is -1. */
	frame(&w, 1, "lost", 4);
	send_all(peer, w.p + w.len - 12, 10);
	close(peer);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), 1);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), -1);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), -1);
	CHECK_INT(out.len + err.len, 9);
	dk_stream_close(&st);
	sbufs_free(&out, &err, &w);
}

/* A frame far bigger than any buffer, then one of stderr, from a thread. */
static void test_stream_big_frame(void)
{
	enum { N = 3 << 20 };
	struct dk_stream st;
	struct sbuf out = {0}, err = {0}, w = {0};
	char e[256], *data = xmalloc(N);
	int peer, rc = 1, torn = 0;	/* torn: some of the frame came out */
	pthread_t th;
	if (!CHECK_INT(attach((struct canned)C(upgraded), 0, &st, &peer, e), 0))
		return;
	for (size_t i = 0; i < N; i++)
		data[i] = (char)(i % 253);
	frame(&w, 1, data, N);
	frame(&w, 2, "end", 3);
	struct pump a = {peer, w.p, w.len, 1};
	pthread_create(&th, NULL, pump, &a);
	while (rc > 0 && err.len == 0) {
		rc = dk_stream_read(&st, &out, &err, 1000);
		torn |= out.len != 0 && out.len != N;
	}
	CHECK(!torn);
	CHECK(out.len == N && memcmp(out.p, data, N) == 0);
	CHECK_STR(err.p, "end");
	/* Closing the stream closes the connection (and ends the writer). */
	dk_stream_close(&st);
	pthread_join(th, NULL);
	char c;
	CHECK_INT(read(peer, &c, 1), 0);
	close(peer);
	sbufs_free(&out, &err, &w);
	free(data);
}

/* Bytes that come with the reply head are not lost. */
static void test_stream_after_head(void)
{
	struct dk_stream st;
	struct sbuf out = {0}, err = {0}, r = {0};
	char e[256];
	int peer;
	sbuf_puts(&r, upgraded);
	frame(&r, 1, "early", 5);
	frame(&r, 2, "e", 1);
	if (!CHECK_INT(attach((struct canned){r.p, r.len}, 0, &st, &peer, e), 0))
		return;
	/* Bytes that came with the reply's head are handed out at once. */
	CHECK_INT(dk_stream_read(&st, &out, &err, 20), 1);
	CHECK_STR(out.p, "early");
	CHECK_STR(err.p, "e");
	close(peer);
	CHECK_INT(dk_stream_read(&st, &out, &err, 1000), -1);
	dk_stream_close(&st);
	sbufs_free(&out, &err, &r);
}

static void test_stream_write(void)
{
	enum { N = 2 << 20 };
	struct dk_stream st;
	char e[256], *data = xmalloc(N), got[8] = "";
	int peer;
	pthread_t th;
	if (!CHECK_INT(attach((struct canned)C(upgraded), 0, &st, &peer, e), 0))
		return;
	CHECK_INT(dk_stream_write(&st, "ping", 4), 0);
	CHECK_INT(read(peer, got, sizeof got), 4);
	CHECK_STR(got, "ping");
	for (size_t i = 0; i < N; i++)
		data[i] = (char)(i % 241);
	struct pump a = {peer, NULL, N, 0};	/* more than the socket holds */
	pthread_create(&th, NULL, pump, &a);
	int rc = dk_stream_write(&st, data, N);
	CHECK_INT(rc, 0);
	if (rc != 0)
		dk_stream_close(&st);	/* so that the reader ends */
	pthread_join(th, NULL);
	CHECK(a.p && memcmp(a.p, data, N) == 0);
	close(peer);
	CHECK_INT(dk_stream_write(&st, "x", 1), -1);	/* the other end is gone */
	dk_stream_close(&st);
	free(a.p);
	free(data);
}

static void setup(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char host[160];
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sock, sizeof sock, "%s/docker.sock", dir);
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 8) != 0)
		abort();
	snprintf(host, sizeof host, "unix://%s", sock);
	setenv("DOCKER_HOST", host, 1);
}

int main(void)
{
	UNIT_RUN(test_open);
	UNIT_RUN(test_error_text);
	setup();
	UNIT_RUN(test_call_replies);
	UNIT_RUN(test_call_requests);
	UNIT_RUN(test_no_daemon);
	UNIT_RUN(test_attach_refused);
	UNIT_RUN(test_stream_frames);
	UNIT_RUN(test_stream_big_frame);
	UNIT_RUN(test_stream_after_head);
	UNIT_RUN(test_stream_write);
	close(lfd);
	unlink(sock);
	rmdir(dir);
	return unit_finish();
}
