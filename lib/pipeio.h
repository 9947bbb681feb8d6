/* pipeio: a program's pipes seen from its supervisor (the ns box's worker,
 * codex-agent): output captured up to a cap, stdin fed without blocking.
 * The fds are non-blocking; each call does one read or write. */
#ifndef PIPEIO_H
#define PIPEIO_H

#include <stddef.h>

#include "sbuf.h"

/* Reads what *fd has and appends it to b, keeping at most cap bytes in all.
 * At the end of the stream or on an error, closes *fd and sets it to -1.
 * Returns 1 when bytes beyond cap came (*trunc is then set: the caller
 * stops the program), else 0. */
int pipeio_drain(int *fd, struct sbuf *b, size_t cap, int *trunc);

/* Writes what is left of data (len bytes, *off of them written so far) to
 * *fd; closes it and sets it to -1 once all is written or the reader is
 * gone. */
void pipeio_feed(int *fd, const char *data, size_t len, size_t *off);

#endif
