#include "policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

/* Syscalls that fail with EPERM. Most already fail for an unprivileged
 * uid; the filter is the second wall, and the only one for the
 * unprivileged ones (io_uring, userfaultfd, perf, keyrings, ptrace). */
static const char *const denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"bpf", "perf_event_open", "userfaultfd",
	"mount", "umount2", "pivot_root", "unshare", "setns", "chroot",
	"fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree",
	"mount_setattr",
	"name_to_handle_at", "open_by_handle_at", "fanotify_init",
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"quotactl", "lookup_dcookie", "iopl", "ioperm", "syslog", "vhangup",
	"mlock", "mlock2", "mlockall",
};

/* Calls that act on another process when given its pid (0: the caller),
 * or on every process of the caller's uid (PRIO_USER, IOPRIO_WHO_USER): a
 * program may change its own limits and scheduling, never another's. In
 * the docker backend its supervisor, codex-agent, has the program's uid,
 * and these need no more than that (ptrace rules do not apply to them). */
static const struct {
	const char *name;
	unsigned pid_arg;	/* the argument that must be 0 */
	int user_arg;		/* the "which" argument (0), -1 when none */
	unsigned long user_which;	/* its value that means "the whole uid" */
} self_only[] = {
	{"prlimit64", 0, -1, 0},
	{"setpriority", 1, 0, 2 /* PRIO_USER */},
	{"ioprio_set", 1, 0, 3 /* IOPRIO_WHO_USER */},
	{"sched_setaffinity", 0, -1, 0},
	{"sched_setscheduler", 0, -1, 0},
	{"sched_setparam", 0, -1, 0},
	{"sched_setattr", 0, -1, 0},
};

static int add_self_only(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof self_only / sizeof self_only[0]; i++) {
		int nr = seccomp_syscall_resolve_name(self_only[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
				     SCMP_CMP(self_only[i].pid_arg, SCMP_CMP_NE, 0)) != 0)
			return -1;
		/* The kernel reads "which" as an int: compare its low 32 bits,
		 * or 0x100000002 would pass for PRIO_USER. (A pid with zero low
		 * bits but not zero is refused above: only harmless EPERMs.) */
		if (self_only[i].user_arg >= 0 &&
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
				     SCMP_CMP((unsigned)self_only[i].user_arg, SCMP_CMP_MASKED_EQ,
					      0xffffffffUL, self_only[i].user_which)) != 0)
			return -1;
	}
	return 0;
}

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET, CLONE_NEWCGROUP,
};

static int add_rules(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) != 0)
			return -1;
	}
	/* clone with any namespace flag; clone3 hides its flags in memory that
	 * a filter cannot read, so it says ENOSYS and libc falls back to clone. */
	for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i])) != 0)
			return -1;
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		return -1;
	/* socket's domain is an int: its low 32 bits, or 0x100000028 would
	 * pass for AF_VSOCK (vsock is not namespaced: it reaches a VM's host). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, AF_VSOCK)) != 0)
		return -1;
	return add_self_only(ctx);
}

int policy_load(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = -1;
	if (ctx == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* Only the native ABI: i386 and x32 entry points are killed. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0 &&
	    add_rules(ctx) == 0 &&
	    /* A binary tree of syscall numbers instead of a linear scan (2.5.0+):
	     * every syscall of the program pays for the filter. */
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		errno = rc < 0 ? -rc : EINVAL;
		return -1;
	}
	return 0;
}
