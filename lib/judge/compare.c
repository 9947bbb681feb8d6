#include "judge/compare.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sbuf.h"
#include "core/util.h"
#include "judge/jcanon.h"

static const char *const type_names[] = {
	[CMP_EXACT] = "exact",
	[CMP_TRIMMED] = "trimmed",
	[CMP_TOKENS] = "tokens",
	[CMP_FLOAT] = "float",
	[CMP_JSON] = "json",
	[CMP_UNORDERED] = "unordered",
	[CMP_JQ] = "jq",
};

enum { N_TYPES = sizeof type_names / sizeof type_names[0] };

const char *cmp_type_name(enum cmp_type t)
{
	return (unsigned)t < N_TYPES ? type_names[t] : "unknown";
}

static int type_from_name(const char *name, enum cmp_type *out)
{
	for (unsigned i = 0; i < N_TYPES; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum cmp_type)i;
			return 0;
		}
	}
	return -1;
}

/* ---- text comparators ---- */

static int is_space(char c)
{
	return isspace((unsigned char)c);
}

/* The text with each line's trailing white space (CR included) removed,
 * then leading and trailing white space of the whole removed.
 * Returns a new string; the caller frees. */
static char *trim_text(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n + 1);
	for (const char *line = s;;) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *e = end;
		while (e > line && is_space(e[-1]))
			e--;
		memcpy(out + o, line, (size_t)(e - line));
		o += (size_t)(e - line);
		if (nl == NULL)
			break;
		out[o++] = '\n';
		line = nl + 1;
	}
	while (o > 0 && is_space(out[o - 1]))
		o--;
	out[o] = '\0';
	size_t lead = strspn(out, " \t\n\v\f\r");
	memmove(out, out + lead, o - lead + 1);
	return out;
}

static enum cmp_outcome check_trimmed(const char *actual, const char *expected)
{
	char *a = trim_text(actual), *e = trim_text(expected);
	int same = strcmp(a, e) == 0;
	free(a);
	free(e);
	return same ? CMP_PASS : CMP_FAIL;
}

/* Advances *p past white space to the next token; returns its length
 * (0 at the end of the text) and leaves *p at its start. */
static size_t next_token(const char **p)
{
	while (is_space(**p))
		(*p)++;
	size_t n = 0;
	while ((*p)[n] && !is_space((*p)[n]))
		n++;
	return n;
}

static double token_value(const char *t, size_t n)
{
	char *copy = xstrndup(t, n);
	double v = strtod(copy, NULL);
	free(copy);
	return v;
}

/* Two numbers within the absolute or relative epsilon. */
static int close_enough(double x, double y, double epsilon)
{
	if (x == y)
		return 1;	/* the same infinity */
	if (isinf(x) || isinf(y))
		return 0;	/* else the relative bound would be infinite too */
	double diff = fabs(x - y);
	return diff <= epsilon || diff <= epsilon * fmax(fabs(x), fabs(y));
}

/* Equal tokens, or two decimal numbers ([+-]digits[.digits][e[+-]digits])
 * of equal value: two integers exactly, whatever their size (as doubles
 * 2^53 + 1 would pass for 2^53), others within the epsilon. */
static int tokens_match(const char *a, size_t an, const char *b, size_t bn,
			double epsilon)
{
	struct sbuf x = {0}, y = {0};
	int ia, ib, same;
	if (an == bn && memcmp(a, b, an) == 0)
		return 1;
	if (epsilon < 0 || jcanon_decimal(a, an, &x, &ia) != 0 || jcanon_decimal(b, bn, &y, &ib) != 0)
		same = 0;
	else if (ia && ib)
		same = jcanon_same(&x, &y);
	else
		same = close_enough(token_value(a, an), token_value(b, bn), epsilon);
	free(x.p);
	free(y.p);
	return same;
}

/* Token by token; epsilon < 0 asks for equal tokens only. */
static enum cmp_outcome check_tokens(const char *a, const char *b, double epsilon)
{
	for (;;) {
		size_t an = next_token(&a), bn = next_token(&b);
		if (an == 0 || bn == 0)
			return an == bn ? CMP_PASS : CMP_FAIL;
		if (!tokens_match(a, an, b, bn, epsilon))
			return CMP_FAIL;
		a += an;
		b += bn;
	}
}

/* ---- JSON comparators (exact values: jcanon.h) ---- */

/* The form of the expected text, then of the actual one: an expected text
 * that is not JSON is the comparator's error, an actual one the program's. */
static enum cmp_outcome forms(const char *actual, const char *expected,
			      struct sbuf *a, struct sbuf *e, char **why)
{
	if (jcanon(expected, strlen(expected), e) != 0) {
		*why = xstrdup("expected output is not JSON");
		return CMP_ERROR;
	}
	return jcanon(actual, strlen(actual), a) == 0 ? CMP_PASS : CMP_FAIL;
}

static enum cmp_outcome check_json(const char *actual, const char *expected,
				   char **why)
{
	struct sbuf a = {0}, e = {0};
	enum cmp_outcome r = forms(actual, expected, &a, &e, why);
	if (r == CMP_PASS && !jcanon_same(&a, &e))
		r = CMP_FAIL;
	free(a.p);
	free(e.p);
	return r;
}

static int by_form(const void *x, const void *y)
{
	const struct sbuf *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);
	if (c == 0 && a->len != b->len)
		c = a->len < b->len ? -1 : 1;
	return c;
}

static void free_forms(struct sbuf *el, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(el[i].p);
	free(el);
}

/* Equal as multisets: the sorted forms of the elements are equal. */
static int same_multiset(struct sbuf *a, size_t an, struct sbuf *e, size_t en)
{
	if (an != en)
		return 0;
	if (an < 2)
		return an == 0 || jcanon_same(&a[0], &e[0]);
	qsort(a, an, sizeof *a, by_form);
	qsort(e, en, sizeof *e, by_form);
	for (size_t i = 0; i < an; i++)
		if (!jcanon_same(&a[i], &e[i]))
			return 0;
	return 1;
}

static enum cmp_outcome check_unordered(const char *actual, const char *expected,
					char **why)
{
	struct sbuf *a = NULL, *e = NULL;
	size_t an = 0, en = 0;
	enum cmp_outcome r = CMP_PASS;
	int rc = jcanon_elements(expected, strlen(expected), &e, &en);
	if (rc != 0) {
		*why = xstrdup(rc == -1 ? "expected output is not JSON"
					: "expected output is not a JSON array");
		r = CMP_ERROR;
	} else if (jcanon_elements(actual, strlen(actual), &a, &an) != 0 ||
		   !same_multiset(a, an, e, en)) {
		r = CMP_FAIL;
	}
	free_forms(a, an);
	free_forms(e, en);
	return r;
}

/* ---- jq ---- */

/* jq error callback: appends the message to the sbuf in data. */
static void jq_collect(void *data, jv msg)
{
	struct sbuf *b = data;
	msg = jq_format_error(msg);
	if (b->len > 0)
		sbuf_put(b, "; ", 2);
	const char *s = jv_string_value(msg);
	sbuf_put(b, s, strlen(s));
	jv_free(msg);
}

/* The user's program sees null as input and $actual, $expected bound; the
 * newlines keep a trailing comment in expr from eating the parenthesis,
 * and the parentheses keep `import` out. */
static int jq_setup(struct cmp *c, const char *expr, char **err)
{
	struct sbuf msgs = {0};
	char *prog = xasprintf(". as [$actual, $expected] | null | (\n%s\n)", expr);
	c->jq = jq_init();
	if (c->jq == NULL)
		die(EXIT_TEMPORARY, "out of memory starting jq");
	jq_set_error_cb(c->jq, jq_collect, &msgs);
	int ok = jq_compile(c->jq, prog);
	jq_set_error_cb(c->jq, NULL, NULL);
	free(prog);
	if (!ok) {
		*err = xasprintf("jq expression does not compile: %s",
				 msgs.p ? msgs.p : "syntax error");
		jq_teardown(&c->jq);
	}
	free(msgs.p);
	return ok ? 0 : -1;
}

static int parse_epsilon(struct cmp *c, const cJSON *v, char **err)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0) {
		*err = xstrdup("compare.epsilon must be a finite number >= 0");
		return -1;
	}
	c->epsilon = v->valuedouble;
	return 0;
}

/* Checks that obj has no member other than "type" and `allowed`. */
static int only_keys(const cJSON *obj, const char *allowed, char **err)
{
	for (const cJSON *it = obj->child; it; it = it->next) {
		if (strcmp(it->string, "type") == 0 ||
		    (allowed && strcmp(it->string, allowed) == 0))
			continue;
		*err = xasprintf("compare has an unknown field \"%s\"", it->string);
		return -1;
	}
	return 0;
}

/* {"type": name, ...}: the fields each type takes. */
static int init_object(struct cmp *c, const cJSON *spec, char **err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(spec, "type");
	if (!cJSON_IsString(type)) {
		*err = xstrdup("compare.type must be a string");
		return -1;
	}
	if (type_from_name(type->valuestring, &c->type) != 0) {
		*err = xasprintf("unknown comparator \"%s\"", type->valuestring);
		return -1;
	}
	if (c->type == CMP_FLOAT) {
		const cJSON *eps = cJSON_GetObjectItemCaseSensitive(spec, "epsilon");
		if (only_keys(spec, "epsilon", err) != 0)
			return -1;
		return eps ? parse_epsilon(c, eps, err) : 0;
	}
	if (c->type == CMP_JQ) {
		const cJSON *expr = cJSON_GetObjectItemCaseSensitive(spec, "expr");
		if (only_keys(spec, "expr", err) != 0)
			return -1;
		if (!cJSON_IsString(expr) || expr->valuestring[0] == '\0') {
			*err = xstrdup("the jq comparator needs a non-empty \"expr\"");
			return -1;
		}
		return jq_setup(c, expr->valuestring, err);
	}
	return only_keys(spec, NULL, err);
}

int cmp_init(struct cmp *c, const cJSON *spec, enum cmp_type dflt, char **err)
{
	memset(c, 0, sizeof *c);
	c->type = dflt;
	c->epsilon = CMP_EPSILON_DEFAULT;
	c->jq_timeout_ms = CMP_JQ_TIMEOUT_MS;
	*err = NULL;
	if (spec == NULL || cJSON_IsNull(spec))
		return 0;
	if (cJSON_IsObject(spec))
		return init_object(c, spec, err);
	if (!cJSON_IsString(spec)) {
		*err = xstrdup("compare must be a string or an object");
		return -1;
	}
	if (type_from_name(spec->valuestring, &c->type) != 0) {
		*err = xasprintf("unknown comparator \"%s\"", spec->valuestring);
		return -1;
	}
	if (c->type == CMP_JQ) {
		*err = xstrdup("the jq comparator needs an object {\"type\":\"jq\",\"expr\":...}");
		return -1;
	}
	return 0;
}

void cmp_free(struct cmp *c)
{
	if (c->jq)
		jq_teardown(&c->jq);
}

enum { JQ_MSG_CAP = 1024 };

static jv jq_operand(const char *text, enum cmp_operands ops)
{
	return ops == CMP_AS_JSON ? jv_parse(text) : jv_string(text);
}

/* Text of a jq error value (consumed); the caller frees. */
static char *jq_error_text(jv msg)
{
	if (jv_get_kind(msg) != JV_KIND_STRING)
		msg = jv_dump_string(msg, 0);
	char *s = xasprintf("jq error: %s", jv_string_value(msg));
	jv_free(msg);
	return s;
}

/* Starts the program on input (consumed) and takes its first output only:
 * `true` passes; anything else, an error or no output at all fails. */
static enum cmp_outcome jq_first_output(jq_state *jq, jv input, char **why)
{
	jq_start(jq, input, 0);
	jv out = jq_next(jq);
	if (jv_get_kind(out) == JV_KIND_TRUE) {
		jv_free(out);
		return CMP_PASS;
	}
	if (jv_is_valid(out)) {
		jv_free(out);
		return CMP_FAIL;
	}
	jv msg = jv_invalid_get_msg(out);
	if (jv_get_kind(msg) == JV_KIND_NULL) {
		jv_free(msg);
		*why = xstrdup("jq expression gave no output");
	} else {
		*why = jq_error_text(msg);
	}
	return CMP_FAIL;
}

/* The evaluating child gets no terminal to print on (jq's `stderr`,
 * `debug`) and a cap on memory. ASan reserves terabytes of address space,
 * so the cap is left out of sanitized builds. */
static void jq_child_setup(void)
{
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		dup2(null, fd);
#if defined(__SANITIZE_ADDRESS__)
	return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return;
#endif
#endif
	struct rlimit rl = {
		.rlim_cur = (rlim_t)CMP_JQ_MEMORY_MB << 20,
		.rlim_max = (rlim_t)CMP_JQ_MEMORY_MB << 20,
	};
	setrlimit(RLIMIT_AS, &rl);
}

/* Runs in the child: one evaluation, answered on fd as the outcome digit
 * followed by the message, if any. */
__attribute__((noreturn))
static void jq_child(jq_state *jq, const char *actual, const char *expected,
		     enum cmp_operands ops, int fd)
{
	char *why = NULL;
	enum cmp_outcome r;
	jq_child_setup();
	jv a = jq_operand(actual, ops), e = jq_operand(expected, ops);
	if (!jv_is_valid(e)) {
		r = CMP_ERROR;
		why = xstrdup("expected output is not JSON");
	} else if (!jv_is_valid(a)) {
		r = CMP_FAIL;
		why = xstrdup("actual output is not JSON");
	} else {
		r = jq_first_output(jq, jv_array_append(jv_array_append(jv_array(),
			jv_copy(a)), jv_copy(e)), &why);
	}
	jv_free(a);
	jv_free(e);
	char answer[1 + JQ_MSG_CAP];
	int n = snprintf(answer, sizeof answer, "%d%s", (int)r, why ? why : "");
	if (n > (int)sizeof answer - 1)
		n = (int)sizeof answer - 1;
	_exit(write_all(fd, answer, (size_t)n) == 0 ? 0 : 1);
}

/* Reads fd until end of file or until timeout_ms passed. Returns the bytes
 * read (at most cap), or -1 on timeout. */
static ssize_t read_with_deadline(int fd, char *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = now_mono_ms() + timeout_ms;
	size_t got = 0;
	for (;;) {
		int64_t left = deadline - now_mono_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0)
			return -1;
		int p = poll(&pfd, 1, (int)left);
		if (p < 0 && errno == EINTR)
			continue;
		if (p == 0)
			return -1;
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == cap)
			return (ssize_t)got;
	}
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Turns the child's answer (or its silence) into an outcome. */
static enum cmp_outcome jq_answer(const char *buf, ssize_t got, int status,
				  int timeout_ms, char **why)
{
	if (got < 0) {
		*why = xasprintf("jq expression ran longer than %d ms", timeout_ms);
		return CMP_ERROR;
	}
	if (got == 0 || buf[0] < '0' || buf[0] > '0' + CMP_ERROR) {
		if (WIFSIGNALED(status))
			*why = xasprintf("jq evaluation died of signal %d (memory cap %d MiB?)",
					 WTERMSIG(status), CMP_JQ_MEMORY_MB);
		else
			*why = xstrdup("jq evaluation gave no answer");
		return CMP_ERROR;
	}
	if (got > 1)
		*why = xstrndup(buf + 1, (size_t)got - 1);
	return (enum cmp_outcome)(buf[0] - '0');
}

/* jq 1.6 has no way to interrupt a running program, so each evaluation
 * runs in a forked child that is killed at the deadline. */
static enum cmp_outcome check_jq(const struct cmp *c, const char *actual,
				 const char *expected, enum cmp_operands ops,
				 char **why)
{
	int fds[2], status = 0;
	char buf[1 + JQ_MSG_CAP];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		*why = xasprintf("cannot run jq: pipe: %s", strerror(errno));
		return CMP_ERROR;
	}
	fflush(NULL);	/* nothing buffered may be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		*why = xasprintf("cannot run jq: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CMP_ERROR;
	}
	if (pid == 0) {
		close(fds[0]);
		jq_child(c->jq, actual, expected, ops, fds[1]);
	}
	close(fds[1]);
	ssize_t got = read_with_deadline(fds[0], buf, sizeof buf, c->jq_timeout_ms);
	close(fds[0]);
	if (got < 0)
		kill(pid, SIGKILL);
	reap(pid, &status);
	return jq_answer(buf, got, status, c->jq_timeout_ms, why);
}

int cmp_expected_ok(const struct cmp *c, enum cmp_operands ops, const char *expected,
		    char **why)
{
	struct sbuf *el = NULL;
	size_t n = 0;
	int rc = 0;
	*why = NULL;
	if (c->type == CMP_UNORDERED) {
		rc = jcanon_elements(expected, strlen(expected), &el, &n);
		free_forms(el, n);
		if (rc != 0)
			*why = xstrdup(rc == -1 ? "not JSON, which the unordered comparator needs"
						: "not a JSON array, which the unordered comparator needs");
	} else if (c->type == CMP_JSON || (c->type == CMP_JQ && ops == CMP_AS_JSON)) {
		struct sbuf form = {0};
		rc = jcanon(expected, strlen(expected), &form);
		free(form.p);
		if (rc != 0)
			*why = xasprintf("not JSON, which the %s comparator needs", cmp_type_name(c->type));
	}
	return rc == 0 ? 0 : -1;
}

enum cmp_outcome cmp_check(const struct cmp *c, const char *actual,
			   const char *expected, enum cmp_operands ops,
			   char **why)
{
	*why = NULL;
	switch (c->type) {
	case CMP_EXACT:
		return strcmp(actual, expected) == 0 ? CMP_PASS : CMP_FAIL;
	case CMP_TRIMMED:
		return check_trimmed(actual, expected);
	case CMP_TOKENS:
		return check_tokens(actual, expected, -1);
	case CMP_FLOAT:
		return check_tokens(actual, expected, c->epsilon);
	case CMP_JSON:
		return check_json(actual, expected, why);
	case CMP_UNORDERED:
		return check_unordered(actual, expected, why);
	case CMP_JQ:
		return check_jq(c, actual, expected, ops, why);
	}
	*why = xstrdup("unknown comparator");
	return CMP_ERROR;
}
