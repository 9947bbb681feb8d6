/* pipeio: a program's pipes seen from its supervisor (the ns box's worker,
 * codex-agent): output captured up to a cap, stdin fed without blocking.
 * The fds are non-blocking; each call does one read or write. */
#ifndef PIPEIO_H
#define PIPEIO_H

#include <stddef.h>

#include "core/sbuf.h"

/* Reads what *fd has and appends it to b, keeping at most cap bytes in all.
 * At the end of the stream or on an error, closes *fd and sets it to -1.
 * Returns 1 when bytes beyond cap came (*trunc is then set: the caller
 * stops the program), else 0. */
int pipeio_drain(int *fd, struct sbuf *b, size_t cap, int *trunc);

/* Gives the pipe whose read end is fd 1 MiB of room (best effort: the
 * size stays as it was when the kernel refuses). Node.js queues in its heap
 * what a full pipe refuses and writes no more until its event loop runs, so
 * a program that filled a 64 KiB pipe with exactly the output cap and then
 * queued would reach the memory limit before the reader saw a byte past the
 * cap. With room past the cap, the cap is seen exceeded first. */
void pipeio_widen(int fd);

/* Writes what is left of data (len bytes, *off of them written so far) to
 * *fd; closes it and sets it to -1 once all is written or the reader is
 * gone. */
void pipeio_feed(int *fd, const char *data, size_t len, size_t *off);

#endif
