/*
 * httpframe_fuzz.c — libFuzzer target for HTTP request framing
 * (src/util/httpframe.c). The first 2 bytes seed the chunking; the rest is
 * one client stream, read in one piece and in chunks. Checks: chunking
 * changes nothing (the verdict and its words, the requests begun, whether a
 * header section is open), a refusal is final, and a stream without "\n"
 * begins at most one request.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/httpframe.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpframe whole, parts;
	uint32_t seed;
	int rw, rp = 0;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;

	httpframe_init(&whole);
	rw = httpframe_feed(&whole, data, size);
	check(rw == 0 || rw == -1);
	if (rw != 0) {
		check(whole.why != NULL);
		check(httpframe_feed(&whole, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18) == -1);
	}

	httpframe_init(&parts);
	for (size_t i = 0; i < size && rp == 0;) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 64;
		if (k > size - i)
			k = size - i;
		rp = httpframe_feed(&parts, data + i, k);
		i += k;
	}
	check(rp == rw);
	check(parts.requests == whole.requests);
	check(parts.in_headers == whole.in_headers);
	check((parts.why == NULL) == (whole.why == NULL));
	if (whole.why != NULL)
		check(strcmp(parts.why, whole.why) == 0);
	if (memchr(data, '\n', size) == NULL)
		check(whole.requests <= 1);
	return 0;
}
