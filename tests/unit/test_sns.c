/* test_sns.c — what an SNS delivery is made of (sns/sns.h): the pinned
 * retry schedule, the string SNS signs for each message type, a signature
 * that verifies under the stored key's certificate (and only for the text
 * signed), the key made once and read back sealed, the envelope's fields
 * and the links under --public-url. */
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/vault.h"
#include "conf/conf.h"
#include "sns/sns.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/xalloc.h"

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void
test_retry_schedule(void **state)
{
	(void)state;
	int64_t t0 = 1000000;
	/* 1 s, doubling, capped at 60 s */
	assert_int_equal(sns_retry_at(1, t0, t0), t0 + 1000);
	assert_int_equal(sns_retry_at(2, t0, t0), t0 + 2000);
	assert_int_equal(sns_retry_at(3, t0, t0), t0 + 4000);
	assert_int_equal(sns_retry_at(6, t0, t0), t0 + 32000);
	assert_int_equal(sns_retry_at(7, t0, t0), t0 + 60000);
	assert_int_equal(sns_retry_at(40, t0, t0), t0 + 60000);
	/* for up to an hour after publishing */
	assert_int_equal(sns_retry_at(50, t0, t0 + 3600 * 1000 - 60000), t0 + 3600 * 1000);
	assert_int_equal(sns_retry_at(50, t0, t0 + 3600 * 1000 - 59999), 0);
}

static void
test_string_to_sign(void **state)
{
	(void)state;
	json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Type", "Notification", "MessageId",
			      "id", "TopicArn", "arn", "Subject", "subj", "Message", "hi",
			      "Timestamp", "ts", "UnsubscribeURL", "u");
	char *s = sns_string_to_sign(m);
	assert_string_equal(s, "Message\nhi\nMessageId\nid\nSubject\nsubj\nTimestamp\nts\n"
			       "TopicArn\narn\nType\nNotification\n");
	free(s);
	json_object_del(m, "Subject"); /* only when present */
	s = sns_string_to_sign(m);
	assert_string_equal(s, "Message\nhi\nMessageId\nid\nTimestamp\nts\nTopicArn\narn\n"
			       "Type\nNotification\n");
	free(s);
	json_decref(m);

	m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Type", "SubscriptionConfirmation",
		      "MessageId", "id", "Token", "tok", "TopicArn", "arn", "Message", "m",
		      "SubscribeURL", "url", "Timestamp", "ts");
	s = sns_string_to_sign(m);
	assert_string_equal(s, "Message\nm\nMessageId\nid\nSubscribeURL\nurl\nTimestamp\nts\n"
			       "Token\ntok\nTopicArn\narn\nType\nSubscriptionConfirmation\n");
	free(s);
	json_decref(m);
	m = json_object();
	assert_null(sns_string_to_sign(m));
	json_decref(m);
}

static void
test_names_and_links(void **state)
{
	(void)state;
	struct conf c = {0};
	char *u;

	assert_true(sns_topic_name_ok("a"));
	assert_true(sns_topic_name_ok("Orders_2-x"));
	assert_false(sns_topic_name_ok(""));
	assert_false(sns_topic_name_ok("a.fifo"));
	assert_false(sns_topic_name_ok("a b"));
	char big[258];
	memset(big, 'x', 257);
	big[257] = '\0';
	assert_false(sns_topic_name_ok(big));
	big[256] = '\0';
	assert_true(sns_topic_name_ok(big));

	snprintf(c.http, sizeof(c.http), "127.0.0.1:8080");
	u = sns_cert_url(&c);
	assert_string_equal(u, "http://127.0.0.1:8080/_sesame/sns/cert.pem");
	free(u);
	snprintf(c.public_url, sizeof(c.public_url), "https://mail.example.com//");
	u = sns_subscribe_url(&c, "arn:aws:sns:us-east-1:111111111111:t", "ab+/");
	assert_string_equal(u, "https://mail.example.com/?Action=ConfirmSubscription&TopicArn="
			       "arn%3Aaws%3Asns%3Aus-east-1%3A111111111111%3At&Token=ab%2B%2F");
	free(u);
	u = sns_unsubscribe_url(&c, "arn:aws:sns:us-east-1:111111111111:t:x");
	assert_string_equal(u, "https://mail.example.com/?Action=Unsubscribe&SubscriptionArn="
			       "arn%3Aaws%3Asns%3Aus-east-1%3A111111111111%3At%3Ax");
	free(u);
	u = sns_confirm_message("arn:t");
	assert_non_null(strstr(u, "subscribe to the topic arn:t.\nTo confirm"));
	free(u);
}

/* verify b64 signature `sig` of `text` under the certificate PEM */
static int
verifies(const char *cert_pem, const char *version, const char *text, const char *sig)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY *k = X509_get_pubkey(x);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n;
	uint8_t *raw = base64_decode(sig, strlen(sig), &n);
	int ok = EVP_DigestVerifyInit(c, NULL, strcmp(version, "2") == 0 ? EVP_sha256() : EVP_sha1(),
				      NULL, k) == 1 &&
		 EVP_DigestVerify(c, raw, n, (const unsigned char *)text, strlen(text)) == 1;
	free(raw);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(b);
	return ok;
}

static void
test_key_signature_and_envelope(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/sesame-sns-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct err e = {0};
	struct vault *v = vault_open(dir, NULL, &e);
	struct store *s = store_open(NULL, dir, &e);
	struct sns_signer *k, *again;
	uint8_t *sealed = NULL;
	size_t n = 0;
	char *cert = NULL, *cert2 = NULL, *sig, *body;
	struct conf c = {0};

	assert_non_null(v);
	assert_non_null(s);
	assert_int_equal(s->ops->sns_key_get(s, NULL, NULL, &cert, &e), 0);
	assert_non_null(k = sns_signer_load(s, v, &e));
	assert_int_equal(s->ops->sns_key_get(s, &sealed, &n, &cert, &e), 1);
	/* sealed at rest: no PEM private key in the stored bytes */
	assert_null(memmem(sealed, n, "PRIVATE KEY", 11));
	assert_non_null(strstr(cert, "BEGIN CERTIFICATE"));
	/* loaded again: the same key, not a new one */
	assert_non_null(again = sns_signer_load(s, v, &e));
	assert_int_equal(s->ops->sns_key_get(s, NULL, NULL, &cert2, &e), 1);
	assert_string_equal(cert, cert2);

	for (int ver = 1; ver <= 2; ver++) {
		const char *vs = ver == 1 ? "1" : "2";
		assert_non_null(sig = sns_sign(again, vs, "Message\nhi\n"));
		assert_true(verifies(cert, vs, "Message\nhi\n", sig));
		assert_false(verifies(cert, vs, "Message\nhI\n", sig));
		free(sig);
	}

	/* the envelope: SNS's fields, a signature over its string to sign */
	snprintf(c.http, sizeof(c.http), "127.0.0.1:1");
	struct sns_delivery d = {.id = 1,
				 .message_id = "mid",
				 .type = STORE_SNS_NOTIFICATION,
				 .topic_arn = "arn:aws:sns:us-east-1:111111111111:t",
				 .subscription_arn = "arn:aws:sns:us-east-1:111111111111:t:u",
				 .message = "{\"a\":1}",
				 .timestamp_ms = 1700000000123,
				 .attempts = 1,
				 .protocol = "http",
				 .endpoint = "http://x/",
				 .token = "tok",
				 .signature_version = "2"};
	assert_non_null(body = sns_envelope(&c, k, &d));
	json_t *m = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "Timestamp")),
			    "2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(m, "SignatureVersion")), "2");
	assert_null(json_object_get(m, "Subject"));
	assert_null(json_object_get(m, "Token"));
	assert_non_null(json_object_get(m, "UnsubscribeURL"));
	char *sts = sns_string_to_sign(m);
	assert_true(verifies(cert, "2", sts,
			     json_string_value(json_object_get(m, "Signature"))));
	free(sts);
	json_decref(m);
	free(body);
	d.raw_message_delivery = true; /* the Message alone */
	assert_non_null(body = sns_envelope(&c, k, &d));
	assert_string_equal(body, "{\"a\":1}");
	free(body);
	d.type = STORE_SNS_CONFIRMATION; /* confirmations are never raw */
	assert_non_null(body = sns_envelope(&c, k, &d));
	m = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "Token")), "tok");
	assert_non_null(strstr(json_string_value(json_object_get(m, "SubscribeURL")), "Token=tok"));
	assert_null(json_object_get(m, "UnsubscribeURL"));
	json_decref(m);
	free(body);

	sns_signer_free(k);
	sns_signer_free(again);
	free(sealed);
	free(cert);
	free(cert2);
	store_close(s);
	vault_free(v);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_schedule),
		cmocka_unit_test(test_string_to_sign),
		cmocka_unit_test(test_names_and_links),
		cmocka_unit_test(test_key_signature_and_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
