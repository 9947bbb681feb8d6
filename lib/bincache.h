/* bincache: compiled programs kept on the host by the SHA-256 of everything
 * that went into the compile (toolchain argv, environment, every file), so
 * the same source is compiled once. Entries are written to name.new and
 * renamed; past max entries the least recently used go. */
#ifndef BINCACHE_H
#define BINCACHE_H

#include <stddef.h>

/* Looks key up in dir. Returns 0 with a malloc'd *data of *len bytes (the
 * caller frees) and marks the entry used, or -1 when absent. */
int bincache_get(const char *dir, const char *key, size_t cap, char **data, size_t *len);

/* Stores data under key, then trims dir to max entries. Failures are only
 * logged: a cache that cannot write just does not speed things up. */
void bincache_put(const char *dir, const char *key, const char *data, size_t len, long max);

#endif
