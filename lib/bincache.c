#include "bincache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int bincache_get(const char *dir, const char *key, size_t cap, char **data, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, key);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > cap) {
		close(fd);
		return -1;
	}
	char *buf = read_exact(fd, (size_t)st.st_size);
	futimens(fd, NULL);	/* mtime = last use, for trim_one() */
	close(fd);
	if (buf == NULL)
		return -1;
	*data = buf;
	*len = (size_t)st.st_size;
	return 0;
}

static int older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Removes the least recently used entry if there are more than max.
 * Returns 1 if one was removed and more may have to go. */
static int trim_one(const char *dir, long max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct timespec when = {0, 0};
	char oldest[NAME_MAX + 1] = "";
	long n = 0;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		n++;
		if (oldest[0] == '\0' || older(&st.st_mtim, &when)) {
			snprintf(oldest, sizeof oldest, "%s", e->d_name);
			when = st.st_mtim;
		}
	}
	int removed = n > max && oldest[0] && unlinkat(dirfd(d), oldest, 0) == 0;
	closedir(d);
	return removed && n - 1 > max;
}

void bincache_put(const char *dir, const char *key, const char *data, size_t len, long max)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("binary cache %s: %s", dir, strerror(errno));
		return;
	}
	snprintf(path, sizeof path, "%s/%s", dir, key);
	snprintf(tmp, sizeof tmp, "%s/.%s.%d.new", dir, key, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("binary cache %s: %s", tmp, strerror(errno));
		return;
	}
	int bad = write_all(fd, data, len) != 0;
	bad |= close(fd) != 0;
	if (bad || rename(tmp, path) != 0) {
		log_warn("binary cache %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return;
	}
	while (trim_one(dir, max))
		;
}
