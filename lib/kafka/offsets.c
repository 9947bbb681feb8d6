#include "kafka/offsets.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct part {
	char *topic;
	int32_t partition;
	int64_t next;		/* one past the last offset handed out */
	int64_t *out;		/* offsets not done yet, ascending */
	size_t nout, cap;
};

struct offsets {
	struct part *parts;
	size_t n;
	size_t pending;
};

struct offsets *offsets_new(void)
{
	return xcalloc(1, sizeof(struct offsets));
}

void offsets_free(struct offsets *o)
{
	for (size_t i = 0; o && i < o->n; i++) {
		free(o->parts[i].topic);
		free(o->parts[i].out);
	}
	if (o)
		free(o->parts);
	free(o);
}

static struct part *find(const struct offsets *o, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->parts[i].partition == partition && strcmp(o->parts[i].topic, topic) == 0)
			return &o->parts[i];
	return NULL;
}

void offsets_out(struct offsets *o, const char *topic, int32_t partition, int64_t off)
{
	struct part *p = find(o, topic, partition);
	if (p == NULL) {
		o->parts = xrealloc(o->parts, (o->n + 1) * sizeof *o->parts);
		p = &o->parts[o->n++];
		memset(p, 0, sizeof *p);
		p->topic = xstrdup(topic);
		p->partition = partition;
	}
	if (p->nout == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->out = xrealloc(p->out, p->cap * sizeof *p->out);
	}
	p->out[p->nout++] = off;
	p->next = off + 1;
	o->pending++;
}

static int64_t commit_point(const struct part *p)
{
	return p->nout ? p->out[0] : p->next;
}

/* Index of off in p->out, or -1 (binary search: out is ascending). */
static long locate(const struct part *p, int64_t off)
{
	size_t lo = 0, hi = p->nout;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->out[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nout && p->out[lo] == off ? (long)lo : -1;
}

int offsets_done(struct offsets *o, const char *topic, int32_t partition, int64_t off,
		 int64_t *commit)
{
	struct part *p = find(o, topic, partition);
	long i = p ? locate(p, off) : -1;
	if (i < 0)
		return 0;
	int64_t before = commit_point(p);
	memmove(p->out + i, p->out + i + 1, (p->nout - (size_t)i - 1) * sizeof *p->out);
	p->nout--;
	o->pending--;
	*commit = commit_point(p);
	return *commit != before;
}

int64_t offsets_commit_point(const struct offsets *o, const char *topic, int32_t partition)
{
	const struct part *p = find(o, topic, partition);
	return p ? commit_point(p) : -1;
}

void offsets_drop(struct offsets *o, const char *topic, int32_t partition)
{
	struct part *p = find(o, topic, partition);
	if (p == NULL)
		return;
	o->pending -= p->nout;
	free(p->topic);
	free(p->out);
	*p = o->parts[--o->n];
}

size_t offsets_pending(const struct offsets *o)
{
	return o->pending;
}
