/* bincache: compiled programs kept on the host by the SHA-256 of everything
 * that went into the compile (toolchain argv, environment, every file), so
 * the same source is compiled once. Entries are written to .name.new and
 * renamed; the cache is bounded in entries, in bytes per entry and in bytes
 * in all, the least recently used going first. A cache that cannot write
 * (a full disk) only stops speeding things up. */
#ifndef BINCACHE_H
#define BINCACHE_H

#include <stddef.h>

#include "core/limit.h"

/* Looks key up in dir. Returns a read-only descriptor of the entry (the
 * caller closes it), its size in *len, and marks the entry used; or -1
 * when absent or larger than cap. An entry never changes once written. */
int bincache_open(const char *dir, const char *key, size_t cap, size_t *len);

/* Stores data under key, unless it is larger than lim->entry_bytes, then
 * trims dir to the limits (and removes the .new files a writer killed
 * mid-write left behind). Failures are logged, never fatal. */
void bincache_put(const char *dir, const char *key, const char *data, size_t len,
		  const struct bincache_limits *lim);

#endif
