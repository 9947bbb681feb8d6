#include "core/jsonx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/util.h"

const char *jsonx_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *jsonx_parse_line(const char *text, size_t len)
{
	/* text[len] is NUL; one earlier would hide the rest of the line. */
	if (memchr(text, '\0', len) != NULL)
		return NULL;
	return cJSON_ParseWithOpts(text, NULL, 1);
}

int jsonx_check_text(const char *text, size_t len, char *msg, size_t msglen)
{
	const unsigned char *p = (const unsigned char *)text;
	int in_string = 0;
	for (size_t i = 0; i < len;) {
		size_t n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i);
		if (n == 0) {
			snprintf(msg, msglen, "the line is not valid UTF-8 (byte %zu)", i);
			return -1;
		}
		if (in_string && p[i] == '\\' && i + 1 < len) {
			if (p[i + 1] == 'u' && len - i >= 6 && memcmp(p + i + 2, "0000", 4) == 0) {
				snprintf(msg, msglen, "a string holds \\u0000 (NUL, byte %zu), "
					 "which no field may carry", i);
				return -1;
			}
			i += 2;	/* the escaped character, whatever it is */
			continue;
		}
		if (p[i] == '"')
			in_string = !in_string;
		i += n;
	}
	return 0;
}

void jsonx_set(cJSON *obj, const char *key, cJSON *item)
{
	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

char *jsonx_utf8(const char *buf, size_t len)
{
	static const char repl[] = "\xEF\xBF\xBD";
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)buf;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}

void jsonx_set_bytes(cJSON *obj, const char *key, const char *buf, size_t len)
{
	char *s = jsonx_utf8(buf, len);
	jsonx_set(obj, key, cJSON_CreateString(s));
	free(s);
}

static size_t escaped_char(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 ? 6 : 1;
}

size_t jsonx_escaped_len(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += escaped_char((unsigned char)s[i]);
	return n;
}

size_t jsonx_fit_prefix(const char *s, size_t len, size_t budget)
{
	size_t used = 0, i = 0;
	while (i < len && used + escaped_char((unsigned char)s[i]) <= budget)
		used += escaped_char((unsigned char)s[i++]);
	while (i > 0 && i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;	/* not inside a UTF-8 sequence */
	return i;
}

char *jsonx_print_within(const cJSON *obj, size_t cap, size_t *len)
{
	char *text = cJSON_PrintUnformatted(obj);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	*len = strlen(text);
	if (*len <= cap)
		return text;
	free(text);
	return NULL;
}

int jsonx_write_line(FILE *f, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory printing a line");
	int rc = fputs(text, f) < 0 || fputc('\n', f) == EOF || fflush(f) != 0;
	free(text);
	return rc ? -1 : 0;
}

void jsonx_set_error(cJSON *obj, const char *kind, const char *code,
		     const char *message)
{
	cJSON *err = cJSON_CreateObject();
	cJSON_AddStringToObject(err, "kind", kind);
	cJSON_AddStringToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", message);
	jsonx_set(obj, "error", err);
}

cJSON *jsonx_unparsable(const char *line, size_t len, const char *code,
			const char *message)
{
	cJSON *obj = cJSON_CreateObject();
	jsonx_set_error(obj, "poison", code, message);
	jsonx_set_bytes(obj, "line", line, len < JSONX_RAW_LINE_CAP ? len : JSONX_RAW_LINE_CAP);
	return obj;
}
