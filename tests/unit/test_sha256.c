/* Unit tests of lib/core/sha256.c against the FIPS 180-4 examples. */
#include <string.h>

#include "core/sha256.h"
#include "unit.h"

static const char *hex_of(const char *s, size_t len, size_t pieces)
{
	static char hex[65];
	struct sha256 c;
	sha256_init(&c);
	for (size_t i = 0; i < pieces; i++)
		sha256_update(&c, s, len);
	sha256_hex(&c, hex);
	return hex;
}

static void test_vectors(void)
{
	CHECK_STR(hex_of("", 0, 1), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_STR(hex_of("abc", 3, 1), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	CHECK_STR(hex_of(two, strlen(two), 1),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* One million 'a' in pieces that straddle block boundaries. */
	char a[1000];
	memset(a, 'a', sizeof a);
	CHECK_STR(hex_of(a, sizeof a, 1000),
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
	UNIT_RUN(test_vectors);
	return unit_finish();
}
