/*
 * sns.h — what an SNS HTTP delivery is made of (feedback-notify.md §6):
 * the signing key kept in the store, the string SNS signs and the
 * signature over it (version 1 SHA1withRSA, 2 SHA256withRSA), the JSON
 * envelope, the SubscribeURL / UnsubscribeURL / SigningCertURL sesame
 * hands out, and the retry schedule. The deliverer (deliver.h) and the SNS
 * actions (api/act_sns.c) build on these; nothing here does I/O but the
 * store calls of sns_signer_load.
 */
#ifndef SESAME_SNS_SNS_H
#define SESAME_SNS_SNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct conf;
struct store;
struct vault;
struct sns_delivery;

/* Retries (pinned): 1 s after the first failure, doubling, at most 60 s
 * apart, for up to an hour after the message was published. */
#define SNS_RETRY_FIRST_MS 1000
#define SNS_RETRY_MAX_MS 60000
#define SNS_RETRY_FOR_MS (3600 * 1000)

/* When a delivery that failed on attempt `attempts` (1 = the first) is
 * tried again, published at published_ms, failed at now_ms: a time in ms,
 * or 0 when its hour is over (drop it). */
int64_t sns_retry_at(int attempts, int64_t published_ms, int64_t now_ms);

/* The signing key: an RSA 2048 key and its self-signed certificate, made
 * once per store (the first serve) and kept sealed by the vault. */
struct sns_signer;
/* Load the store's key, making and storing it when there is none (a race
 * between two processes is won by one; the loser reads the winner's).
 * NULL with e filled. */
struct sns_signer *sns_signer_load(struct store *s, const struct vault *v, struct err *e);
void sns_signer_free(struct sns_signer *k); /* NULL: no-op */

/* The string SNS signs for message `m` (a JSON object of the envelope's
 * fields so far): "Name\nvalue\n" for each present field of the type's
 * list, in order. malloc'd; NULL when m lacks Type. */
char *sns_string_to_sign(const json_t *m);

/* base64 RSA PKCS#1 v1.5 signature of `text` with SHA-1 (version "1") or
 * SHA-256 ("2"). malloc'd; NULL on failure. */
char *sns_sign(const struct sns_signer *k, const char *version, const char *text);

/* The links in a delivery, under --public-url (else http://--http):
 * <base>/?Action=ConfirmSubscription&TopicArn=…&Token=…,
 * <base>/?Action=Unsubscribe&SubscriptionArn=…, <base>/_sesame/sns/cert.pem.
 * malloc'd. */
char *sns_subscribe_url(const struct conf *c, const char *topic_arn, const char *token);
char *sns_unsubscribe_url(const struct conf *c, const char *subscription_arn);
char *sns_cert_url(const struct conf *c);

/* The POST body of delivery d: SNS's JSON envelope, signed with k, or the
 * Message alone for a raw-delivery Notification. malloc'd; NULL on
 * failure. */
char *sns_envelope(const struct conf *c, const struct sns_signer *k,
		   const struct sns_delivery *d);

/* The Message of a SubscriptionConfirmation for topic_arn, as SNS words it. */
char *sns_confirm_message(const char *topic_arn);

/* A topic name SNS accepts: 1–256 of [A-Za-z0-9_-]. */
bool sns_topic_name_ok(const char *name);

#endif
