#include "otel/otel.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "otel/otlp.h"

#ifndef CODEX_VERSION
#define CODEX_VERSION "0"
#endif

enum {
	METRIC_KEY_MAX = 64,
	METRIC_VALUE_MAX = 128,
	EXPORT_ATTEMPTS = 5,		/* then the batch is dropped */
};

static const char SCOPE_NAME[] = "codex-exec";

const double otel_ms_bounds[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
const size_t otel_ms_nbounds = sizeof otel_ms_bounds / sizeof otel_ms_bounds[0];

/* ---- small helpers ---- */

/* A SplitMix64 step: the fallback when getrandom() fails, and the
 * exporter's jitter. */
static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* n random bytes, not all zero (an all-zero id is invalid). */
static void random_id(uint8_t *p, size_t n)
{
	static atomic_uint_fast64_t fallback;
	do {
		size_t got = 0;
		while (got < n) {
			ssize_t r = getrandom(p + got, n - got, 0);
			if (r > 0)
				got += (size_t)r;
			else if (r < 0 && errno == EINTR)
				continue;
			else
				break;
		}
		for (size_t i = got; i < n; i++) {
			uint64_t st = atomic_fetch_add(&fallback, 1) ^ now_unix_ns() ^
				      (uint64_t)getpid() << 32;
			p[i] = (uint8_t)splitmix(&st);
		}
	} while (mem_is_zero(p, n));
}

/* ---- the shared state ---- */

enum instrument {
	INSTR_COUNTER,
	INSTR_UPDOWN,
	INSTR_GAUGE,
	INSTR_HISTOGRAM,
};

/* One attribute set of an instrument and its value. Allocated once and
 * never moved, so that an export may borrow its attributes unlocked. */
struct series {
	struct otelpb_kv attrs[OTEL_METRIC_ATTRS];	/* sorted by key */
	size_t nattrs;
	uint64_t start_ns;
	int64_t value;				/* sums, gauges */
	uint64_t count;				/* histograms */
	double sum, min, max;
	uint64_t *buckets;			/* nbounds + 1 */
};

struct otel_metric {
	struct otel_metric *next;
	unsigned epoch;				/* g.epoch when made */
	enum instrument kind;
	char *name, *unit, *description;
	double *bounds;
	size_t nbounds;
	struct series **series;
	size_t nseries;
	struct series *overflow;
};

struct otel_span {
	struct otelpb_span pb;
	uint8_t flags;
};

/* Everything below g.mu; `tracing` and `measuring` are read without it on
 * the callers' paths. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;		/* the exporter: work, or stop */
	int running;			/* the exporter thread exists */
	int stop;			/* otel_shutdown() asked */
	int64_t deadline;		/* then: mono ms to be done by */
	unsigned epoch;			/* changes at each otel_init() and fork */
	pid_t pid;			/* of the process that started the thread */
	struct otel_config conf;
	struct otelpb_resource res;
	struct otel_span **queue;	/* ring of conf.bsp_queue */
	size_t qhead, qlen;
	struct otel_metric *instruments;
	struct otel_metric *dropped;	/* otel.exporter.dropped */
	struct otel_stats stats;
	pthread_t thread;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static atomic_int tracing, measuring;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---- metrics ---- */

/* Attributes as they will be stored: cleaned, cut, sorted by key. */
struct attr_set {
	size_t n, order[OTEL_METRIC_ATTRS];
	char key[OTEL_METRIC_ATTRS][METRIC_KEY_MAX + 1];
	char value[OTEL_METRIC_ATTRS][METRIC_VALUE_MAX + 1];
};

static void attr_set_make(struct attr_set *a, const struct otel_attr *attrs, size_t nattrs)
{
	a->n = 0;
	for (size_t i = 0; i < nattrs && a->n < OTEL_METRIC_ATTRS; i++) {
		size_t slot = a->n, j = a->n;
		if (attrs[i].key == NULL)
			continue;
		utf8_copy(a->key[slot], sizeof a->key[slot], attrs[i].key);
		utf8_copy(a->value[slot], sizeof a->value[slot], attrs[i].value ? attrs[i].value : "");
		while (j > 0 && strcmp(a->key[a->order[j - 1]], a->key[slot]) > 0) {
			a->order[j] = a->order[j - 1];
			j--;
		}
		a->order[j] = slot;
		a->n++;
	}
}

static int series_is(const struct series *s, const struct attr_set *a)
{
	if (s->nattrs != a->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(s->attrs[i].key, a->key[a->order[i]]) != 0 ||
		    strcmp(s->attrs[i].v.s, a->value[a->order[i]]) != 0)
			return 0;
	return 1;
}

static struct series *series_new(const struct otel_metric *m)
{
	struct series *s = xcalloc(1, sizeof *s);
	s->start_ns = now_unix_ns();
	if (m->kind == INSTR_HISTOGRAM)
		s->buckets = xcalloc(m->nbounds + 1, sizeof *s->buckets);
	return s;
}

/* The series of a in m, made when new (or the overflow series when m has
 * OTEL_METRIC_SERIES already). Under g.mu. */
static struct series *series_of(struct otel_metric *m, const struct attr_set *a)
{
	struct series *s;
	for (size_t i = 0; i < m->nseries; i++)
		if (series_is(m->series[i], a))
			return m->series[i];
	if (m->nseries == OTEL_METRIC_SERIES) {
		if (m->overflow == NULL) {
			m->overflow = s = series_new(m);
			s->attrs[0].key = xstrdup("otel.metric.overflow");
			s->attrs[0].type = OTELPB_BOOL;
			s->attrs[0].v.b = 1;
			s->nattrs = 1;
		}
		return m->overflow;
	}
	s = series_new(m);
	for (size_t i = 0; i < a->n; i++) {
		s->attrs[i].key = xstrdup(a->key[a->order[i]]);
		s->attrs[i].type = OTELPB_STRING;
		s->attrs[i].v.s = xstrdup(a->value[a->order[i]]);
	}
	s->nattrs = a->n;
	if (m->nseries % 8 == 0)
		m->series = xrealloc(m->series, (m->nseries + 8) * sizeof *m->series);
	m->series[m->nseries++] = s;
	return s;
}

static void series_free(struct series *s)
{
	for (size_t i = 0; i < s->nattrs; i++) {
		free(s->attrs[i].key);
		if (s->attrs[i].type == OTELPB_STRING)
			free(s->attrs[i].v.s);
	}
	free(s->buckets);
	free(s);
}

static void metric_free(struct otel_metric *m)
{
	for (size_t i = 0; i < m->nseries; i++)
		series_free(m->series[i]);
	if (m->overflow)
		series_free(m->overflow);
	free(m->series);
	free(m->name);
	free(m->unit);
	free(m->description);
	free(m->bounds);
	free(m);
}

static struct otel_metric *instrument(enum instrument kind, const char *name, const char *unit,
				      const char *description, const double *bounds,
				      size_t nbounds)
{
	struct otel_metric *m, **tail = &g.instruments;
	if (!atomic_load_explicit(&measuring, memory_order_relaxed) || name == NULL)
		return NULL;
	pthread_mutex_lock(&g.mu);
	for (m = g.instruments; m; tail = &m->next, m = m->next)
		if (m->kind == kind && strcmp(m->name, name) == 0)
			break;
	if (m == NULL) {
		m = xcalloc(1, sizeof *m);
		m->kind = kind;
		m->epoch = g.epoch;
		m->name = utf8_dup(name, OTEL_NAME_MAX);
		m->unit = utf8_dup(unit ? unit : "", OTEL_NAME_MAX);
		m->description = utf8_dup(description ? description : "", OTEL_VALUE_MAX);
		if (kind == INSTR_HISTOGRAM) {
			m->nbounds = nbounds;
			m->bounds = xmalloc((nbounds + 1) * sizeof *m->bounds);
			if (nbounds)
				memcpy(m->bounds, bounds, nbounds * sizeof *bounds);
		}
		*tail = m;	/* exported in the order they were made */
	}
	pthread_mutex_unlock(&g.mu);
	return m;
}

struct otel_metric *otel_counter(const char *name, const char *unit, const char *description)
{
	return instrument(INSTR_COUNTER, name, unit, description, NULL, 0);
}

struct otel_metric *otel_updown(const char *name, const char *unit, const char *description)
{
	return instrument(INSTR_UPDOWN, name, unit, description, NULL, 0);
}

struct otel_metric *otel_gauge(const char *name, const char *unit, const char *description)
{
	return instrument(INSTR_GAUGE, name, unit, description, NULL, 0);
}

struct otel_metric *otel_histogram(const char *name, const char *unit, const char *description,
				   const double *bounds, size_t nbounds)
{
	if (bounds == NULL) {
		bounds = otel_ms_bounds;
		nbounds = otel_ms_nbounds;
	}
	for (size_t i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	return instrument(INSTR_HISTOGRAM, name, unit, description, bounds, nbounds);
}

static void series_record(const struct otel_metric *m, struct series *s, double v)
{
	size_t b = 0;
	while (b < m->nbounds && v > m->bounds[b])
		b++;
	s->buckets[b]++;
	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count++;
	s->sum += v;
}

/* Whether m takes a measurement made as `kind` (otel_metric_add() stands
 * for counters and up-down counters); a counter only goes up. */
static int accepts(const struct otel_metric *m, enum instrument kind, int64_t n)
{
	if (m->kind == INSTR_UPDOWN)
		return kind == INSTR_COUNTER;
	if (m->kind == INSTR_COUNTER)
		return kind == INSTR_COUNTER && n >= 0;
	return m->kind == kind;
}

/* Applies one measurement: v to a histogram, n to the others. */
static void measure(struct otel_metric *m, enum instrument kind, int64_t n, double v,
		    const struct otel_attr *attrs, size_t nattrs)
{
	struct attr_set a;
	struct series *s;
	if (m == NULL || !atomic_load_explicit(&measuring, memory_order_relaxed))
		return;
	attr_set_make(&a, attrs, nattrs);
	pthread_mutex_lock(&g.mu);
	if (m->epoch == g.epoch && accepts(m, kind, n)) {
		s = series_of(m, &a);
		if (m->kind == INSTR_HISTOGRAM)
			series_record(m, s, v);
		else if (m->kind == INSTR_GAUGE)
			s->value = n;
		else
			s->value += n;
	}
	pthread_mutex_unlock(&g.mu);
}

void otel_metric_add(struct otel_metric *m, int64_t n, const struct otel_attr *attrs, size_t nattrs)
{
	measure(m, INSTR_COUNTER, n, 0, attrs, nattrs);
}

void otel_metric_set(struct otel_metric *m, int64_t v, const struct otel_attr *attrs, size_t nattrs)
{
	measure(m, INSTR_GAUGE, v, 0, attrs, nattrs);
}

void otel_metric_record(struct otel_metric *m, double v, const struct otel_attr *attrs,
			size_t nattrs)
{
	if (isfinite(v))
		measure(m, INSTR_HISTOGRAM, 0, v, attrs, nattrs);
}

/* Counts n dropped spans. Under g.mu. */
static void count_dropped(uint64_t n, const char *reason)
{
	const struct otel_attr attr = {"reason", reason};
	struct attr_set a;
	g.stats.spans_dropped += n;
	if (g.dropped == NULL)
		return;
	attr_set_make(&a, &attr, 1);
	series_of(g.dropped, &a)->value += (int64_t)n;
}

/* ---- spans ---- */

static void span_free(struct otel_span *s)
{
	for (size_t i = 0; i < s->pb.nattrs; i++) {
		free(s->pb.attrs[i].key);
		if (s->pb.attrs[i].type == OTELPB_STRING)
			free(s->pb.attrs[i].v.s);
	}
	free(s->pb.name);
	free(s->pb.trace_state);
	free(s->pb.status_message);
	free(s);
}

struct otel_span *otel_span_start(const char *name, enum otel_kind kind,
				  const struct tracectx *parent)
{
	return otel_span_start_at(name, kind, parent, 0);
}

struct otel_span *otel_span_start_at(const char *name, enum otel_kind kind,
				     const struct tracectx *parent, uint64_t start_unix_ns)
{
	struct otel_span *s;
	if (!atomic_load_explicit(&tracing, memory_order_relaxed))
		return NULL;
	s = xcalloc(1, sizeof *s);
	if (parent && tracectx_valid(parent)) {
		memcpy(s->pb.trace_id, parent->trace_id, sizeof s->pb.trace_id);
		memcpy(s->pb.parent_span_id, parent->span_id, sizeof s->pb.parent_span_id);
		s->flags = parent->flags & TRACECTX_SAMPLED;
		if (parent->trace_state[0])
			s->pb.trace_state = xstrndup(parent->trace_state, TRACECTX_STATE_MAX);
	} else {
		random_id(s->pb.trace_id, sizeof s->pb.trace_id);
		s->flags = TRACECTX_SAMPLED;
	}
	random_id(s->pb.span_id, sizeof s->pb.span_id);
	s->pb.name = utf8_dup(name ? name : "", OTEL_NAME_MAX);
	s->pb.kind = kind >= OTEL_INTERNAL && kind <= OTEL_CONSUMER ? (enum otelpb_span_kind)kind
								     : OTELPB_KIND_INTERNAL;
	s->pb.start_ns = start_unix_ns ? start_unix_ns : now_unix_ns();
	return s;
}

/* The attribute slot for key: the one holding key (its old value freed),
 * else a new one; NULL (counted) when the span is full. */
static struct otelpb_kv *span_attr(struct otel_span *s, const char *key)
{
	struct otelpb_kv *kv;
	if (s == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < s->pb.nattrs; i++) {
		kv = &s->pb.attrs[i];
		if (strcmp(kv->key, key) == 0) {
			if (kv->type == OTELPB_STRING)
				free(kv->v.s);
			return kv;
		}
	}
	if (s->pb.nattrs == OTELPB_SPAN_ATTRS) {
		s->pb.dropped_attrs++;
		return NULL;
	}
	kv = &s->pb.attrs[s->pb.nattrs++];
	kv->key = utf8_dup(key, OTEL_KEY_MAX);
	return kv;
}

void otel_span_set_str(struct otel_span *s, const char *key, const char *value)
{
	struct otelpb_kv *kv = value ? span_attr(s, key) : NULL;
	if (kv) {
		kv->type = OTELPB_STRING;
		kv->v.s = utf8_dup(value, OTEL_VALUE_MAX);
	}
}

void otel_span_set_int(struct otel_span *s, const char *key, int64_t value)
{
	struct otelpb_kv *kv = span_attr(s, key);
	if (kv) {
		kv->type = OTELPB_INT;
		kv->v.i = value;
	}
}

void otel_span_set_double(struct otel_span *s, const char *key, double value)
{
	struct otelpb_kv *kv = span_attr(s, key);
	if (kv) {
		kv->type = OTELPB_DOUBLE;
		kv->v.d = value;
	}
}

void otel_span_set_bool(struct otel_span *s, const char *key, int value)
{
	struct otelpb_kv *kv = span_attr(s, key);
	if (kv) {
		kv->type = OTELPB_BOOL;
		kv->v.b = value != 0;
	}
}

void otel_span_set_error(struct otel_span *s, const char *error_type, const char *message)
{
	if (s == NULL)
		return;
	s->pb.status = OTELPB_STATUS_ERROR;
	free(s->pb.status_message);
	s->pb.status_message = message ? utf8_dup(message, OTEL_VALUE_MAX) : NULL;
	if (error_type)
		otel_span_set_str(s, "error.type", error_type);
}

int otel_span_context(const struct otel_span *s, struct tracectx *out)
{
	if (s == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	memcpy(out->trace_id, s->pb.trace_id, sizeof out->trace_id);
	memcpy(out->span_id, s->pb.span_id, sizeof out->span_id);
	out->flags = s->flags;
	if (s->pb.trace_state)
		snprintf(out->trace_state, sizeof out->trace_state, "%s", s->pb.trace_state);
	return 0;
}

void otel_span_end(struct otel_span *s)
{
	otel_span_end_at(s, 0);
}

void otel_span_end_at(struct otel_span *s, uint64_t end_unix_ns)
{
	if (s == NULL)
		return;
	s->pb.end_ns = end_unix_ns ? end_unix_ns : now_unix_ns();
	/* A span never ends before it starts (collectors reject that). */
	if (s->pb.end_ns < s->pb.start_ns)
		s->pb.end_ns = s->pb.start_ns;
	if (!(s->flags & TRACECTX_SAMPLED) || !atomic_load_explicit(&tracing, memory_order_relaxed)) {
		span_free(s);
		return;
	}
	pthread_mutex_lock(&g.mu);
	if (!g.running || g.stop || !g.conf.traces.on) {
		pthread_mutex_unlock(&g.mu);
		span_free(s);
		return;
	}
	if (g.qlen == (size_t)g.conf.bsp_queue) {
		count_dropped(1, "queue_full");
		pthread_mutex_unlock(&g.mu);
		span_free(s);
		return;
	}
	g.queue[(g.qhead + g.qlen++) % (size_t)g.conf.bsp_queue] = s;
	if (g.qlen == (size_t)g.conf.bsp_batch)
		pthread_cond_signal(&g.wake);
	pthread_mutex_unlock(&g.mu);
}

void otel_stats(struct otel_stats *out)
{
	pthread_mutex_lock(&g.mu);
	*out = g.stats;
	out->running = g.running;
	pthread_mutex_unlock(&g.mu);
}

/* ---- the exporter ---- */

enum signal_kind {
	TRACES,
	METRICS,
};

struct exporter {
	struct otlp_client *client[2];	/* by signal; NULL: off, or curl could not make a handle */
	struct otelpb body;
	int failing[2];			/* by signal: the failure was logged */
	uint64_t jitter;
	struct otel_span **batch;
	struct otelpb_span **pbs;
};

static void exporter_open(struct exporter *x)
{
	memset(x, 0, sizeof *x);
	x->jitter = now_unix_ns();
	x->batch = xcalloc((size_t)g.conf.bsp_batch, sizeof *x->batch);
	x->pbs = xcalloc((size_t)g.conf.bsp_batch, sizeof *x->pbs);
	const struct otel_signal *sigs[2] = {[TRACES] = &g.conf.traces, [METRICS] = &g.conf.metrics};
	for (int k = TRACES; k <= METRICS; k++) {
		if (!sigs[k]->on)
			continue;
		x->client[k] = otlp_client_new(sigs[k]);
		if (x->client[k] == NULL)
			log_warn("otel: curl_easy_init failed; nothing will be exported");
	}
}

static void exporter_close(struct exporter *x)
{
	otlp_client_free(x->client[TRACES]);
	otlp_client_free(x->client[METRICS]);
	otelpb_free(&x->body);
	free(x->batch);
	free(x->pbs);
}

/* The time one attempt of sig may take: its timeout, and during shutdown
 * no more than what is left before the deadline (<= 0: none left). */
static long attempt_budget(const struct otel_signal *sig, int *stopping)
{
	long budget;
	pthread_mutex_lock(&g.mu);
	budget = sig->timeout_ms;
	*stopping = g.stop;
	if (g.stop && g.deadline - now_mono_ms() < budget)
		budget = (long)(g.deadline - now_mono_ms());
	pthread_mutex_unlock(&g.mu);
	return budget;
}

/* Waits on g.wake until mono ms `until` or a signal. Under g.mu. */
static void wait_until(int64_t until)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ms = until - now_mono_ms();
	if (ms <= 0)
		return;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&g.wake, &g.mu, &ts);
}

/* Sleeps before retry `attempt`, cut short by otel_shutdown(). */
static void backoff(struct exporter *x, int attempt)
{
	double u = (double)(splitmix(&x->jitter) >> 11) / 9007199254740992.0;
	int64_t until = now_mono_ms() + otlp_backoff_ms(attempt, u);
	pthread_mutex_lock(&g.mu);
	while (!g.stop && now_mono_ms() < until)
		wait_until(until);
	pthread_mutex_unlock(&g.mu);
}

/* Logs the first failure of a signal and its recovery. */
static void note(struct exporter *x, enum signal_kind k, const struct otel_signal *sig, int ok,
		 const char *why, size_t nspans)
{
	const char *what = k == TRACES ? "traces" : "metrics";
	if (ok && x->failing[k])
		log_info("otel: exporting %s to %s works again", what, sig->url);
	else if (!ok && !x->failing[k] && k == TRACES)
		log_warn("otel: exporting %s to %s failed (%s); %zu spans dropped", what, sig->url,
			 why, nspans);
	else if (!ok && !x->failing[k])
		log_warn("otel: exporting %s to %s failed (%s)", what, sig->url, why);
	x->failing[k] = !ok;
}

/* Sends x->body with retries. Returns 0 when the collector took it. */
static int deliver(struct exporter *x, enum signal_kind k, size_t nspans)
{
	const struct otel_signal *sig = k == TRACES ? &g.conf.traces : &g.conf.metrics;
	char why[512] = "the shutdown deadline passed";
	enum otlp_outcome r = OTLP_RETRY;
	if (x->client[k] == NULL) {
		note(x, k, sig, 0, "no curl handle", nspans);
		return -1;
	}
	for (int attempt = 1; attempt <= EXPORT_ATTEMPTS && r == OTLP_RETRY; attempt++) {
		int stopping;
		long budget = attempt_budget(sig, &stopping);
		if (budget <= 0)
			break;
		if (attempt > 1 && !stopping)
			backoff(x, attempt - 1);
		r = otlp_send(x->client[k], &x->body, budget, why, sizeof why);
	}
	note(x, k, sig, r == OTLP_SENT, why, nspans);
	return r == OTLP_SENT ? 0 : -1;
}

/* Takes up to a batch from the queue and exports it. Called and returns
 * under g.mu; unlocked while sending. */
static void export_batch(struct exporter *x)
{
	size_t n = 0;
	int ok;
	while (g.qlen > 0 && n < (size_t)g.conf.bsp_batch) {
		x->batch[n] = g.queue[g.qhead];
		x->pbs[n] = &x->batch[n]->pb;
		g.qhead = (g.qhead + 1) % (size_t)g.conf.bsp_queue;
		g.qlen--;
		n++;
	}
	pthread_mutex_unlock(&g.mu);
	otlp_trace_body(&x->body, g.conf.traces.protocol, &g.res, x->pbs, n);
	ok = deliver(x, TRACES, n) == 0;
	for (size_t i = 0; i < n; i++)
		span_free(x->batch[i]);
	pthread_mutex_lock(&g.mu);
	if (ok)
		g.stats.spans_exported += n;
	else
		count_dropped(n, "export_failed");
}

/* A copy of the metrics' current values; names and attributes are
 * borrowed from the instruments (which live until otel_shutdown). */
struct snapshot {
	struct otelpb_metric *metrics;
	size_t n;
	struct otelpb_point *points;
	uint64_t *buckets;
};

static void point_of(struct otelpb_point *p, const struct otel_metric *m, const struct series *s,
		     uint64_t *buckets, uint64_t now)
{
	p->attrs = s->attrs;
	p->nattrs = s->nattrs;
	p->time_ns = now;
	p->start_ns = m->kind == INSTR_GAUGE ? 0 : s->start_ns;
	p->as_int = s->value;
	if (m->kind == INSTR_HISTOGRAM) {
		memcpy(buckets, s->buckets, (m->nbounds + 1) * sizeof *buckets);
		p->bucket_counts = buckets;
		p->bounds = m->bounds;
		p->nbounds = m->nbounds;
		p->count = s->count;
		p->sum = s->sum;
		p->min = s->min;
		p->max = s->max;
	}
}

/* Under g.mu. */
static void snapshot_take(struct snapshot *sn)
{
	static const enum otelpb_metric_type type_of[] = {
		[INSTR_COUNTER] = OTELPB_SUM,
		[INSTR_UPDOWN] = OTELPB_SUM,
		[INSTR_GAUGE] = OTELPB_GAUGE,
		[INSTR_HISTOGRAM] = OTELPB_HISTOGRAM,
	};
	size_t nm = 0, np = 0, nb = 0;
	uint64_t now = now_unix_ns();
	struct otelpb_point *p;
	uint64_t *b;
	for (const struct otel_metric *m = g.instruments; m; m = m->next) {
		size_t k = m->nseries + (m->overflow != NULL);
		nm += k > 0;
		np += k;
		nb += m->kind == INSTR_HISTOGRAM ? k * (m->nbounds + 1) : 0;
	}
	sn->n = 0;
	sn->metrics = xcalloc(nm + 1, sizeof *sn->metrics);
	sn->points = p = xcalloc(np + 1, sizeof *sn->points);
	sn->buckets = b = xcalloc(nb + 1, sizeof *sn->buckets);
	for (const struct otel_metric *m = g.instruments; m; m = m->next) {
		struct otelpb_metric *mt;
		size_t width = m->kind == INSTR_HISTOGRAM ? m->nbounds + 1 : 0;
		if (m->nseries == 0 && m->overflow == NULL)
			continue;
		mt = &sn->metrics[sn->n++];
		mt->name = m->name;
		mt->description = m->description;
		mt->unit = m->unit;
		mt->type = type_of[m->kind];
		mt->monotonic = m->kind == INSTR_COUNTER;
		mt->points = p;
		for (size_t i = 0; i < m->nseries; i++, b += width)
			point_of(p++, m, m->series[i], b, now);
		if (m->overflow) {
			point_of(p++, m, m->overflow, b, now);
			b += width;
		}
		mt->npoints = (size_t)(p - mt->points);
	}
}

static void snapshot_free(struct snapshot *sn)
{
	free(sn->metrics);
	free(sn->points);
	free(sn->buckets);
}

/* Exports the metrics. Called and returns under g.mu. */
static void export_metrics(struct exporter *x)
{
	struct snapshot sn;
	int ok;
	snapshot_take(&sn);
	if (sn.n == 0) {
		snapshot_free(&sn);
		return;
	}
	pthread_mutex_unlock(&g.mu);
	otlp_metrics_body(&x->body, g.conf.metrics.protocol, &g.res, sn.metrics, sn.n);
	snapshot_free(&sn);
	ok = deliver(x, METRICS, 0) == 0;
	pthread_mutex_lock(&g.mu);
	if (ok)
		g.stats.metric_exports++;
	else
		g.stats.metric_exports_failed++;
}

/* The exporter thread: a batch when one is full or the schedule delay
 * passed, the metrics every interval; at stop, everything left. */
static void *exporter_main(void *arg)
{
	struct exporter x;
	int64_t now, next_spans, next_metrics, until;
	(void)arg;
	exporter_open(&x);
	pthread_mutex_lock(&g.mu);
	now = now_mono_ms();
	next_spans = now + g.conf.bsp_delay_ms;
	next_metrics = now + g.conf.metric_interval_ms;
	while (!g.stop) {
		now = now_mono_ms();
		if (g.qlen >= (size_t)g.conf.bsp_batch || (g.qlen > 0 && now >= next_spans)) {
			export_batch(&x);
			next_spans = now_mono_ms() + g.conf.bsp_delay_ms;
			continue;
		}
		if (now >= next_spans)
			next_spans = now + g.conf.bsp_delay_ms;
		if (g.conf.metrics.on && now >= next_metrics) {
			export_metrics(&x);
			next_metrics = now_mono_ms() + g.conf.metric_interval_ms;
			continue;
		}
		until = g.conf.traces.on ? next_spans : next_metrics;
		if (g.conf.metrics.on && next_metrics < until)
			until = next_metrics;
		wait_until(until);
	}
	while (g.qlen > 0)
		export_batch(&x);
	if (g.conf.metrics.on)
		export_metrics(&x);
	pthread_mutex_unlock(&g.mu);
	exporter_close(&x);
	return NULL;
}

/* ---- setup ---- */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&g.mu);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&g.mu);
}

/* The child has no exporter thread: telemetry goes off, and what the
 * parent had is left behind (not freed: the child may be about to exec). */
static void atfork_child(void)
{
	atomic_store(&tracing, 0);
	atomic_store(&measuring, 0);
	if (g.running) {
		g.running = 0;
		g.epoch++;
		g.queue = NULL;
		g.qhead = g.qlen = 0;
		g.instruments = g.dropped = NULL;
		memset(&g.conf, 0, sizeof g.conf);
	}
	pthread_mutex_unlock(&g.mu);
}

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Starts the exporter thread with every signal blocked, so that the
 * program's signals still reach its own loop (signalfd or handlers). */
static int start_thread(void)
{
	sigset_t all, old;
	pthread_condattr_t ca;
	int rc;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g.wake, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&g.thread, NULL, exporter_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warn("otel: cannot start the exporter thread: %s", strerror(rc));
		pthread_cond_destroy(&g.wake);
		return -1;
	}
	return 0;
}

/* Frees the instruments, the queue and the configuration; g.mu held. */
static void release_locked(void)
{
	for (struct otel_metric *m = g.instruments, *next; m; m = next) {
		next = m->next;
		metric_free(m);
	}
	g.instruments = g.dropped = NULL;
	free(g.queue);
	g.queue = NULL;
	otel_config_free(&g.conf);
}

/* die()'s last act (util.h): what is unsent goes out, within the export
 * time-out. Not in the exporter thread itself, nor in a process cloned
 * from ours without fork()'s handlers (it has no exporter thread). */
static void send_before_exit(void)
{
	if (getpid() == g.pid && !pthread_equal(pthread_self(), g.thread))
		otel_shutdown();
}

int otel_init(const char *program)
{
	struct otel_config c;
	int running;
	pthread_mutex_lock(&g.mu);
	running = g.running;
	pthread_mutex_unlock(&g.mu);
	if (running)
		return 1;
	if (!otel_config_has_endpoint())
		return 0;
	otel_config_from_env(&c, program);
	if (!c.traces.on && !c.metrics.on) {
		otel_config_free(&c);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warn("otel: curl_global_init failed; not exporting");
		otel_config_free(&c);
		return 0;
	}
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&g.mu);
	g.conf = c;
	g.res = (struct otelpb_resource){c.resource, c.nresource, SCOPE_NAME, CODEX_VERSION};
	g.queue = xcalloc((size_t)c.bsp_queue, sizeof *g.queue);
	g.qhead = g.qlen = 0;
	g.stop = 0;
	g.epoch++;
	memset(&g.stats, 0, sizeof g.stats);
	pthread_mutex_unlock(&g.mu);
	atomic_store(&measuring, c.metrics.on);
	if (c.metrics.on && c.traces.on)
		g.dropped = otel_counter("otel.exporter.dropped", "{span}",
					 "Spans the exporter dropped: queue full or export failed");
	if (start_thread() != 0) {
		atomic_store(&measuring, 0);
		pthread_mutex_lock(&g.mu);
		release_locked();
		pthread_mutex_unlock(&g.mu);
		curl_global_cleanup();
		return 0;
	}
	pthread_mutex_lock(&g.mu);
	g.running = 1;
	g.pid = getpid();
	pthread_mutex_unlock(&g.mu);
	atomic_store(&tracing, c.traces.on);
	util_set_fatal_hook(send_before_exit);
	return 1;
}

void otel_shutdown(void)
{
	pthread_mutex_lock(&g.mu);
	if (!g.running) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	atomic_store(&tracing, 0);
	atomic_store(&measuring, 0);
	g.stop = 1;
	g.deadline = now_mono_ms() + g.conf.timeout_ms;
	pthread_cond_signal(&g.wake);
	pthread_mutex_unlock(&g.mu);
	pthread_join(g.thread, NULL);
	pthread_mutex_lock(&g.mu);
	while (g.qlen > 0) {	/* ended after the thread's last look */
		span_free(g.queue[g.qhead]);
		g.qhead = (g.qhead + 1) % (size_t)g.conf.bsp_queue;
		g.qlen--;
		g.stats.spans_dropped++;
	}
	release_locked();
	g.running = 0;
	g.stop = 0;
	pthread_cond_destroy(&g.wake);
	pthread_mutex_unlock(&g.mu);
	curl_global_cleanup();
}
