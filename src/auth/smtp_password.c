/*
 * smtp_password.c — SMTP password derivation and checking (see smtp_password.h and
 * spec §5.2). Pure functions; the secret never leaves the stack and every
 * intermediate key is wiped before return.
 */
#include "auth/smtp_password.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/hash.h"
#include "util/xalloc.h"

#define RAW_LEN 33 /* version byte + HMAC-SHA256 */

static void
raw_v4(const char *secret, const char *region, uint8_t raw[RAW_LEN])
{
	static const char *const chain[] = {"ses", "aws4_request", "SendRawEmail"};
	size_t slen = strlen(secret);
	uint8_t *k0 = xmalloc(slen + 4);
	uint8_t k[32];

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen);
	/* SES uses a fixed fake date for SMTP credentials. */
	hmac_sha256(k0, slen + 4, "11111111", 8, k);
	OPENSSL_cleanse(k0, slen + 4);
	free(k0);
	hmac_sha256(k, 32, region, strlen(region), k);
	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		hmac_sha256(k, 32, chain[i], strlen(chain[i]), k);
	raw[0] = 0x04;
	memcpy(raw + 1, k, 32);
	OPENSSL_cleanse(k, sizeof(k));
}

static void
raw_v2(const char *secret, uint8_t raw[RAW_LEN])
{
	raw[0] = 0x02;
	hmac_sha256(secret, strlen(secret), "SendRawEmail", 12, raw + 1);
}

static void
encode(const uint8_t raw[RAW_LEN], char out[SMTP_PASSWORD_LEN])
{
	char *s = base64_encode(raw, RAW_LEN);

	/* 33 bytes always encode to exactly 44 characters. */
	memcpy(out, s, SMTP_PASSWORD_LEN);
	OPENSSL_cleanse(s, SMTP_PASSWORD_LEN);
	free(s);
}

void
smtp_password_v4(const char *secret, const char *region, char out[SMTP_PASSWORD_LEN])
{
	uint8_t raw[RAW_LEN];

	raw_v4(secret, region, raw);
	encode(raw, out);
	OPENSSL_cleanse(raw, sizeof(raw));
}

void
smtp_password_v2(const char *secret, char out[SMTP_PASSWORD_LEN])
{
	uint8_t raw[RAW_LEN];

	raw_v2(secret, raw);
	encode(raw, out);
	OPENSSL_cleanse(raw, sizeof(raw));
}

bool
smtp_password_check(const char *secret, const char *region, const char *password)
{
	uint8_t want[RAW_LEN];
	uint8_t *got;
	size_t n, glen = 0;
	bool ok = false;

	if (secret == NULL || region == NULL || password == NULL)
		return false;
	n = strnlen(password, SMTP_PASSWORD_MAX_INPUT + 1);
	if (n == 0 || n > SMTP_PASSWORD_MAX_INPUT)
		return false;
	got = base64_decode(password, n, &glen);
	if (got == NULL)
		return false;
	if (glen == RAW_LEN) {
		/* The version byte is not secret: it picks the derivation. */
		if (got[0] == 0x04) {
			raw_v4(secret, region, want);
			ok = ct_equal(got, glen, want, RAW_LEN);
		} else if (got[0] == 0x02) {
			raw_v2(secret, want);
			ok = ct_equal(got, glen, want, RAW_LEN);
		}
	}
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(got, glen);
	free(got);
	return ok;
}
