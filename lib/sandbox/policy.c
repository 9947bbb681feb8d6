#include "sandbox/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

/* 64-bit argument comparisons (SCMP_CMP_GT on socket's domain) were wrong
 * before libseccomp 2.4. */
#if SCMP_VER_MAJOR < 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 4)
#error "libseccomp 2.4 or later is needed"
#endif

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
	/* Channels between boxes: the read-only binds of /usr and the rest
	 * are the same inodes in every box (and on the host), and inotify
	 * watches, file locks and leases are kept per inode, not per mount
	 * namespace. With them one box sees what another opens, or signals
	 * to it by locking. */
	"inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_mark", "flock",
	/* No judged program needs these; each is kernel attack surface or a
	 * host-wide effect. */
	"modify_ldt", "uselib", "sync", "syncfs",
	"io_setup", "io_submit", "io_getevents", "io_pgetevents", "io_cancel", "io_destroy",
	"migrate_pages", "process_madvise", "pidfd_getfd",
};

/* fcntl commands that lock, lease or watch: the per-inode channels above,
 * reached through fcntl (F_GETLK too, which shows another box's lock). */
static const unsigned long fcntl_denied[] = {
	F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_NOTIFY,
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
	{"move_pages", 0, -1, 0},
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

/* The cmd of fcntl is an unsigned int: its low 32 bits are compared. */
static int add_fcntl(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof fcntl_denied / sizeof fcntl_denied[0]; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, fcntl_denied[i])) != 0)
			return -1;
	return 0;
}

/* Sockets of AF_UNIX, AF_INET and AF_INET6 only (AF_UNSPEC fails by
 * itself): netlink (host uevents, NETLINK_KOBJECT_UEVENT), vsock (not
 * namespaced: it reaches a VM's host), AF_ALG, packet and every other
 * family are refused. The kernel reads the domain as an int: a value
 * above AF_INET6 in 64 bits is refused whatever its low half says, and
 * below it the families between AF_INET and AF_INET6 one by one. */
static int add_socket(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_GT, AF_INET6)) != 0)
		return -1;
	for (unsigned long d = AF_INET + 1; d < AF_INET6; d++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, d)) != 0)
			return -1;
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
	if (add_fcntl(ctx) != 0 || add_socket(ctx) != 0)
		return -1;
	return add_self_only(ctx);
}

/* The filter as libseccomp builds it: a context with every rule. */
static scmp_filter_ctx build(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return NULL;
	/* Only the native ABI: i386 and x32 entry points are killed. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0 &&
	    add_rules(ctx) == 0 &&
	    /* A binary tree of syscall numbers instead of a linear scan (2.5.0+):
	     * every syscall of the program pays for the filter. */
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) == 0)
		return ctx;
	seccomp_release(ctx);
	return NULL;
}

/* The BPF program libseccomp made of it, once per process (children
 * inherit it): building it takes about 0.6 ms, installing it 0.02. */
static struct sock_fprog prepared;

int policy_prepare(void)
{
	struct stat st;
	const off_t insn = (off_t)sizeof *prepared.filter;
	if (prepared.filter)
		return 0;
	errno = 0;
	scmp_filter_ctx ctx = build();
	int fd = ctx ? memfd_create("codex-policy", MFD_CLOEXEC) : -1;
	if (fd >= 0 && seccomp_export_bpf(ctx, fd) == 0 && fstat(fd, &st) == 0 &&
	    st.st_size > 0 && st.st_size % insn == 0 && st.st_size / insn <= BPF_MAXINSNS &&
	    lseek(fd, 0, SEEK_SET) == 0 &&
	    (prepared.filter = (void *)read_exact(fd, (size_t)st.st_size)) != NULL)
		prepared.len = (unsigned short)(st.st_size / insn);
	if (fd >= 0)
		close(fd);
	if (ctx)
		seccomp_release(ctx);
	if (prepared.filter)
		return 0;
	if (errno == 0)
		errno = EINVAL;	/* libseccomp says no more */
	return -1;
}

int policy_load(void)
{
	if (policy_prepare() != 0)
		return -1;
	/* What seccomp_load() does with the default attributes, no_new_privs
	 * aside (the caller set it): no flags. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prepared);
}
