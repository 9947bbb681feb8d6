#include "sandbox/pipeio.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

enum { READ_CHUNK = 65536, PIPE_ROOM = 1 << 20 };

static void close_fd(int *fd)
{
	close(*fd);
	*fd = -1;
}

void pipeio_widen(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_ROOM);
}

int pipeio_drain(int *fd, struct sbuf *b, size_t cap, int *trunc)
{
	char chunk[READ_CHUNK];
	ssize_t n = read(*fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close_fd(fd);
		return 0;
	}
	size_t room = cap > b->len ? cap - b->len : 0;
	size_t take = (size_t)n < room ? (size_t)n : room;
	if (take > 0)
		sbuf_put(b, chunk, take);
	if ((size_t)n == take)
		return 0;
	*trunc = 1;
	return 1;
}

void pipeio_feed(int *fd, const char *data, size_t len, size_t *off)
{
	size_t left = len - *off;
	ssize_t n = left ? write(*fd, data + *off, left) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		*off += (size_t)n;
	if (n < 0 || *off == len)
		close_fd(fd);
}
