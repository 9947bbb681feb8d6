/* Unit tests of the zygote's request reader (lib/sandbox/zychild.c): a
 * request as zygote_send() writes it is taken with its words; anything
 * else is refused, and the fds it brought are closed (its step's init then
 * hears of no program), never kept. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/zygote.h"
#include "unit.h"

static int sv[2];

/* Sends len bytes of rq with nfds write ends of fresh pipes; their read
 * ends go to reads[]. Returns 0, or -1. */
static int send_request(const struct zy_request *rq, size_t len, int nfds, int *reads)
{
	int fds[ZY_FDS_MAX + 2];
	union {
		char buf[CMSG_SPACE((ZY_FDS_MAX + 2) * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)rq, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	for (int i = 0; i < nfds; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) != 0)
			return -1;
		reads[i] = p[0];
		fds[i] = p[1];
	}
	if (nfds > 0) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ssize_t n = sendmsg(sv[0], &m, 0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return n == (ssize_t)len ? 0 : -1;
}

/* Whether every read end sees its pipe's end: no copy of a write end is
 * left open. */
static int all_closed(const int *reads, int n)
{
	int ok = 1;
	for (int i = 0; i < n; i++) {
		struct pollfd pf = {.fd = reads[i], .events = POLLIN};
		char c;
		ok &= poll(&pf, 1, 0) == 1 && read(reads[i], &c, 1) == 0;
		close(reads[i]);
	}
	return ok;
}

static struct zy_request good(void)
{
	static const char words[] = "/sandbox/launch.py\0/sandbox/code/main.py\0two";
	struct zy_request rq = {.magic = ZY_MAGIC, .nprocs = 3, .uid = 61000, .gid = 61000,
				.time_ms = 4000, .file_bytes = 1 << 20, .processes = 96, .argc = 3};
	memcpy(rq.args, words, sizeof words);
	return rq;
}

static void test_good_request(void)
{
	struct zy_request rq = good();
	int reads[ZY_FDS_MAX];
	CHECK(send_request(&rq, sizeof rq, ZY_FIXED + 3, reads) == 0);
	CHECK(zy_next(sv[1]) == 1);
	CHECK(zy_argc() == 3);
	CHECK_STR(zy_arg(0), "/sandbox/launch.py");
	CHECK_STR(zy_arg(1), "/sandbox/code/main.py");
	CHECK_STR(zy_arg(2), "two");
	CHECK(zy_arg(3) == NULL);
	CHECK(zy_arg(-1) == NULL);
	/* The next request's reading closes this one's fds. */
	rq.magic = 0;
	int more[ZY_FDS_MAX];
	CHECK(send_request(&rq, sizeof rq, 1, more) == 0);
	CHECK(zy_next(sv[1]) == 2);
	CHECK(all_closed(reads, ZY_FIXED + 3));
	CHECK(all_closed(more, 1));
}

/* Each refused: its fds closed at once. */
static void refused(struct zy_request rq, size_t len, int nfds, const char *what)
{
	int reads[ZY_FDS_MAX + 2];
	unit_current = what;
	CHECK(send_request(&rq, len, nfds, reads) == 0);
	CHECK(zy_next(sv[1]) == 2);
	CHECK(all_closed(reads, nfds));
}

static void test_refused(void)
{
	struct zy_request rq = good();
	refused(rq, sizeof rq - 1, ZY_FIXED + 3, "short");
	refused(rq, sizeof rq, ZY_FIXED + 2, "one fd short");
	refused(rq, sizeof rq, ZY_FIXED + 4, "one fd more");
	refused(rq, sizeof rq, 0, "no fds");
	rq.magic ^= 1;
	refused(rq, sizeof rq, ZY_FIXED + 3, "magic");
	rq = good();
	rq.nprocs = 0;
	refused(rq, sizeof rq, ZY_FIXED, "no cgroup.procs");
	rq.nprocs = CG_PROCS_MAX + 1;
	refused(rq, sizeof rq, ZY_FDS_MAX, "too many cgroup.procs");
	rq = good();
	rq.cgdir = 1;
	refused(rq, sizeof rq, ZY_FIXED + 3, "a group directory missing");
	rq.cgdir = 2;
	refused(rq, sizeof rq, ZY_FIXED + 5, "cgdir neither 0 nor 1");
	rq = good();
	rq.argc = 4;
	memset(rq.args, 'x', sizeof rq.args);
	refused(rq, sizeof rq, ZY_FIXED + 3, "words without their end");
	rq.argc = 0;
	refused(rq, sizeof rq, ZY_FIXED + 3, "no word");
}

static void test_group_directory(void)
{
	struct zy_request rq = good();
	int reads[ZY_FDS_MAX];
	rq.cgdir = 1;
	CHECK(send_request(&rq, sizeof rq, ZY_FIXED + 4, reads) == 0);
	CHECK(zy_next(sv[1]) == 1);
	rq.magic = 0;	/* refused: the one before it is closed too */
	int more[1];
	CHECK(send_request(&rq, sizeof rq, 1, more) == 0);
	CHECK(zy_next(sv[1]) == 2);
	CHECK(all_closed(reads, ZY_FIXED + 4));
	CHECK(all_closed(more, 1));
}

static void test_end(void)
{
	close(sv[0]);
	CHECK(zy_next(sv[1]) == 0);
}

int main(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return 1;
	UNIT_RUN(test_good_request);
	UNIT_RUN(test_refused);
	UNIT_RUN(test_group_directory);
	UNIT_RUN(test_end);
	return unit_finish();
}
