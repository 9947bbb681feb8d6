/* sbuf: a growing, always NUL-terminated text buffer. The owner frees p. */
#ifndef SBUF_H
#define SBUF_H

#include <stddef.h>

struct sbuf {
	char *p;		/* NULL until the first put; then owned, free() it */
	size_t len, cap;
};

/* Appends n bytes of s (allocate or die). */
void sbuf_put(struct sbuf *b, const char *s, size_t n);
/* Appends the C string s. */
void sbuf_puts(struct sbuf *b, const char *s);

#endif
