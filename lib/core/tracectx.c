#include "core/tracectx.h"

#include <string.h>

#include "core/jsonx.h"
#include "core/util.h"

static const char HEX[] = "0123456789abcdef";

static void hex_put(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = HEX[p[i] >> 4];
		out[2 * i + 1] = HEX[p[i] & 15];
	}
}

/* A lower-case hex digit's value, or -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Reads 2n lower-case hex digits of s into out. Returns 0 or -1. */
static int hex_get(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hi < 0 ? -1 : hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int tracectx_valid(const struct tracectx *c)
{
	return !mem_is_zero(c->trace_id, sizeof c->trace_id) &&
	       !mem_is_zero(c->span_id, sizeof c->span_id);
}

static int tracestate_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= TRACECTX_STATE_MAX || s[n] < 0x20 || s[n] > 0x7e)
			return 0;
	return 1;
}

int tracectx_parse(struct tracectx *c, const char *traceparent, const char *tracestate)
{
	const char *t = traceparent;
	uint8_t version;
	size_t len;
	memset(c, 0, sizeof *c);
	if (t == NULL)
		return -1;
	len = strnlen(t, TRACECTX_PARENT_LEN + 1);
	if (len < TRACECTX_PARENT_LEN || hex_get(t, &version, 1) != 0 || version == 0xff)
		goto bad;
	/* Version 00 is exactly 55 bytes; a later version may append "-...". */
	if (len > TRACECTX_PARENT_LEN && (version == 0 || t[TRACECTX_PARENT_LEN] != '-'))
		goto bad;
	if (t[2] != '-' || t[35] != '-' || t[52] != '-')
		goto bad;
	if (hex_get(t + 3, c->trace_id, 16) || hex_get(t + 36, c->span_id, 8) ||
	    hex_get(t + 53, &c->flags, 1) || !tracectx_valid(c))
		goto bad;
	c->flags &= TRACECTX_SAMPLED;	/* the other bits are not defined in 00 */
	if (tracestate && tracestate_ok(tracestate))
		strcpy(c->trace_state, tracestate);
	return 0;
bad:
	memset(c, 0, sizeof *c);
	return -1;
}

int tracectx_of_line(const cJSON *line, struct tracectx *c)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	return tracectx_parse(c, jsonx_str(meta, "traceparent"), jsonx_str(meta, "tracestate"));
}

void tracectx_format(const struct tracectx *c, char out[TRACECTX_PARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	hex_put(out + 3, c->trace_id, 16);
	out[35] = '-';
	hex_put(out + 36, c->span_id, 8);
	out[52] = '-';
	hex_put(out + 53, &c->flags, 1);
	out[TRACECTX_PARENT_LEN] = '\0';
}
