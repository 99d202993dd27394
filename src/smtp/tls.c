/*
 * tls.c — the SMTP listeners' TLS context and the self-signed pair made
 * when the operator gives none (tls.h). Owns no state after a call.
 */
#include "smtp/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "util/log.h"

static int
ssl_fail(struct err *e, const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	return err_set(e, 500, "InvalidConfiguration", "TLS: %s: %s", what, buf);
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	int rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Write with the file created exclusively at `mode`. */
static FILE *
create_file(const char *path, mode_t mode, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		err_set(e, 500, "InvalidConfiguration", "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	fchmod(fd, mode);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		err_set(e, 500, "InvalidConfiguration", "cannot create %s", path);
	}
	return f;
}

int
smtp_tls_make_self_signed(const char *cert_path, const char *key_path, struct err *e)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL) {
		ssl_fail(e, "key generation");
		goto fail;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1) {
		ssl_fail(e, "certificate");
		goto fail;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1) {
		ssl_fail(e, "random");
		goto fail;
	}
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		ssl_fail(e, "certificate");
		goto fail;
	}
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") != 0 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		ssl_fail(e, "certificate");
		goto fail;
	}
	if ((f = create_file(key_path, 0600, e)) == NULL)
		goto fail;
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f) != 0) {
		f = NULL;
		ssl_fail(e, "writing the key");
		goto fail;
	}
	if ((f = create_file(cert_path, 0644, e)) == NULL)
		goto fail;
	if (PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
		f = NULL;
		ssl_fail(e, "writing the certificate");
		goto fail;
	}
	f = NULL;
	rc = 0;
fail:
	if (f != NULL)
		fclose(f);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

struct ssl_ctx_st *
smtp_tls_ctx(const struct conf *c, struct err *e)
{
	char cert[600], key[600];
	SSL_CTX *ctx;

	if (c->tls_cert[0] != '\0' || c->tls_key[0] != '\0') {
		if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
			err_set(e, 400, "InvalidConfiguration", "--tls-cert and --tls-key go together");
			return NULL;
		}
		snprintf(cert, sizeof(cert), "%s", c->tls_cert);
		snprintf(key, sizeof(key), "%s", c->tls_key);
	} else {
		struct stat st;
		snprintf(cert, sizeof(cert), "%s/smtp-cert.pem", c->data);
		snprintf(key, sizeof(key), "%s/smtp-key.pem", c->data);
		if (stat(cert, &st) != 0 || stat(key, &st) != 0) {
			if (smtp_tls_make_self_signed(cert, key, e) != 0)
				return NULL;
			log_info("smtp: made a self-signed certificate for localhost in %s", cert);
		}
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_fail(e, "context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_fail(e, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_fail(e, key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
