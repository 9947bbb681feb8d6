/* instance: several instances of the toolkit may share a host (a service
 * and a test run, two services with their own state dirs). An instance is
 * named by the table's `instance` (lang.h: from state_dir by default); the
 * name is in its cgroups and its pool's container names, its state dir
 * holds its slot locks, and its slot uids are its own: a uid shared with
 * another instance would share the kernel's per-uid limits (a thread bomb
 * in one box would starve a job of the other).
 *
 * Every process of an instance that runs boxes registers it in
 * INSTANCE_DIR (root's only) for its lifetime (a shared flock on
 * <name>.lock, its uid ranges in <name>.uids); registering fails when a
 * live instance of another name has a slot uid in common. */
#ifndef INSTANCE_H
#define INSTANCE_H

#include <stddef.h>

#include "core/lang.h"

#define INSTANCE_DIR "/run/codex-instances"

/* Registers the table's instance (dir: INSTANCE_DIR, or another for
 * tests). Returns an fd to keep open while the process lives (closing it
 * unregisters), or -1 with err: another live instance uses some of the
 * same slot uids, or the register cannot be written. */
int instance_register(const struct lang_table *t, const char *dir, char *err, size_t errlen);

#endif
