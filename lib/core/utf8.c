#include "core/utf8.h"

#include <stdint.h>
#include <string.h>

#include "core/util.h"

size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;
	if (n == 0 || p[0] == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2;
		cp = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

size_t utf8_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t left = strlen(src), len = 0;
	while (left > 0) {
		size_t n = utf8_seq(s, left), step = n ? n : 1;
		if (len + step > size - 1)
			break;
		if (n == 0)
			dst[len] = '?';
		else
			memcpy(dst + len, s, n);
		len += step;
		s += step;
		left -= step;
	}
	dst[len] = '\0';
	return len;
}

char *utf8_dup(const char *src, size_t max)
{
	size_t n = strnlen(src, max);
	char *d = xmalloc(n + 1);
	utf8_copy(d, n + 1, src);
	return d;
}
