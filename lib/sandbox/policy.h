/* policy: the seccomp filter applied last before execve in every box (the
 * ns backend's init, codex-agent in a docker container). Default allow,
 * with a deny list of what a judged program never needs and what sandbox
 * escapes are made of (DESIGN.md section 4), and calls that would change
 * another process's limits or scheduling. */
#ifndef POLICY_H
#define POLICY_H

/* Builds the filter's BPF program with libseccomp, once per process: a
 * supervisor calls it before its children start, so that each step only
 * installs it. Returns 0, or -1 with errno set. */
int policy_prepare(void);

/* Installs the filter (prepared first if it was not) into the calling
 * thread: inherited by its children and kept across execve; no_new_privs
 * must already be set. Returns 0, or -1 with errno set. */
int policy_load(void);

#endif
