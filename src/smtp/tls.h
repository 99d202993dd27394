/*
 * tls.h — the SMTP listeners' TLS server context: the operator's
 * certificate and key (--tls-cert/--tls-key), or a self-signed pair made
 * once in the data directory (DATA/smtp-cert.pem, DATA/smtp-key.pem, key
 * mode 0600; P-256, CN=localhost, SAN localhost and 127.0.0.1, 10 years).
 */
#ifndef SESAME_SMTP_TLS_H
#define SESAME_SMTP_TLS_H

#include "util/err.h"

struct conf;
struct ssl_ctx_st;

/* A server SSL_CTX (TLS 1.2+) with the certificate loaded and checked
 * against its key. Free with SSL_CTX_free. NULL with e filled. */
struct ssl_ctx_st *smtp_tls_ctx(const struct conf *c, struct err *e);

/* Write a new self-signed pair to cert_path and key_path (key 0600). */
int smtp_tls_make_self_signed(const char *cert_path, const char *key_path, struct err *e);

#endif
