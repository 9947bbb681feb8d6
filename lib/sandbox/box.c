#include "sandbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	int saved = errno;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", msg, strerror(saved));
	return -1;
}

/* Creates every directory of rel (relative to the box root) with mode. */
static int mkdirs(struct box *b, const char *rel, mode_t mode)
{
	char buf[PATH_MAX];
	if (path_fmt(buf, sizeof buf, "%s", rel) != 0)
		return -1;
	for (char *p = buf; *p; p++) {
		if (*p != '/' || p == buf)
			continue;
		*p = '\0';
		if (mkdirat(b->rootfd, buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdirat(b->rootfd, buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* Makes the bind at target read-only, nosuid and nodev, submounts too. */
static int seal_ro(const char *target)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	/* Before Linux 5.12: the top mount only. */
	return mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* Binds host path into the box at the same place, read-only. A host
 * symlink (merged /usr) is recreated as a symlink; a missing path is
 * skipped. */
static int bind_host(struct box *b, const char *host, char *err, size_t errlen)
{
	struct stat st;
	char target[PATH_MAX * 2], link[PATH_MAX];
	const char *rel = host + strspn(host, "/");
	if (lstat(host, &st) != 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(host, link, sizeof link - 1);
		if (n < 0)
			return fail(err, errlen, "readlink %s", host);
		link[n] = '\0';
		if (symlinkat(link, b->rootfd, rel) != 0 && errno != EEXIST)
			return fail(err, errlen, "symlink %s in box", host);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirs(b, rel, 0755) != 0)
			return fail(err, errlen, "mkdir %s in box", rel);
	} else {
		char *slash = strrchr(rel, '/');
		if (slash) {
			char dir[PATH_MAX];
			if (path_fmt(dir, sizeof dir, "%.*s", (int)(slash - rel), rel) != 0 ||
			    mkdirs(b, dir, 0755) != 0)
				return fail(err, errlen, "mkdir %.*s in box", (int)(slash - rel), rel);
		}
		int fd = openat(b->rootfd, rel, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail(err, errlen, "create %s in box", rel);
		close(fd);
	}
	if (path_fmt(target, sizeof target, "%s/%s", b->root, rel) != 0 ||
	    mount(host, target, NULL, MS_BIND | MS_REC, NULL) != 0)
		return fail(err, errlen, "bind %s", host);
	if (seal_ro(target) != 0)
		return fail(err, errlen, "make %s read-only", target);
	return 0;
}

static int make_dev(struct box *b, char *err, size_t errlen)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom"};
	static const char *const links[][2] = {
		{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
		{"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
	};
	char host[64], target[PATH_MAX + 64];
	if (mkdirat(b->rootfd, "dev", 0755) != 0)
		return fail(err, errlen, "mkdir dev");
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		if (path_fmt(host, sizeof host, "/dev/%s", nodes[i]) != 0 ||
		    path_fmt(target, sizeof target, "%s/dev/%s", b->root, nodes[i]) != 0)
			return fail(err, errlen, "the path of /dev/%s in the box", nodes[i]);
		int fd = openat(b->rootfd, target + strlen(b->root) + 1,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return fail(err, errlen, "create %s", target);
		close(fd);
		/* The tmpfs is nodev; a bind of the host node keeps it usable. */
		if (mount(host, target, NULL, MS_BIND, NULL) != 0 ||
		    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC, NULL) != 0)
			return fail(err, errlen, "bind %s", host);
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][0], b->rootfd, links[i][1]) != 0)
			return fail(err, errlen, "symlink %s", links[i][1]);
	return 0;
}

/* Writes len bytes into fd: data's, or when src >= 0 the host file src's
 * from its start, copied in the kernel (no buffer of ours). */
static int fill(int fd, const char *data, int src, size_t len)
{
	off_t off = 0;
	if (src < 0)
		return write_all(fd, data, len);
	while ((size_t)off < len) {
		ssize_t n = sendfile(fd, src, &off, len - (size_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
	}
	return 0;
}

/* A new file rel in the box, with data's len bytes (src < 0) or src's. */
static int put_from(struct box *b, const char *rel, const char *data, int src, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fd = openat(b->rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return fail(err, errlen, "create %s in box", rel);
	if (fill(fd, data, src, len) != 0 || fchown(fd, uid, gid) != 0 || fchmod(fd, mode) != 0) {
		fail(err, errlen, "write %s in box", rel);
		close(fd);
		unlinkat(b->rootfd, rel, 0);	/* no half file (nothing has run yet) */
		return -1;
	}
	close(fd);
	return 0;
}

static int put_file(struct box *b, const char *rel, const char *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	return put_from(b, rel, data, -1, len, mode, uid, gid, err, errlen);
}

static int make_etc(struct box *b, char *err, size_t errlen)
{
	char passwd[256], group[256];
	snprintf(passwd, sizeof passwd,
		 "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		 "sandbox:x:%u:%u:sandbox:/tmp:/usr/sbin/nologin\n", b->uid, b->gid);
	snprintf(group, sizeof group, "root:x:0:\nsandbox:x:%u:\n", b->gid);
	static const char hosts[] = "127.0.0.1 localhost\n::1 localhost\n";
	if (mkdirs(b, "etc", 0755) != 0)
		return fail(err, errlen, "mkdir etc");
	if (put_file(b, "etc/passwd", passwd, strlen(passwd), 0644, 0, 0, err, errlen) ||
	    put_file(b, "etc/group", group, strlen(group), 0644, 0, 0, err, errlen) ||
	    put_file(b, "etc/hosts", hosts, sizeof hosts - 1, 0644, 0, 0, err, errlen))
		return -1;
	return 0;
}

static int make_workdirs(struct box *b, char *err, size_t errlen)
{
	static const char *const dirs[] = {"sandbox/code", "sandbox/bin", "sandbox/results"};
	if (mkdirat(b->rootfd, "proc", 0555) != 0 || mkdirat(b->rootfd, "tmp", 0777) != 0 ||
	    fchmodat(b->rootfd, "tmp", 01777, 0) != 0 || fchownat(b->rootfd, "tmp", 0, 0, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(err, errlen, "make /proc and /tmp");
	if (mkdirat(b->rootfd, "sandbox", 0755) != 0)
		return fail(err, errlen, "mkdir sandbox");
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (mkdirat(b->rootfd, dirs[i], 0755) != 0 ||
		    fchownat(b->rootfd, dirs[i], b->uid, b->gid, AT_SYMLINK_NOFOLLOW) != 0)
			return fail(err, errlen, "make %s", dirs[i]);
	return 0;
}

/* The warm cache (Go's build cache) seen through an overlay whose upper
 * layer is on the box's tmpfs: the box may write, the host copy never
 * changes. Without a warm copy the box gets an empty writable dir. */
static int make_cache(struct box *b, const struct lang *l, char *err, size_t errlen)
{
	char target[PATH_MAX * 2], opts[PATH_MAX * 4];
	const char *rel;
	struct stat st;
	if (l->cache_box == NULL)
		return 0;
	rel = l->cache_box + strspn(l->cache_box, "/");
	if (mkdirs(b, rel, 0755) != 0 ||
	    fchownat(b->rootfd, rel, b->uid, b->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(err, errlen, "make %s", rel);
	if (stat(l->cache_host, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (mkdirat(b->rootfd, ".overlay", 0700) != 0 || mkdirat(b->rootfd, ".overlay/up", 0755) != 0 ||
	    mkdirat(b->rootfd, ".overlay/work", 0700) != 0 ||
	    fchownat(b->rootfd, ".overlay/up", b->uid, b->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(err, errlen, "make the overlay dirs");
	if (path_fmt(target, sizeof target, "%s/%s", b->root, rel) != 0 ||
	    path_fmt(opts, sizeof opts, "lowerdir=%s,upperdir=%s/.overlay/up,workdir=%s/.overlay/work",
		     l->cache_host, b->root, b->root) != 0 ||
	    mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) != 0)
		return fail(err, errlen, "mount the %s cache overlay", l->name);
	return 0;
}

static int make_root(struct box *b, const char *state_dir, int64_t workdir_mb,
		     char *err, size_t errlen)
{
	char opts[128];
	if (path_fmt(b->root, sizeof b->root, "%s/box", state_dir) != 0)
		return fail(err, errlen, "the box's path in %s", state_dir);
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return fail(err, errlen, "mkdir %s", state_dir);
	if (mkdir(b->root, 0700) != 0 && errno != EEXIST)
		return fail(err, errlen, "mkdir %s", b->root);
	/* Our own copy of the mount table, private, so nothing leaks back. */
	if (unshare(CLONE_NEWNS) != 0)
		return fail(err, errlen, "unshare the mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail(err, errlen, "make mounts private");
	snprintf(opts, sizeof opts, "size=%lldm,nr_inodes=16384,mode=0755", (long long)workdir_mb);
	if (mount("codex-box", b->root, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return fail(err, errlen, "mount the box tmpfs");
	b->rootfd = open(b->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->rootfd < 0)
		return fail(err, errlen, "open %s", b->root);
	return 0;
}

int box_open(struct box *b, const struct lang_table *t, const struct lang *l,
	     const struct cg_sys *cgs, int slot, int64_t workdir_mb,
	     char *err, size_t errlen)
{
	int64_t t0 = now_mono_us(), t1, t2;
	memset(b, 0, sizeof *b);
	b->rootfd = -1;
	b->netfd = -1;
	b->slot = slot;
	b->uid = (uid_t)lang_slot_uid(t, NULL, slot);
	b->gid = (gid_t)lang_slot_uid(t, NULL, slot);
	b->cgs = cgs;
	if (make_root(b, t->state_dir, workdir_mb, err, errlen) != 0)
		return -1;
	t1 = now_mono_us();
	for (char **m = t->mounts; m && *m; m++)
		if (bind_host(b, *m, err, errlen) != 0)
			return -1;
	for (char **m = l->mounts; m && *m; m++)
		if (bind_host(b, *m, err, errlen) != 0)
			return -1;
	t2 = now_mono_us();
	if (make_dev(b, err, errlen) || make_etc(b, err, errlen) ||
	    make_workdirs(b, err, errlen) || make_cache(b, l, err, errlen))
		return -1;
	/* The breakdown of docs/sandbox.md, "Where the time goes". */
	log_job(LOG_DEBUG, NULL, "box open: root %.3f binds %.3f files %.3f ms",
		(double)(t1 - t0) / 1000, (double)(t2 - t1) / 1000,
		(double)(now_mono_us() - t2) / 1000);
	return 0;
}

/* rel: "sandbox/" and path, a name box_path_ok() takes. Returns 0, or -1
 * with err. */
static int sandbox_rel(const char *path, char rel[PATH_MAX], char *err, size_t errlen)
{
	if (!box_path_ok(path)) {
		snprintf(err, errlen, "bad file name '%s'", path);
		return -1;
	}
	if (path_fmt(rel, PATH_MAX, "sandbox/%s", path) != 0) {
		snprintf(err, errlen, "file name too long: '%.80s...'", path);
		return -1;
	}
	return 0;
}

int box_write(struct box *b, const char *path, const char *data, size_t len,
	      mode_t mode, char *err, size_t errlen)
{
	char rel[PATH_MAX];
	if (sandbox_rel(path, rel, err, errlen) != 0)
		return -1;
	return put_file(b, rel, data, len, mode, b->uid, b->gid, err, errlen);
}

int box_copy(struct box *b, const char *path, int fd, size_t len, mode_t mode,
	     char *err, size_t errlen)
{
	char rel[PATH_MAX];
	if (sandbox_rel(path, rel, err, errlen) != 0)
		return -1;
	return put_from(b, rel, NULL, fd, len, mode, b->uid, b->gid, err, errlen);
}

int box_write_sealed(struct box *b, const char *name, const char *data, size_t len,
		     char *err, size_t errlen)
{
	char rel[PATH_MAX];
	if (!box_path_ok(name) || strchr(name, '/') ||
	    path_fmt(rel, sizeof rel, "sandbox/%s", name) != 0) {
		snprintf(err, errlen, "bad file name '%.80s'", name);
		return -1;
	}
	return put_file(b, rel, data, len, 0444, 0, 0, err, errlen);
}

int box_read_file(struct box *b, const char *path, size_t cap, char **data,
		  size_t *len, const char **why)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	size_t size;
	*data = NULL;
	*len = 0;
	int fd = (int)syscall(SYS_openat2, b->rootfd, path, &how, sizeof how);
	if (fd < 0) {
		*why = box_open_why(errno);
		return -1;
	}
	*why = box_file_why(fd, cap, &size);
	char *buf = *why ? NULL : read_exact(fd, size);
	close(fd);
	if (*why == NULL && buf == NULL)
		*why = "unreadable";
	if (*why)
		return -1;
	*data = buf;
	*len = size;
	return 0;
}

void box_end(struct box *b)
{
	box_close(b);
	if (b->rootfd >= 0)
		close(b->rootfd);
	b->rootfd = -1;
	if (b->root[0] && umount2(b->root, MNT_DETACH) != 0)
		log_warn("unmount %s: %s", b->root, strerror(errno));
}

static int ns_write(void *b, const char *path, const char *data, size_t len, mode_t mode,
		    char *err, size_t errlen)
{
	return box_write(b, path, data, len, mode, err, errlen);
}

static int ns_copy(void *b, const char *path, int fd, size_t len, mode_t mode,
		   char *err, size_t errlen)
{
	return box_copy(b, path, fd, len, mode, err, errlen);
}

static int ns_run(void *b, const struct box_step *s, struct box_result *r, char *err, size_t errlen)
{
	return box_run(b, s, r, err, errlen);
}

static int ns_read_file(void *b, const char *path, size_t cap, char **data, size_t *len,
			const char **why)
{
	return box_read_file(b, path, cap, data, len, why);
}

static int ns_warm(void *b, const struct box_step *s, char *err, size_t errlen)
{
	return box_warm(b, s, err, errlen);
}

static int ns_put_launcher(void *b, const char *name, const char *data, size_t len,
			   char *err, size_t errlen)
{
	return box_write_sealed(b, name, data, len, err, errlen);
}

const struct box_ops box_ns_ops = {
	.name = "ns", .write = ns_write, .copy = ns_copy, .run = ns_run, .read_file = ns_read_file,
	.warm = ns_warm, .put_launcher = ns_put_launcher,
};
