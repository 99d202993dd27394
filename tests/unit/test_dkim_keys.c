/* test_dkim_keys.c — src/auth/dkim_keys.c: selectors, RSA-2048 and Ed25519
 * generation sealed with the vault, public keys for the p= tag, record
 * matching, signatures that verify under the published key, sets sealed
 * before Ed25519 (three blocks) that keep working and can be given a key,
 * and BYODKIM: the caller's key in each accepted form, the refusals, the
 * input cap at limit-1/limit/limit+1, and the one-key set it is sealed as. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/dkim_keys.h"
#include "auth/vault.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/xalloc.h"

struct fixture {
	char *dir, *dir2;
	struct vault *v, *other;
	uint8_t *sealed;
	size_t sealed_len;
	char *pub[DKIM_KEYS_N];
	char *ed;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static char *
tmpdir(void)
{
	char *d = xstrdup("/tmp/sesame-dkim-XXXXXX");
	if (mkdtemp(d) == NULL)
		abort();
	return d;
}

/* Key generation is slow-ish: one set for the whole file. */
static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = {0};

	f->dir = tmpdir();
	f->dir2 = tmpdir();
	f->v = vault_open(f->dir, NULL, &e);
	f->other = vault_open(f->dir2, NULL, &e);
	if (f->v == NULL || f->other == NULL)
		return -1;
	if (dkim_keys_generate(f->v, &f->sealed, &f->sealed_len, &e) != 0)
		return -1;
	if (dkim_keys_public(f->v, f->sealed, f->sealed_len, f->pub, &f->ed, &e) != 0 ||
	    f->ed == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < DKIM_KEYS_N; i++)
		free(f->pub[i]);
	free(f->ed);
	free(f->sealed);
	vault_free(f->v);
	vault_free(f->other);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->dir2, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f->dir2);
	free(f);
	return 0;
}

static void
test_tokens(void **state)
{
	(void)state;
	char t[DKIM_KEYS_N][DKIM_TOKEN_LEN + 1];

	for (int round = 0; round < 50; round++) {
		dkim_keys_tokens(t);
		for (int i = 0; i < DKIM_KEYS_N; i++) {
			assert_int_equal(strlen(t[i]), DKIM_TOKEN_LEN);
			assert_int_equal(strspn(t[i], "abcdefghijklmnopqrstuvwxyz234567"),
					 DKIM_TOKEN_LEN);
			assert_true(dkim_keys_token_ok(t[i]));
			for (int j = 0; j < i; j++)
				assert_string_not_equal(t[i], t[j]);
		}
	}
}

static void
test_token_ok(void **state)
{
	(void)state;
	assert_true(dkim_keys_token_ok("abcdefghijklmnopqrstuvwxyz234567"));
	assert_false(dkim_keys_token_ok(NULL));
	assert_false(dkim_keys_token_ok(""));
	assert_false(dkim_keys_token_ok("abcdefghijklmnopqrstuvwxyz23456"));   /* 31 */
	assert_false(dkim_keys_token_ok("abcdefghijklmnopqrstuvwxyz2345677")); /* 33 */
	assert_false(dkim_keys_token_ok("Abcdefghijklmnopqrstuvwxyz234567"));  /* upper */
	assert_false(dkim_keys_token_ok("abcdefghijklmnopqrstuvwxyz234561"));  /* '1' */
	assert_false(dkim_keys_token_ok("abcdefghijklmnopqrstuvwxyz234568"));  /* '8' */
}

static EVP_PKEY *
decode_pub(const char *b64)
{
	size_t n;
	uint8_t *der = base64_decode(b64, strlen(b64), &n);
	const unsigned char *p = der;
	EVP_PKEY *k;

	assert_non_null(der);
	k = d2i_PUBKEY(NULL, &p, (long)n);
	free(der);
	return k;
}

static void
test_public_keys_are_rsa_2048(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < DKIM_KEYS_N; i++) {
		EVP_PKEY *k = decode_pub(f->pub[i]);
		assert_non_null(k);
		assert_int_equal(EVP_PKEY_is_a(k, "RSA"), 1);
		assert_int_equal(EVP_PKEY_get_bits(k), 2048);
		EVP_PKEY_free(k);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(f->pub[i], f->pub[j]);
	}
}

static void
test_sealed_at_rest(void **state)
{
	struct fixture *f = *state;
	const char *needle = "PRIVATE KEY";

	/* nothing of the PEM armour is visible in the stored blob */
	assert_null(memmem(f->sealed, f->sealed_len, needle, strlen(needle)));
	/* the same blob read twice gives the same public keys */
	char *again[DKIM_KEYS_N], *ed;
	struct err e = {0};
	assert_int_equal(dkim_keys_public(f->v, f->sealed, f->sealed_len, again, &ed, &e), 0);
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		assert_string_equal(again[i], f->pub[i]);
		free(again[i]);
	}
	assert_string_equal(ed, f->ed);
	free(ed);
	/* without ed_out: the RSA keys alone */
	assert_int_equal(dkim_keys_public(f->v, f->sealed, f->sealed_len, again, NULL, &e), 0);
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		assert_string_equal(again[i], f->pub[i]);
		free(again[i]);
	}
}

static void
test_wrong_vault_or_garbage(void **state)
{
	struct fixture *f = *state;
	char *out[DKIM_KEYS_N], *ed = (char *)"x";
	struct err e = {0};
	uint8_t *bad = xmalloc(f->sealed_len);

	assert_int_equal(dkim_keys_public(f->other, f->sealed, f->sealed_len, out, &ed, &e), -1);
	for (int i = 0; i < DKIM_KEYS_N; i++)
		assert_null(out[i]);
	assert_null(ed);
	memcpy(bad, f->sealed, f->sealed_len);
	bad[f->sealed_len / 2] ^= 1;
	assert_int_equal(dkim_keys_public(f->v, bad, f->sealed_len, out, &ed, &e), -1);
	assert_int_equal(dkim_keys_public(f->v, NULL, 0, out, &ed, &e), -1);
	assert_int_equal(e.http, 500);
	free(bad);

	/* a sealed blob that is not three PEM keys */
	uint8_t *junk;
	size_t jn;
	assert_int_equal(vault_seal(f->v, "hello", 5, &junk, &jn, &e), 0);
	assert_int_equal(dkim_keys_public(f->v, junk, jn, out, &ed, &e), -1);
	free(junk);
}

static void
test_record(void **state)
{
	(void)state;
	char *r = dkim_keys_record("MIIBabc");
	assert_string_equal(r, "v=DKIM1; k=rsa; p=MIIBabc");
	free(r);
}

static bool
matches(const char *txt, const char *pub)
{
	return dkim_keys_record_matches(txt, strlen(txt), pub);
}

static void
test_record_matches(void **state)
{
	(void)state;
	const char *pub = "MIIBIjANBgkqh+/=";
	struct {
		const char *txt;
		bool ok;
	} cases[] = {
		{"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/=", true},
		{"v=DKIM1;k=rsa;p=MIIBIjANBgkqh+/=", true},
		{"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/=;", true},
		{"  v = DKIM1 ; k = rsa ; p = MIIBIj ANBg kqh+/= ", true}, /* FWS inside p */
		{"p=MIIBIjANBgkqh+/=", true},                             /* v, k optional */
		{"k=rsa; p=MIIBIjANBgkqh+/=; t=s", true},
		{"v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqh+/=", true},
		{"k=rsa; v=DKIM1; p=MIIBIjANBgkqh+/=", false},            /* v must be first */
		{"v=DKIM2; p=MIIBIjANBgkqh+/=", false},
		{"v=DKIM1; k=ed25519; p=MIIBIjANBgkqh+/=", false},
		{"v=DKIM1; k=rsa; p=", false},                            /* revoked */
		{"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/", false},
		{"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/==", false},
		{"v=DKIM1; k=rsa", false},
		{"v=DKIM1; k=rsa; p=MIIBIjANBgkqh+/=; p=MIIBIjANBgkqh+/=", false},
		{"", false},
		{";;;", false},
		{"garbage", false},
		{"=x", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (matches(cases[i].txt, pub) != cases[i].ok)
			fail_msg("case %zu '%s': expected %d", i, cases[i].txt, cases[i].ok);
	}
	assert_false(matches("p=x", ""));
	assert_false(dkim_keys_record_matches(NULL, 0, pub));
}

static void
test_record_matches_real_keys(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < DKIM_KEYS_N; i++) {
		char *r = dkim_keys_record(f->pub[i]);
		assert_true(matches(r, f->pub[i]));
		assert_false(matches(r, f->pub[(i + 1) % DKIM_KEYS_N]));
		free(r);
	}
}

static void
test_sign_verifies_with_published_key(void **state)
{
	struct fixture *f = *state;
	static const char data[] = "from:a@example.com\r\nsubject:hi\r\n";
	struct err e = {0};

	for (int i = 0; i < DKIM_KEYS_N; i++) {
		uint8_t *sig;
		size_t slen;
		assert_int_equal(dkim_keys_sign(f->v, f->sealed, f->sealed_len, i, data,
						sizeof(data) - 1, &sig, &slen, &e),
				 0);
		assert_int_equal(slen, 256);
		for (int j = 0; j < DKIM_KEYS_N; j++) {
			EVP_PKEY *k = decode_pub(f->pub[j]);
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, k,
								 NULL),
					 1);
			int ok = EVP_DigestVerify(md, sig, slen, (const uint8_t *)data,
						  sizeof(data) - 1);
			assert_int_equal(ok == 1, i == j);
			EVP_MD_CTX_free(md);
			EVP_PKEY_free(k);
		}
		free(sig);
	}
	uint8_t *sig;
	size_t slen;
	assert_int_equal(dkim_keys_sign(f->v, f->sealed, f->sealed_len, 3, data, 1, &sig, &slen, &e),
			 -1);
	assert_int_equal(dkim_keys_sign(f->v, f->sealed, f->sealed_len, -1, data, 1, &sig, &slen,
					&e),
			 -1);
	assert_int_equal(dkim_keys_sign(f->other, f->sealed, f->sealed_len, 0, data, 1, &sig, &slen,
					&e),
			 -1);
}

/* ---- Ed25519 (RFC 8463) ---------------------------------------------------------- */

static EVP_PKEY *
decode_ed(const char *b64)
{
	size_t n;
	uint8_t *raw = base64_decode(b64, strlen(b64), &n);
	EVP_PKEY *k;

	assert_non_null(raw);
	assert_int_equal(n, 32);
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n);
	free(raw);
	assert_non_null(k);
	return k;
}

static void
test_ed25519_public_key_and_record(void **state)
{
	struct fixture *f = *state;
	char *r;

	/* RFC 8463 §4.2: the raw 32-byte key, base64 (44 chars, one '=') */
	assert_int_equal(strlen(f->ed), DKIM_ED25519_PUB_B64_LEN);
	assert_int_equal(strspn(f->ed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/"),
			 43);
	assert_string_equal(f->ed + 43, "=");
	EVP_PKEY_free(decode_ed(f->ed));
	for (int i = 0; i < DKIM_KEYS_N; i++)
		assert_string_not_equal(f->ed, f->pub[i]);
	r = dkim_keys_record_ed25519(f->ed);
	assert_int_equal(strncmp(r, "v=DKIM1; k=ed25519; p=", 22), 0);
	assert_string_equal(r + 22, f->ed);
	assert_true(dkim_keys_record_matches_ed25519(r, strlen(r), f->ed));
	assert_false(dkim_keys_record_matches(r, strlen(r), f->ed)); /* not an RSA record */
	free(r);
	r = dkim_keys_record(f->pub[0]);
	assert_false(dkim_keys_record_matches_ed25519(r, strlen(r), f->pub[0]));
	free(r);
}

static void
test_ed25519_selector(void **state)
{
	(void)state;
	char sel[DKIM_ED25519_SELECTOR_LEN + 1];

	dkim_keys_ed25519_selector("abcdefghijklmnopqrstuvwxyz234567", sel, sizeof(sel));
	assert_string_equal(sel, "abcdefghijklmnopqrstuvwxyz234567ed");
	dkim_keys_ed25519_selector("abc", sel, 4); /* truncated, terminated */
	assert_string_equal(sel, "abc");
}

static void
test_record_matches_ed25519(void **state)
{
	(void)state;
	const char *pub = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	struct {
		const char *txt;
		bool ok;
	} cases[] = {
		{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", true},
		{"k=ed25519;p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", true},
		{" v=DKIM1 ; k = ed25519 ; p = 11qYAYKxCrfV S/7TyWQHOg7hcvPapiMlrwIaaPcHURo= ;", true},
		{"v=DKIM1; k=ed25519; t=s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", true},
		/* no k=: that means rsa */
		{"v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", false},
		{"v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", false},
		{"v=DKIM1; k=ED25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", false},
		{"v=DKIM1; k=ed25519; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		 false},
		{"k=ed25519; v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", false},
		{"v=DKIM1; k=ed25519; p=", false},
		{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", false},
		{"v=DKIM1; k=ed25519", false},
		{"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (dkim_keys_record_matches_ed25519(cases[i].txt, strlen(cases[i].txt), pub) !=
		    cases[i].ok)
			fail_msg("case %zu '%s': expected %d", i, cases[i].txt, cases[i].ok);
	}
	assert_false(dkim_keys_record_matches_ed25519("k=ed25519; p=x", 14, ""));
	assert_false(dkim_keys_record_matches_ed25519(NULL, 0, pub));
}

static void
test_ed25519_sign_verifies_with_published_key(void **state)
{
	struct fixture *f = *state;
	uint8_t digest[32], *sig;
	size_t slen;
	struct err e = {0};
	EVP_PKEY *k = decode_ed(f->ed);

	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(dkim_keys_sign_ed25519(f->v, f->sealed, f->sealed_len, digest,
						sizeof(digest), &sig, &slen, &e),
			 0);
	assert_int_equal(slen, 64);
	/* PureEd25519 over exactly the bytes given */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, slen, digest, sizeof(digest)), 1);
	EVP_MD_CTX_free(md);
	digest[0] ^= 1;
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL), 1);
	assert_int_not_equal(EVP_DigestVerify(md, sig, slen, digest, sizeof(digest)), 1);
	EVP_MD_CTX_free(md);
	free(sig);
	EVP_PKEY_free(k);
	assert_int_equal(dkim_keys_sign_ed25519(f->other, f->sealed, f->sealed_len, digest, 32,
						&sig, &slen, &e),
			 -1);
	assert_null(sig);
	assert_int_equal(dkim_keys_sign_ed25519(f->v, NULL, 0, digest, 32, &sig, &slen, &e), -1);
}

/* The fixture's plaintext cut to its first `blocks` PEM blocks (blocks > 4:
 * the last one repeated), sealed again. */
static uint8_t *
reseal_blocks(struct fixture *f, int blocks, size_t *len_out)
{
	uint8_t *plain, *out;
	size_t n;
	struct err e = {0};
	struct buf b;
	const char *begin = "-----BEGIN ", *p, *last = NULL;

	assert_int_equal(vault_unseal(f->v, f->sealed, f->sealed_len, &plain, &n, &e), 0);
	buf_init(&b, 0);
	const char *top = (const char *)plain + n;
	p = (const char *)plain;
	for (int i = 0; i < blocks; i++) {
		const char *s = memmem(p, (size_t)(top - p), begin, 11);
		if (s == NULL) {
			assert_non_null(last);
			s = last;
		}
		const char *end = memmem(s, (size_t)(top - s), "-----END ", 9);
		assert_non_null(end);
		end = memchr(end, '\n', (size_t)(top - end));
		assert_non_null(end);
		end++;
		if (i > 0)
			buf_append(&b, "\n", 1);
		buf_append(&b, s, (size_t)(end - s));
		last = s;
		p = end;
	}
	assert_int_equal(vault_seal(f->v, b.data, b.len, &out, len_out, &e), 0);
	buf_free(&b);
	free(plain);
	return out;
}

static void
test_three_block_set_has_no_ed25519_and_gets_one(void **state)
{
	struct fixture *f = *state;
	char *pub[DKIM_KEYS_N], *ed = (char *)"x";
	uint8_t *old, *added, *sig, digest[32] = {0};
	size_t old_len, added_len, slen;
	struct err e = {0};

	old = reseal_blocks(f, DKIM_KEYS_N, &old_len);
	/* the RSA keys as before, no Ed25519 key; RSA signing still works */
	assert_int_equal(dkim_keys_public(f->v, old, old_len, pub, &ed, &e), 0);
	assert_null(ed);
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		assert_string_equal(pub[i], f->pub[i]);
		free(pub[i]);
	}
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		assert_int_equal(dkim_keys_sign(f->v, old, old_len, i, "x", 1, &sig, &slen, &e), 0);
		assert_int_equal(slen, 256);
		free(sig);
	}
	assert_int_equal(dkim_keys_sign_ed25519(f->v, old, old_len, digest, 32, &sig, &slen, &e),
			 -1);
	assert_int_equal(e.http, 500);

	/* dkim_keys_add_ed25519: the same RSA keys and a fresh Ed25519 key */
	assert_int_equal(dkim_keys_add_ed25519(f->other, old, old_len, &added, &added_len, &e), -1);
	assert_int_equal(dkim_keys_add_ed25519(f->v, old, old_len, &added, &added_len, &e), 1);
	assert_non_null(added);
	assert_int_equal(dkim_keys_public(f->v, added, added_len, pub, &ed, &e), 0);
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		assert_string_equal(pub[i], f->pub[i]);
		free(pub[i]);
	}
	assert_non_null(ed);
	assert_string_not_equal(ed, f->ed);
	assert_int_equal(dkim_keys_sign_ed25519(f->v, added, added_len, digest, 32, &sig, &slen,
						&e),
			 0);
	EVP_PKEY *k = decode_ed(ed);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, slen, digest, 32), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	free(sig);
	free(ed);

	/* a set that has one is left alone */
	uint8_t *again = (uint8_t *)"x";
	size_t again_len = 1;
	assert_int_equal(dkim_keys_add_ed25519(f->v, added, added_len, &again, &again_len, &e), 0);
	assert_null(again);
	assert_int_equal(again_len, 0);
	assert_int_equal(dkim_keys_add_ed25519(f->v, f->sealed, f->sealed_len, &again, &again_len,
					       &e),
			 0);
	free(added);
	free(old);
}

static void
test_block_counts_and_types(void **state)
{
	struct fixture *f = *state;
	char *pub[DKIM_KEYS_N], *ed;
	uint8_t *blob, *sig, *out;
	size_t n, slen, on;
	struct err e = {0};

	/* two blocks, or five: not a key set (one is a BYODKIM set, below) */
	int bad_counts[] = {2, 5};
	for (size_t c = 0; c < sizeof(bad_counts) / sizeof(bad_counts[0]); c++) {
		blob = reseal_blocks(f, bad_counts[c], &n);
		assert_int_equal(dkim_keys_public(f->v, blob, n, pub, &ed, &e), -1);
		assert_int_equal(dkim_keys_sign(f->v, blob, n, 0, "x", 1, &sig, &slen, &e), -1);
		assert_int_equal(dkim_keys_sign_ed25519(f->v, blob, n, "x", 1, &sig, &slen, &e),
				 -1);
		assert_int_equal(dkim_keys_add_ed25519(f->v, blob, n, &out, &on, &e), -1);
		free(blob);
	}
	/* one block: key 0 alone, no Ed25519 key, and none added */
	blob = reseal_blocks(f, 1, &n);
	assert_int_equal(dkim_keys_public(f->v, blob, n, pub, &ed, &e), 0);
	assert_string_equal(pub[0], f->pub[0]);
	assert_null(pub[1]);
	assert_null(pub[2]);
	assert_null(ed);
	free(pub[0]);
	assert_int_equal(dkim_keys_sign(f->v, blob, n, 0, "x", 1, &sig, &slen, &e), 0);
	free(sig);
	assert_int_equal(dkim_keys_sign(f->v, blob, n, 1, "x", 1, &sig, &slen, &e), -1);
	assert_int_equal(dkim_keys_sign_ed25519(f->v, blob, n, "x", 1, &sig, &slen, &e), -1);
	assert_int_equal(dkim_keys_add_ed25519(f->v, blob, n, &out, &on, &e), 0);
	assert_null(out);
	struct dkim_keys_cache *c = dkim_keys_cache_new(f->v);
	assert_int_equal(dkim_keys_cache_sign(c, blob, n, 0, "x", 1, &sig, &slen, &e), 0);
	free(sig);
	assert_int_equal(dkim_keys_cache_sign(c, blob, n, 2, "x", 1, &sig, &slen, &e), -1);
	assert_int_equal(dkim_keys_cache_sign(c, blob, n, DKIM_KEYS_N, "x", 1, &sig, &slen, &e),
			 -1);
	dkim_keys_cache_free(c);
	free(blob);
}

/* ---- BYODKIM ------------------------------------------------------------ */

EVP_PKEY *dkim_keys_parse(const char *text, size_t n, struct err *e); /* TESTABLE */

/* DER of k as `structure` ("PrivateKeyInfo": PKCS#8, "type-specific": PKCS#1). */
static uint8_t *
der_of(EVP_PKEY *k, const char *structure, size_t *n)
{
	OSSL_ENCODER_CTX *c = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "DER", structure,
							    NULL);
	unsigned char *p = NULL;

	assert_non_null(c);
	assert_int_equal(OSSL_ENCODER_to_data(c, &p, n), 1);
	OSSL_ENCODER_CTX_free(c);
	return p;
}

static char *
b64_of(EVP_PKEY *k, const char *structure)
{
	size_t n;
	uint8_t *der = der_of(k, structure, &n);
	char *b = base64_encode(der, n);

	OPENSSL_free(der);
	return b;
}

/* PEM text of k: PKCS#8, or PKCS#1 ("RSA PRIVATE KEY") when traditional. */
static char *
pem_of(EVP_PKEY *k, bool traditional)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (traditional)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	char *out = xstrndup(p, (size_t)n);
	BIO_free(bio);
	return out;
}

static char *
spki_b64(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	char *out = base64_encode(der, (size_t)n);

	OPENSSL_free(der);
	return out;
}

/* dkim_keys_parse accepts `text`: the same public key as k. */
static void
parses_as(const char *text, size_t n, EVP_PKEY *k)
{
	struct err e = {0};
	EVP_PKEY *got = dkim_keys_parse(text, n, &e);
	char *a, *b;

	assert_non_null(got);
	a = spki_b64(got);
	b = spki_b64(k);
	assert_string_equal(a, b);
	free(a);
	free(b);
	EVP_PKEY_free(got);
}

/* dkim_keys_parse refuses `text` with a BadRequestException naming the
 * member and (when given) saying `why`. */
static void
refused(const char *text, size_t n, const char *why)
{
	struct err e = {0};

	assert_null(dkim_keys_parse(text, n, &e));
	assert_string_equal(e.code, "BadRequestException");
	assert_int_equal(e.http, 400);
	assert_non_null(strstr(e.message, "DomainSigningPrivateKey"));
	if (why != NULL && strstr(e.message, why) == NULL)
		fail_msg("'%s' does not say '%s'", e.message, why);
}

static void
test_import_forms(void **state)
{
	(void)state;
	EVP_PKEY *k2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *k1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *t;

	assert_non_null(k2048);
	assert_non_null(k1024);
	t = b64_of(k2048, "PrivateKeyInfo"); /* what SES documents */
	parses_as(t, strlen(t), k2048);
	/* with line breaks, as `base64` prints it */
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < strlen(t); i += 76) {
		buf_append(&b, t + i, strlen(t) - i < 76 ? strlen(t) - i : 76);
		buf_append(&b, "\n", 1);
	}
	parses_as(b.data, b.len, k2048);
	buf_free(&b);
	free(t);
	t = b64_of(k2048, "type-specific"); /* PKCS#1 */
	parses_as(t, strlen(t), k2048);
	free(t);
	t = b64_of(k1024, "PrivateKeyInfo"); /* the smallest accepted */
	parses_as(t, strlen(t), k1024);
	free(t);
	for (int trad = 0; trad < 2; trad++) {
		t = pem_of(k2048, trad); /* PEM text */
		parses_as(t, strlen(t), k2048);
		char *b64 = base64_encode(t, strlen(t)); /* base64 of the PEM text */
		parses_as(b64, strlen(b64), k2048);
		free(b64);
		free(t);
	}
	EVP_PKEY_free(k2048);
	EVP_PKEY_free(k1024);
}

static void
test_import_refusals(void **state)
{
	(void)state;
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	EVP_PKEY *big = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ok = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char *t;
	size_t n;
	uint8_t *der;

	refused("", 0, "characters");
	refused(NULL, 0, "characters");
	refused("!!!!", 4, "base64");
	refused("AAAA", 4, "PKCS#1 or PKCS#8");
	t = b64_of(small, "PrivateKeyInfo");
	refused(t, strlen(t), "768 bits");
	free(t);
	t = b64_of(big, "PrivateKeyInfo");
	refused(t, strlen(t), "3072 bits");
	free(t);
	t = b64_of(ec, "PrivateKeyInfo");
	refused(t, strlen(t), "not an RSA key");
	free(t);
	t = b64_of(ed, "PrivateKeyInfo");
	refused(t, strlen(t), "not an RSA key");
	free(t);
	/* truncated DER, and DER with a byte after the key */
	der = der_of(ok, "PrivateKeyInfo", &n);
	t = base64_encode(der, n - 10);
	refused(t, strlen(t), "PKCS#1 or PKCS#8");
	free(t);
	uint8_t *longer = xmalloc(n + 1);
	memcpy(longer, der, n);
	longer[n] = 0;
	t = base64_encode(longer, n + 1);
	refused(t, strlen(t), "PKCS#1 or PKCS#8");
	free(t);
	free(longer);
	/* a public key, an encrypted PEM, a PEM with no END line */
	unsigned char *pub = NULL;
	int pn = i2d_PUBKEY(ok, &pub);
	t = base64_encode(pub, (size_t)pn);
	refused(t, strlen(t), "PKCS#1 or PKCS#8");
	free(t);
	OPENSSL_free(pub);
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ok, EVP_aes_128_cbc(), NULL, 0, NULL,
						       (void *)"secret"),
			 1);
	long pl = BIO_get_mem_data(bio, &p);
	refused(p, (size_t)pl, "PEM");
	BIO_free(bio);
	t = pem_of(ok, true);
	*strstr(t, "-----END") = '\0';
	refused(t, strlen(t), "END");
	free(t);
	/* a key whose parts do not agree: one byte of the private exponent changed */
	der[n / 2] ^= 0x01;
	t = base64_encode(der, n);
	refused(t, strlen(t), NULL);
	free(t);
	OPENSSL_free(der);
	EVP_PKEY_free(small);
	EVP_PKEY_free(big);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ok);
}

/* The input cap (DKIM_IMPORT_MAX) at limit-1, limit, limit+1: a valid key
 * padded with newlines (skipped by base64) to the length. */
static void
test_import_cap(void **state)
{
	(void)state;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char *t = b64_of(k, "PrivateKeyInfo");
	size_t tn = strlen(t);
	char *big = xmalloc(DKIM_IMPORT_MAX + 2);

	for (size_t len = DKIM_IMPORT_MAX - 1; len <= DKIM_IMPORT_MAX + 1; len++) {
		memset(big, '\n', len);
		memcpy(big, t, tn);
		if (len <= DKIM_IMPORT_MAX)
			parses_as(big, len, k);
		else
			refused(big, len, "20480 characters");
	}
	free(big);
	free(t);
	EVP_PKEY_free(k);
}

static void
test_import_sealed_one_key_set(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	static const char data[] = "from:a@example.com\r\n";
	char *t = b64_of(k, "type-specific"), *pub[DKIM_KEYS_N], *ed, *want = spki_b64(k);
	uint8_t *sealed, *plain, *sig, *der;
	size_t n, pn, slen, dn;
	int bits;
	struct err e = {0};

	assert_int_equal(dkim_keys_import(f->v, t, strlen(t), &sealed, &n, &bits, &e), 0);
	assert_int_equal(bits, 1024);
	/* sealed: neither the base64 nor the DER is in the blob */
	der = der_of(k, "type-specific", &dn);
	assert_null(memmem(sealed, n, t, 32));
	assert_null(memmem(sealed, n, der + dn / 2, 32));
	/* one PKCS#8 block inside */
	assert_int_equal(vault_unseal(f->v, sealed, n, &plain, &pn, &e), 0);
	uint8_t *first = memmem(plain, pn, "-----BEGIN PRIVATE KEY-----", 27);
	assert_non_null(first);
	assert_null(memmem(first + 10, pn - (size_t)(first + 10 - plain), "-----BEGIN", 10));
	OPENSSL_cleanse(plain, pn);
	free(plain);
	assert_int_equal(dkim_keys_public(f->v, sealed, n, pub, &ed, &e), 0);
	assert_string_equal(pub[0], want);
	assert_null(pub[1]);
	assert_null(ed);
	char *rec = dkim_keys_record(pub[0]);
	assert_true(dkim_keys_record_matches(rec, strlen(rec), want));
	free(rec);
	free(pub[0]);
	assert_int_equal(
		dkim_keys_sign(f->v, sealed, n, 0, data, sizeof(data) - 1, &sig, &slen, &e), 0);
	assert_int_equal(slen, 128);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, k, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, slen, (const uint8_t *)data, sizeof(data) - 1),
			 1);
	EVP_MD_CTX_free(md);
	free(sig);
	free(sealed);
	/* a refusal seals nothing */
	assert_int_equal(dkim_keys_import(f->v, "AAAA", 4, &sealed, &n, &bits, &e), -1);
	assert_null(sealed);
	free(t);
	free(want);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_token_ok),
		cmocka_unit_test(test_public_keys_are_rsa_2048),
		cmocka_unit_test(test_sealed_at_rest),
		cmocka_unit_test(test_wrong_vault_or_garbage),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_matches),
		cmocka_unit_test(test_record_matches_real_keys),
		cmocka_unit_test(test_sign_verifies_with_published_key),
		cmocka_unit_test(test_ed25519_public_key_and_record),
		cmocka_unit_test(test_ed25519_selector),
		cmocka_unit_test(test_record_matches_ed25519),
		cmocka_unit_test(test_ed25519_sign_verifies_with_published_key),
		cmocka_unit_test(test_three_block_set_has_no_ed25519_and_gets_one),
		cmocka_unit_test(test_block_counts_and_types),
		cmocka_unit_test(test_import_forms),
		cmocka_unit_test(test_import_refusals),
		cmocka_unit_test(test_import_cap),
		cmocka_unit_test(test_import_sealed_one_key_set),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
