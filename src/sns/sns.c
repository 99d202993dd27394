/*
 * sns.c — the signing key, the string to sign, the envelope and the links
 * of an SNS delivery (sns.h).
 */
#include "sns/sns.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/vault.h"
#include "conf/conf.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

struct sns_signer {
	EVP_PKEY *key;
};

int64_t
sns_retry_at(int attempts, int64_t published_ms, int64_t now_ms)
{
	int64_t delay = SNS_RETRY_FIRST_MS;

	for (int i = 1; i < attempts && delay < SNS_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > SNS_RETRY_MAX_MS)
		delay = SNS_RETRY_MAX_MS;
	if (now_ms + delay > published_ms + SNS_RETRY_FOR_MS)
		return 0;
	return now_ms + delay;
}

/* ---- the key ------------------------------------------------------------ */

static int
ssl_fail(struct err *e, const char *what)
{
	return err_set(e, 500, "InternalFailure", "SNS signing key: %s failed", what);
}

/* A new RSA 2048 key and a self-signed certificate for it, as PEM. */
static int
make_key(char **key_pem, size_t *key_len, char **cert_pem, struct err *e)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *kb = NULL, *cb = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	char *p;
	long n;
	int rc = -1;

	if ((key = EVP_RSA_gen(2048)) == NULL || (x = X509_new()) == NULL ||
	    X509_set_version(x, 2) != 1 || RAND_bytes(serial, sizeof(serial)) != 1) {
		ssl_fail(e, "key generation");
		goto out;
	}
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		ssl_fail(e, "certificate");
		goto out;
	}
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"sesame", -1,
				       -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"sesame SNS message signing", -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, EVP_sha256()) == 0) {
		ssl_fail(e, "certificate");
		goto out;
	}
	if ((kb = BIO_new(BIO_s_secmem())) == NULL || (cb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1) {
		ssl_fail(e, "PEM");
		goto out;
	}
	n = BIO_get_mem_data(kb, &p);
	*key_pem = xmalloc((size_t)n + 1);
	memcpy(*key_pem, p, (size_t)n);
	(*key_pem)[n] = '\0';
	*key_len = (size_t)n;
	n = BIO_get_mem_data(cb, &p);
	*cert_pem = xstrndup(p, (size_t)n);
	rc = 0;
out:
	BIO_free(kb);
	BIO_free(cb);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static EVP_PKEY *
read_key(const uint8_t *pem, size_t n)
{
	BIO *b = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	return k;
}

struct sns_signer *
sns_signer_load(struct store *s, const struct vault *v, struct err *e)
{
	uint8_t *sealed = NULL, *plain = NULL;
	size_t sealed_len = 0, plain_len = 0;
	char *key_pem = NULL, *cert = NULL;
	size_t key_len = 0;
	struct sns_signer *k = NULL;
	int rc;

	rc = s->ops->sns_key_get(s, &sealed, &sealed_len, &cert, e);
	if (rc < 0)
		return NULL;
	if (rc == 0) {
		if (make_key(&key_pem, &key_len, &cert, e) != 0)
			goto out;
		if (vault_seal(v, key_pem, key_len, &sealed, &sealed_len, e) != 0)
			goto out;
		rc = s->ops->sns_key_put(s, sealed, sealed_len, cert, time(NULL), e);
		if (rc < 0)
			goto out;
		free(sealed);
		sealed = NULL;
		free(cert);
		cert = NULL;
		/* stored, or another process stored its own first: read back */
		if (s->ops->sns_key_get(s, &sealed, &sealed_len, &cert, e) != 1) {
			if (e->code[0] == '\0')
				err_set(e, 500, "InternalFailure", "SNS signing key: not stored");
			goto out;
		}
	}
	if (vault_unseal(v, sealed, sealed_len, &plain, &plain_len, e) != 0)
		goto out;
	k = xcalloc(1, sizeof(*k));
	if ((k->key = read_key(plain, plain_len)) == NULL) {
		free(k);
		k = NULL;
		ssl_fail(e, "reading the stored key");
	}
out:
	if (plain != NULL) {
		OPENSSL_cleanse(plain, plain_len);
		free(plain);
	}
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, key_len);
		free(key_pem);
	}
	free(sealed);
	free(cert);
	return k;
}

void
sns_signer_free(struct sns_signer *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->key);
	free(k);
}

/* ---- signing ------------------------------------------------------------ */

char *
sns_string_to_sign(const json_t *m)
{
	static const char *const note[] = {"Message", "MessageId", "Subject", "Timestamp",
					   "TopicArn", "Type", NULL};
	static const char *const conf[] = {"Message",  "MessageId", "SubscribeURL", "Timestamp",
					   "Token",    "TopicArn",  "Type",	      NULL};
	const char *type = json_string_value(json_object_get(m, "Type"));
	const char *const *keys;
	struct buf b;

	if (type == NULL)
		return NULL;
	keys = strcmp(type, "Notification") == 0 ? note : conf;
	buf_init(&b, 0);
	for (size_t i = 0; keys[i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(m, keys[i]));
		if (v != NULL)
			buf_printf(&b, "%s\n%s\n", keys[i], v);
	}
	return buf_steal(&b, NULL);
}

char *
sns_sign(const struct sns_signer *k, const char *version, const char *text)
{
	const EVP_MD *md = strcmp(version, "2") == 0 ? EVP_sha256() : EVP_sha1();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t n = 0;
	char *out = NULL;

	/* SHA-1 signatures are what SignatureVersion 1 is; the default
	 * security level permits them for signing. */
	if (c != NULL && EVP_DigestSignInit(c, NULL, md, NULL, k->key) == 1 &&
	    EVP_DigestSign(c, NULL, &n, (const unsigned char *)text, strlen(text)) == 1) {
		sig = xmalloc(n);
		if (EVP_DigestSign(c, sig, &n, (const unsigned char *)text, strlen(text)) == 1)
			out = base64_encode(sig, n);
	}
	free(sig);
	EVP_MD_CTX_free(c);
	return out;
}

/* ---- links -------------------------------------------------------------- */

static void
base_url(const struct conf *c, struct buf *b)
{
	char base[300];

	conf_public_base(c, base, sizeof(base));
	buf_puts(b, base);
}

/* RFC 3986 unreserved pass, the rest %XX: ARNs keep no ':' raw */
static void
query_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

char *
sns_subscribe_url(const struct conf *c, const char *topic_arn, const char *token)
{
	struct buf b;

	buf_init(&b, 0);
	base_url(c, &b);
	buf_puts(&b, "/?Action=ConfirmSubscription&TopicArn=");
	query_escape(&b, topic_arn);
	buf_puts(&b, "&Token=");
	query_escape(&b, token);
	return buf_steal(&b, NULL);
}

char *
sns_unsubscribe_url(const struct conf *c, const char *subscription_arn)
{
	struct buf b;

	buf_init(&b, 0);
	base_url(c, &b);
	buf_puts(&b, "/?Action=Unsubscribe&SubscriptionArn=");
	query_escape(&b, subscription_arn);
	return buf_steal(&b, NULL);
}

char *
sns_cert_url(const struct conf *c)
{
	struct buf b;

	buf_init(&b, 0);
	base_url(c, &b);
	buf_puts(&b, "/_sesame/sns/cert.pem");
	return buf_steal(&b, NULL);
}

char *
sns_confirm_message(const char *topic_arn)
{
	return xasprintf("You have chosen to subscribe to the topic %s.\n"
			 "To confirm the subscription, visit the SubscribeURL included in this "
			 "message.",
			 topic_arn);
}

bool
sns_topic_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

/* ---- the envelope --------------------------------------------------------- */

static void
set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

char *
sns_envelope(const struct conf *c, const struct sns_signer *k, const struct sns_delivery *d)
{
	bool note = strcmp(d->type, STORE_SNS_NOTIFICATION) == 0;
	char ts[TIMEFMT_LEN];
	char *text = NULL, *sig = NULL, *url, *out = NULL;
	json_t *m;

	if (note && d->raw_message_delivery)
		return xstrdup(d->message);
	timefmt_iso_ms(d->timestamp_ms, ts);
	/* SNS's own field order */
	m = json_object();
	set_str(m, "Type", d->type);
	set_str(m, "MessageId", d->message_id);
	if (!note)
		set_str(m, "Token", d->token);
	set_str(m, "TopicArn", d->topic_arn);
	if (note && d->subject != NULL)
		set_str(m, "Subject", d->subject);
	set_str(m, "Message", d->message);
	if (!note) {
		url = sns_subscribe_url(c, d->topic_arn, d->token);
		set_str(m, "SubscribeURL", url);
		free(url);
	}
	set_str(m, "Timestamp", ts);
	set_str(m, "SignatureVersion", strcmp(d->signature_version, "2") == 0 ? "2" : "1");
	if ((text = sns_string_to_sign(m)) == NULL ||
	    (sig = sns_sign(k, d->signature_version, text)) == NULL)
		goto out;
	set_str(m, "Signature", sig);
	url = sns_cert_url(c);
	set_str(m, "SigningCertURL", url);
	free(url);
	if (note) {
		url = sns_unsubscribe_url(c, d->subscription_arn);
		set_str(m, "UnsubscribeURL", url);
		free(url);
	}
	out = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	free(text);
	free(sig);
	json_decref(m);
	return out;
}
