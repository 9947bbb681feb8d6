/* What every fuzz target shares: a quiet log, and the input as a
 * NUL-terminated copy (the library's texts are C strings). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static inline void fuzz_quiet(const char *name)
{
	setenv("LOG_LEVEL", "silent", 1);
	log_init(name);
}

/* data[0..size) with a NUL after it; the caller frees. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The initialiser of a target that needs nothing but a quiet log. */
#define FUZZ_QUIET_TARGET(name)						\
	int LLVMFuzzerInitialize(int *argc, char ***argv)		\
	{								\
		(void)argc;						\
		(void)argv;						\
		fuzz_quiet(name);					\
		return 0;						\
	}

#endif
