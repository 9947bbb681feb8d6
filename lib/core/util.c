#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *util_prog = "codex";

void util_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');
	util_prog = slash ? slash + 1 : prog;
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
			int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (nfd != fd)
				_exit(EXIT_PERMANENT);
		}
	}
	signal(SIGPIPE, SIG_IGN);
}

static void (*reporter)(int fatal, const char *msg);
static void (*fatal_hook)(void);

void util_set_reporter(void (*report)(int fatal, const char *msg))
{
	reporter = report;
}

void util_set_fatal_hook(void (*hook)(void))
{
	fatal_hook = hook;
}

static void vreport(int fatal, const char *fmt, va_list ap, int err)
{
	char msg[1024];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (err && n >= 0 && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(err));
	if (reporter)
		reporter(fatal, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", util_prog, fatal ? "fatal" : "warning", msg);
}

static void __attribute__((noreturn)) fatal_exit(int status)
{
	/* Taken once: a die() inside the hook, or in another thread at the
	 * same time, exits without it. */
	void (*hook)(void) = __atomic_exchange_n(&fatal_hook, NULL, __ATOMIC_SEQ_CST);
	if (hook)
		hook();
	exit(status);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(1, fmt, ap, 0);
	va_end(ap);
	fatal_exit(status);
}

void die_sys(int status, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(1, fmt, ap, err);
	va_end(ap);
	fatal_exit(status);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(0, fmt, ap, 0);
	va_end(ap);
}

void warn_sys(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(0, fmt, ap, err);
	va_end(ap);
}

#ifndef CODEX_VERSION
#define CODEX_VERSION "0"
#endif

void usage_help(const char *text)
{
	fputs(text, stdout);
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_TEMPORARY);
}

void usage_version(void)
{
	printf("%s %s\n", util_prog, CODEX_VERSION);
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_TEMPORARY);
}

void usage_error(const char *text, const char *fmt, ...)
{
	va_list ap;
	fputs(text, stderr);
	va_start(ap, fmt);
	vreport(1, fmt, ap, 0);
	va_end(ap);
	fatal_exit(EXIT_PERMANENT);
}

static void *oom(void)
{
	/* Only async-signal-safe calls: we may be short of memory for stdio. */
	static const char msg[] = ": fatal: out of memory\n";
	if (write(2, util_prog, strlen(util_prog)) < 0 || write(2, msg, sizeof msg - 1) < 0)
		_exit(EXIT_TEMPORARY);
	_exit(EXIT_TEMPORARY);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom();
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	return p ? p : oom();
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	return p ? p : oom();
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? oom() : s;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	/* strtoll would skip blanks and take a '+': a strict number has neither. */
	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-'))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

long arg_number(const char *name, const char *v, long min, long max)
{
	int64_t n;
	if (parse_i64(v, min, max, &n) != 0)
		die(EXIT_PERMANENT, "%s: '%s' is not a number in %ld..%ld", name, v, min, max);
	return (long)n;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t now_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

int64_t now_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t now_unix_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *read_exact(int fd, size_t size)
{
	char *buf = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *percent_decode(const char *s, size_t n)
{
	char *d = xmalloc(n + 1), *o = d;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		hi = hex_value(s[i + 1]);
		lo = hex_value(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			goto bad;
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return d;
bad:
	free(d);
	return NULL;
}

int mem_is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int path_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		return 0;
	if (len > 0)
		out[0] = '\0';
	errno = ENAMETOOLONG;
	return -1;
}

char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return xstrdup(".");
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(buf);
}
