/* sigfd: SIGTERM and SIGINT through one poll loop (STYLE.md habit 7).
 * Call sigfd_open() before any thread starts (librdkafka's threads inherit
 * the signal mask), then poll the fd with the rest. */
#ifndef SIGFD_H
#define SIGFD_H

/* Blocks SIGTERM and SIGINT and returns a non-blocking signalfd for them
 * (dies with exit 111 if the kernel refuses). */
int sigfd_open(void);

/* Reads the pending signals, logging each. Returns how many there were. */
int sigfd_read(int fd);

/* Unblocks every signal again: for a child about to exec. */
void sigfd_unblock(void);

#endif
