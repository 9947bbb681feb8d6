#include "compare.h"

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

#include "sbuf.h"
#include "util.h"

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

/* A decimal number, whole: [+-] digits [. digits] [e [+-] digits]. */
static int numeric_token(const char *t, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (t[i] == '+' || t[i] == '-'))
		i++;
	for (; i < n && isdigit((unsigned char)t[i]); i++)
		digits++;
	if (i < n && t[i] == '.')
		for (i++; i < n && isdigit((unsigned char)t[i]); i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		size_t exp = 0;
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		for (; i < n && isdigit((unsigned char)t[i]); i++)
			exp++;
		if (exp == 0)
			return 0;
	}
	return i == n;
}

static double token_value(const char *t, size_t n)
{
	char *copy = xstrndup(t, n);
	double v = strtod(copy, NULL);
	free(copy);
	return v;
}

/* Equal tokens, or two numbers within the absolute or relative epsilon. */
static int tokens_match(const char *a, size_t an, const char *b, size_t bn,
			double epsilon)
{
	if (an == bn && memcmp(a, b, an) == 0)
		return 1;
	if (epsilon < 0 || !numeric_token(a, an) || !numeric_token(b, bn))
		return 0;
	double x = token_value(a, an), y = token_value(b, bn);
	if (x == y)
		return 1;	/* the same infinity */
	if (isinf(x) || isinf(y))
		return 0;	/* else the relative bound would be infinite too */
	double diff = fabs(x - y);
	return diff <= epsilon || diff <= epsilon * fmax(fabs(x), fabs(y));
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

/* ---- JSON comparators ---- */

static void canon_string(struct sbuf *b, const char *s)
{
	sbuf_put(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_put(b, "\\", 1);
		sbuf_put(b, s, 1);
	}
	sbuf_put(b, "\"", 1);
}

static void canon_value(struct sbuf *b, const cJSON *v);

static int by_string(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Members as "key":value texts, sorted, so key order does not matter. */
static void canon_object(struct sbuf *b, const cJSON *obj)
{
	size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
	char **members = xcalloc(n, sizeof *members);
	for (const cJSON *it = obj->child; it; it = it->next) {
		struct sbuf m = {0};
		canon_string(&m, it->string ? it->string : "");
		sbuf_put(&m, ":", 1);
		canon_value(&m, it);
		members[i++] = m.p;
	}
	qsort(members, n, sizeof *members, by_string);
	sbuf_put(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_put(b, ",", 1);
		sbuf_put(b, members[i], strlen(members[i]));
		free(members[i]);
	}
	sbuf_put(b, "}", 1);
	free(members);
}

static void canon_value(struct sbuf *b, const cJSON *v)
{
	char num[40];
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble == 0 ? 0 : v->valuedouble;	/* -0 == 0 */
		snprintf(num, sizeof num, "%.17g", d);
		sbuf_put(b, num, strlen(num));
	} else if (cJSON_IsString(v)) {
		canon_string(b, v->valuestring);
	} else if (cJSON_IsArray(v)) {
		sbuf_put(b, "[", 1);
		for (const cJSON *it = v->child; it; it = it->next) {
			canon_value(b, it);
			if (it->next)
				sbuf_put(b, ",", 1);
		}
		sbuf_put(b, "]", 1);
	} else if (cJSON_IsObject(v)) {
		canon_object(b, v);
	} else if (cJSON_IsTrue(v)) {
		sbuf_put(b, "true", 4);
	} else if (cJSON_IsFalse(v)) {
		sbuf_put(b, "false", 5);
	} else {
		sbuf_put(b, "null", 4);
	}
}

/* A canonical text of v: equal texts iff equal JSON values. Caller frees. */
static char *canon(const cJSON *v)
{
	struct sbuf b = {0};
	sbuf_put(&b, "", 0);
	canon_value(&b, v);
	return b.p;
}

int cmp_json_equal(const cJSON *a, const cJSON *b)
{
	char *x = canon(a), *y = canon(b);
	int same = strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

/* Parses both texts; a bad expected text is the comparator's error. */
static enum cmp_outcome parse_pair(const char *actual, const char *expected,
				   cJSON **a, cJSON **e, char **why)
{
	*a = NULL;
	*e = cJSON_ParseWithOpts(expected, NULL, 1);
	if (*e == NULL) {
		*why = xstrdup("expected output is not JSON");
		return CMP_ERROR;
	}
	*a = cJSON_ParseWithOpts(actual, NULL, 1);
	return *a ? CMP_PASS : CMP_FAIL;
}

static enum cmp_outcome check_json(const char *actual, const char *expected,
				   char **why)
{
	cJSON *a, *e;
	enum cmp_outcome r = parse_pair(actual, expected, &a, &e, why);
	if (r == CMP_PASS && !cmp_json_equal(a, e))
		r = CMP_FAIL;
	cJSON_Delete(a);
	cJSON_Delete(e);
	return r;
}

/* Canonical texts of an array's elements, sorted. Caller frees each and all. */
static char **sorted_elements(const cJSON *arr, size_t *n)
{
	size_t i = 0;
	*n = (size_t)cJSON_GetArraySize(arr);
	char **el = xcalloc(*n, sizeof *el);
	for (const cJSON *it = arr->child; it; it = it->next)
		el[i++] = canon(it);
	qsort(el, *n, sizeof *el, by_string);
	return el;
}

static void free_elements(char **el, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(el[i]);
	free(el);
}

static int same_multiset(const cJSON *a, const cJSON *e)
{
	size_t an, en;
	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(e))
		return 0;
	char **x = sorted_elements(a, &an), **y = sorted_elements(e, &en);
	int same = 1;
	for (size_t i = 0; i < an && same; i++)
		same = strcmp(x[i], y[i]) == 0;
	free_elements(x, an);
	free_elements(y, en);
	return same;
}

static enum cmp_outcome check_unordered(const char *actual, const char *expected,
					char **why)
{
	cJSON *a, *e;
	enum cmp_outcome r = parse_pair(actual, expected, &a, &e, why);
	if (r == CMP_PASS && !cJSON_IsArray(e)) {
		*why = xstrdup("expected output is not a JSON array");
		r = CMP_ERROR;
	} else if (r == CMP_PASS && !(cJSON_IsArray(a) && same_multiset(a, e))) {
		r = CMP_FAIL;
	}
	cJSON_Delete(a);
	cJSON_Delete(e);
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
