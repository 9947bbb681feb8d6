/* util: the die/warn vocabulary, allocate-or-die, strict number parsing. */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses shared by every program (DESIGN.md section 5). */
enum exit_status {
	EXIT_OK = 0,
	EXIT_PERMANENT = 100,	/* usage, bad configuration */
	EXIT_TEMPORARY = 111,	/* a dependency is unreachable */
};

/* The program name used in messages; set once by util_init(). */
extern const char *util_prog;

/* Records the program name, checks that fds 0-2 are open (opening
 * /dev/null on any that is not), and ignores SIGPIPE so a closed pipe
 * shows up as EPIPE where it can be handled. */
void util_init(const char *prog);

/* The message, then the fatal hook (if any), then exit(status). The
 * message goes through the reporter when one is set (log.c's: the
 * configured log format), else as "prog: fatal: <message>" on stderr. */
void die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Same with ": strerror(errno)" appended. */
void die_sys(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* The message as a warning: the reporter's, else "prog: warning: ...". */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The one fatal path: log_init() sets the reporter (fatal is 1 for die(),
 * 0 for warn()); otel_init() sets the hook that sends what telemetry is
 * unsent before die() exits. NULL takes either back. */
void util_set_reporter(void (*report)(int fatal, const char *msg));
void util_set_fatal_hook(void (*hook)(void));

/* Every program's answer to -h/--help (text on stdout), -V/--version
 * ("prog VERSION" on stdout), both exit 0, and to a command line it
 * cannot take: text on stderr, then die(EXIT_PERMANENT) with why. */
void usage_help(const char *text) __attribute__((noreturn));
void usage_version(void) __attribute__((noreturn));
void usage_error(const char *text, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* Allocate or die (the one out-of-memory policy). Callers free. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh buffer; the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats a path into out[len] as snprintf does. Returns 0, or -1 with
 * errno ENAMETOOLONG and out "" when it would not fit: a path cut short
 * names another file or group, so its caller fails instead of acting on
 * it. The one way paths are built (gcc's -Wformat-truncation is on). */
int path_fmt(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses a whole decimal string into [min, max]. Returns 0 on success,
 * -1 on garbage, trailing characters, or a value out of range. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* A command-line or environment number in [min, max], or die with exit
 * 100: "name: 'v' is not a number in min..max". For programs' main.c. */
long arg_number(const char *name, const char *v, long min, long max);

/* Decodes the %XX escapes of s[0..n). Returns a fresh string (the caller
 * frees), or NULL for a bad escape or an escaped NUL. */
char *percent_decode(const char *s, size_t n);

/* Monotonic clock in milliseconds (and microseconds), wall clock in
 * milliseconds. */
int64_t now_mono_ms(void);
int64_t now_mono_us(void);
int64_t now_wall_ms(void);
uint64_t now_unix_ns(void);	/* the wall clock in nanoseconds */

/* Reads exactly size bytes from fd into a fresh buffer (NUL-terminated;
 * the caller frees). Returns NULL if fewer bytes came (errno set on a read
 * error). */
char *read_exact(int fd, size_t size);

/* write(2) all of buf, retrying on EINTR and short writes. Returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);

/* Whether the n bytes at p are all zero. Returns 1 or 0. */
int mem_is_zero(const void *p, size_t n);

/* The directory of the running program (/proc/self/exe), malloc'd; "."
 * when it cannot be read. */
char *exe_dir(void);

#endif
