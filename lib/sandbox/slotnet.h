/* slotnet: a network namespace kept per slot, so that a step joins one
 * instead of making one (a new network namespace costs about 0.8 ms of
 * CPU, with the kernel's asynchronous clean-up of it). sandbox-exec holds
 * one per slot for its whole life; no two programs of jobs run in one at
 * once (a slot runs one step, and a box made ahead runs nothing of the
 * job before its step starts: at most a launched runtime, waiting).
 *
 * What makes it safe to share in time: the program has no capability, so
 * it cannot bring the loopback up, add an interface, a route or a rule, or
 * write a sysctl; with no interface up, no TCP or UDP state outlives its
 * socket. A socket outlives its process only in flight (an fd sent over a
 * Unix socket and never received), and then it is listed in the
 * namespace's /proc/net/unix: slotnet_clean() says so, and that step gets
 * a network namespace of its own instead. */
#ifndef SLOTNET_H
#define SLOTNET_H

#include <sys/types.h>

/* A new network namespace: an fd of it (close-on-exec; it lives as long
 * as an fd or a process holds it), or -1 with errno. */
int slotnet_make(void);

/* Whether the network namespace of process pid (0: the caller's) holds no
 * socket (Unix, TCP, UDP, over IPv4 or IPv6), by its /proc/<pid>/net
 * tables: 1 clean, 0 not, -1 unreadable (counted as not clean by
 * callers). */
int slotnet_clean_of(pid_t pid);
int slotnet_clean(void);	/* slotnet_clean_of(0) */

#endif
