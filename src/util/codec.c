/* codec.c — see codec.h. Random bytes come from OpenSSL's CSPRNG. */
#include "util/codec.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/xalloc.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
base64_encode(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Decoding table: 0–63 for the alphabet, 64 for skipped whitespace, 65 for
 * '=', 255 for anything else. Built once from the alphabet at first use. */
enum { B64_SPACE = 64, B64_PAD = 65, B64_BAD = 255 };
static uint8_t b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_table_init(void)
{
	memset(b64_table, B64_BAD, sizeof(b64_table));
	for (int i = 0; i < 64; i++)
		b64_table[(unsigned char)b64[i]] = (uint8_t)i;
	b64_table[' '] = b64_table['\t'] = b64_table['\r'] = b64_table['\n'] = B64_SPACE;
	b64_table['='] = B64_PAD;
}

uint8_t *
base64_decode(const char *s, size_t n, size_t *len_out)
{
	const unsigned char *p = (const unsigned char *)s;
	uint8_t *out = xmalloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	size_t o = 0, pad = 0, k = 0, i = 0;

	pthread_once(&b64_once, b64_table_init);
	/* Fast path: whole quanta of four alphabet characters. */
	while (i + 4 <= n) {
		uint32_t a = b64_table[p[i]], b = b64_table[p[i + 1]], c = b64_table[p[i + 2]],
			 d = b64_table[p[i + 3]];
		if ((a | b | c | d) & 0xc0)
			break;
		uint32_t v = a << 18 | b << 12 | c << 6 | d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
		i += 4;
	}
	/* Slow path: whitespace, padding and the tail. */
	for (; i < n; i++) {
		uint8_t v = b64_table[p[i]];
		if (v == B64_SPACE)
			continue;
		if (v == B64_PAD) {
			pad++;
			continue;
		}
		if (v == B64_BAD || pad > 0)
			goto fail;
		acc = acc << 6 | v;
		if (++k == 4) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
			k = 0;
		}
	}
	/* padding optional, but if present it must complete the last quantum */
	if (pad > 2 || k == 1 || (pad && k + pad != 4))
		goto fail;
	if (k == 2) {
		out[o++] = (uint8_t)(acc >> 4);
	} else if (k == 3) {
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	*len_out = o;
	return out;
fail:
	free(out);
	return NULL;
}

void
hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

void
random_bytes(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		fputs("sesame: RAND_bytes failed\n", stderr);
		abort();
	}
}

void
uuid_v4(char out[37])
{
	/* a thread's pool of RAND_bytes output, drawn 16 bytes a time: one
	 * DRBG call per 32 identifiers instead of one each (request ids are
	 * made on every request). Never used for secrets: random_bytes is. */
	static _Thread_local uint8_t pool[512];
	static _Thread_local size_t used = sizeof(pool);
	static const char hx[] = "0123456789abcdef";
	uint8_t r[16];
	char *o = out;

	if (used == sizeof(pool)) {
		random_bytes(pool, sizeof(pool));
		used = 0;
	}
	memcpy(r, pool + used, sizeof(r));
	OPENSSL_cleanse(pool + used, sizeof(r));
	used += sizeof(r);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (size_t i = 0; i < sizeof(r); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hx[r[i] >> 4];
		*o++ = hx[r[i] & 15];
	}
	*o = '\0';
}
