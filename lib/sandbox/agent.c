#include "sandbox/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

static void put_u32(struct sbuf *b, uint32_t v)
{
	unsigned char x[4] = {v >> 24, v >> 16, v >> 8, v};
	sbuf_put(b, (const char *)x, 4);
}

static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

void agent_begin(struct sbuf *b, int op)
{
	char c = (char)op;
	put_u32(b, 0);
	sbuf_put(b, &c, 1);
}

void agent_put(struct sbuf *b, int tag, const void *data, size_t len)
{
	char t = (char)tag;
	sbuf_put(b, &t, 1);
	put_u32(b, (uint32_t)len);
	sbuf_put(b, data ? data : "", len);
}

void agent_put_str(struct sbuf *b, int tag, const char *s)
{
	agent_put(b, tag, s, strlen(s));
}

void agent_put_num(struct sbuf *b, int tag, int64_t v)
{
	char n[32];
	agent_put(b, tag, n, (size_t)snprintf(n, sizeof n, "%lld", (long long)v));
}

void agent_end(struct sbuf *b, size_t start)
{
	uint32_t len = (uint32_t)(b->len - start - 4);
	unsigned char *p = (unsigned char *)b->p + start;
	p[0] = len >> 24; p[1] = len >> 16; p[2] = len >> 8; p[3] = len;
}

int agent_decode(char *body, size_t len, struct agent_msg *m)
{
	size_t off = 1;
	m->frame = body;
	m->n = 0;
	if (len < 1)
		return -1;
	m->op = (unsigned char)body[0];
	while (off < len) {
		if (len - off < 5 || m->n == AGENT_FIELDS_MAX)
			return -1;
		size_t flen = get_u32(body + off + 1);
		if (flen > len - off - 5)
			return -1;
		m->f[m->n++] = (struct agent_field){(unsigned char)body[off], flen, body + off + 5};
		off += 5 + flen;
	}
	return 0;
}

long agent_frame_len(const char *buf, size_t len, size_t cap, size_t *body)
{
	if (len < 4)
		return 0;
	*body = get_u32(buf);
	if (*body > cap || *body == 0)
		return -1;
	return len - 4 >= *body ? (long)(*body + 4) : 0;
}

int agent_read(int fd, size_t cap, struct agent_msg *m)
{
	char hdr[4];
	size_t got = 0;
	while (got < sizeof hdr) {
		ssize_t n = read(fd, hdr + got, sizeof hdr - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && got == 0 ? 1 : -1;
		got += (size_t)n;
	}
	size_t len = get_u32(hdr);
	if (len == 0 || len > cap)
		return -1;
	char *body = read_exact(fd, len);
	if (body == NULL)
		return -1;
	if (agent_decode(body, len, m) != 0) {
		agent_msg_free(m);
		return -1;
	}
	return 0;
}

const struct agent_field *agent_get(const struct agent_msg *m, int tag)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i].tag == tag)
			return &m->f[i];
	return NULL;
}

char *agent_str(const struct agent_msg *m, int tag)
{
	const struct agent_field *f = agent_get(m, tag);
	return f && memchr(f->data, '\0', f->len) == NULL ? xstrndup(f->data, f->len) : NULL;
}

int agent_num(const struct agent_msg *m, int tag, int64_t min, int64_t max, int64_t *v)
{
	char *s = agent_str(m, tag);
	int rc = s && parse_i64(s, min, max, v) == 0 ? 0 : -1;
	free(s);
	return rc;
}

char **agent_list(const struct agent_msg *m, int tag)
{
	size_t n = 0;
	char **v = xcalloc(m->n + 1, sizeof *v);
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i].tag == tag)
			v[n++] = xstrndup(m->f[i].data, m->f[i].len);
	return v;
}

void agent_list_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void agent_msg_free(struct agent_msg *m)
{
	free(m->frame);
	m->frame = NULL;
	m->n = 0;
}
