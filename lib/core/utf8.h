/* utf8: keeping text valid UTF-8, which protobuf and JSON strings must be. */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence that starts p, looking
 * at no more than n bytes; 0 when there is none (a stray, overlong or
 * truncated sequence, a surrogate, past U+10FFFF, or a NUL byte). */
size_t utf8_seq(const unsigned char *p, size_t n);

/* Copies the string src into dst (size >= 1) as valid UTF-8: a byte that
 * starts no valid sequence becomes '?', and a sequence that would not fit
 * ends the copy. Returns the length written. */
size_t utf8_copy(char *dst, size_t size, const char *src);

/* A copy of the string src cut to max bytes, as utf8_copy() makes it.
 * The caller frees. */
char *utf8_dup(const char *src, size_t max);

#endif
