/*
 * send.c — the send decision and queueing shared by the Query API and SMTP
 * front ends (send.h; notes in docs/internals/send.md), and the one reading
 * of a raw message into a send_request (send_request_from_raw: X-SES-*
 * headers, From, Return-Path, recipients) that SendRawEmail and SMTP DATA
 * share. Owns nothing past a call but the per-submission job handed to the
 * queue, freed in send_done, and what a struct send_raw holds until
 * send_raw_clear.
 */
#include "send/send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "auth/dkim_keys.h"
#include "core/arn.h"
#include "core/identity.h"
#include "core/msgtags.h"
#include "mail/build.h"
#include "mail/dkim.h"
#include "mail/raw.h"
#include "queue/queue.h"
#include "send/limits.h"
#include "send/send_lookup.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/workers.h"
#include "util/xalloc.h"

#define DAY (24 * 60 * 60)
#define MAX_TAGS 50
#define TAG_MAX 256
#define SIMULATOR_DOMAIN "simulator.amazonses.com"

/* ---- shared checks of SES control values ---------------------------------- */

int
send_check_tag(const char *name, size_t nn, const char *value, size_t vn, struct err *e)
{
	return msgtags_check(name, nn, value, vn, e);
}

int
send_check_tags_header(const char *h, struct err *e)
{
	struct msgtags *t = xcalloc(1, sizeof(*t));
	int rc = msgtags_parse_header(h, strlen(h), t, e);

	free(t);
	return rc;
}

int
send_check_configuration_set(const char *name, struct err *e)
{
	if (name == NULL || (name[0] != '\0' && strlen(name) <= 64))
		return 0;
	return err_set(e, 400, "ConfigurationSetDoesNotExist",
		       "Configuration set <%.128s> does not exist.", name);
}

/* ---- reading a raw message ------------------------------------------------- */

static const char *const arn_headers[AUTHZ_NROLES] = {
	[AUTHZ_FROM] = "X-SES-FROM-ARN",
	[AUTHZ_SOURCE] = "X-SES-SOURCE-ARN",
	[AUTHZ_RETURN_PATH] = "X-SES-RETURN-PATH-ARN",
};

static int
parse_envelope_address(const char *v, bool spec, struct address *out, struct err *e)
{
	return spec ? address_parse_spec(v, strlen(v), out, e)
	            : address_parse(v, strlen(v), out, e);
}

/* A To field whose value is empty. */
static bool
empty_to(const struct raw_msg *m)
{
	struct buf b;
	bool empty = false;

	buf_init(&b, 0);
	for (long i = raw_find(m, "To", 0); i >= 0 && !empty;
	     i = raw_find(m, "To", (size_t)i + 1)) {
		buf_reset(&b);
		raw_value(m, (size_t)i, &b);
		empty = b.len == 0;
	}
	buf_free(&b);
	return empty;
}

int
send_request_from_raw(const void *data, size_t len, const struct send_raw_envelope *env,
		      struct send_raw *out, struct err *e)
{
	struct send_request *r = &out->req;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	r->action = "SendRawEmail";
	if (raw_parse(data, len, &out->msg, e) != 0 || raw_from(out->msg, &r->from, e) != 0)
		goto fail;
	r->raw = out->msg;

	/* envelope sender: the envelope's, else the From address; feedback: the
	 * envelope sender when given, else a Return-Path header (not the null path) */
	if (env->source != NULL) {
		if (parse_envelope_address(env->source, env->addr_spec, &r->source, e) != 0)
			goto fail;
		r->return_path = r->source;
		r->has_return_path = true;
	} else {
		char *h = raw_get(out->msg, "Return-Path");
		r->source = r->from;
		if (h != NULL && strcmp(h, "<>") != 0 && h[0] != '\0') {
			rc = address_parse(h, strlen(h), &r->return_path, e);
			r->has_return_path = rc == 0;
		}
		free(h);
		if (rc != 0)
			goto fail;
	}

	/* Sender: an address whose identity is checked as From's is */
	char *sh = raw_get(out->msg, "Sender");
	if (sh != NULL && sh[strspn(sh, " \t")] != '\0') {
		rc = address_parse(sh, strlen(sh), &r->sender, e);
		r->has_sender = rc == 0;
	}
	free(sh);
	if (rc != 0)
		goto fail;

	/* ARNs: the envelope's win over the headers; the first header counts,
	 * an empty one names nothing */
	for (int i = 0; i < AUTHZ_NROLES; i++) {
		struct arn_identity a;
		if (arn_headers[i] == NULL)
			continue;
		out->hdr[i] = raw_get(out->msg, arn_headers[i]);
		r->arn[i] = env->arn[i] != NULL ? env->arn[i] : out->hdr[i];
		if (env->arn[i] == NULL && r->arn[i] != NULL && r->arn[i][0] == '\0')
			r->arn[i] = NULL;
		if (r->arn[i] != NULL &&
		    arn_identity_parse(r->arn[i], strlen(r->arn[i]), &a, e) != 0)
			goto fail;
	}

	/* recipients: the envelope's, else To, Cc and Bcc */
	if (env->rcpt != NULL && env->nrcpt > 0) {
		if (env->nrcpt > RAW_MAX_RECIPIENTS) {
			err_set(e, 400, "InvalidParameterValue", "Recipient count exceeds 50.");
			goto fail;
		}
		out->rcpt = xcalloc(env->nrcpt, sizeof(*out->rcpt));
		for (size_t i = 0; i < env->nrcpt; i++)
			if (parse_envelope_address(env->rcpt[i], env->addr_spec, &out->rcpt[i],
			                           e) != 0)
				goto fail;
		r->nrcpt = env->nrcpt;
		/* the header recipients are not the envelope's, but SES still
		 * refuses an empty To */
		if (env->to_required && empty_to(out->msg)) {
			err_set(e, 400, "InvalidParameterValue", "Empty required header 'To'.");
			goto fail;
		}
	} else {
		if (raw_recipients(out->msg, &out->rcpt, &r->nrcpt, e) != 0)
			goto fail;
		if (r->nrcpt == 0) {
			err_set(e, 400, "InvalidParameterValue", "Missing required header 'To'.");
			goto fail;
		}
	}
	r->rcpt = out->rcpt;

	/* tags and configuration set: the envelope's win, headers are not merged */
	if (!env->tags_given) {
		char *h = raw_get(out->msg, "X-SES-MESSAGE-TAGS");
		if (h != NULL && h[0] != '\0') {
			out->tags = xcalloc(1, sizeof(*out->tags));
			rc = msgtags_parse_header(h, strlen(h), out->tags, e);
		}
		free(h);
		if (rc != 0)
			goto fail;
		r->tags = out->tags;
	}
	if (env->configuration_set != NULL) {
		r->configuration_set = env->configuration_set;
	} else {
		char *h = raw_get(out->msg, "X-SES-CONFIGURATION-SET");
		if (h != NULL && h[0] != '\0') {
			/* blanks around the name are the header's, not the name's */
			size_t b = 0, n = strlen(h);
			while (h[b] == ' ' || h[b] == '\t')
				b++;
			while (n > b && (h[n - 1] == ' ' || h[n - 1] == '\t'))
				n--;
			out->configuration_set = xstrndup(h + b, n - b);
			r->configuration_set = out->configuration_set;
		}
		free(h);
	}
	if (send_check_configuration_set(r->configuration_set, e) != 0)
		goto fail;

	char *subject = raw_get(out->msg, "Subject");
	if (subject != NULL) {
		out->subject = build_decode_header(subject);
		free(subject);
	}
	r->subject = out->subject;
	return 0;
fail:
	send_raw_clear(out);
	return -1;
}

void
send_raw_clear(struct send_raw *r)
{
	if (r == NULL)
		return;
	raw_free(r->msg);
	free(r->rcpt);
	for (int i = 0; i < AUTHZ_NROLES; i++)
		free(r->hdr[i]);
	free(r->subject);
	free(r->configuration_set);
	free(r->tags);
	memset(r, 0, sizeof(*r));
}

/* ---- the decision --------------------------------------------------------- */

static bool
is_refusal(const struct err *e)
{
	/* Throttling is marked temporary (SMTP 454: try later) but is a refusal */
	if (strcmp(e->code, "Throttling") == 0)
		return true;
	return !e->temporary && (strcmp(e->code, "MessageRejected") == 0 ||
				 strcmp(e->code, "AccessDenied") == 0 ||
				 strcmp(e->code, "AccountSendingPausedException") == 0 ||
				 strcmp(e->code, "MailFromDomainNotVerifiedException") == 0);
}

/* SES's refusal for addresses no verified identity covers: MessageRejected
 * naming them (`list`, comma-separated) and the region. */
static int
not_verified(const struct send_request *r, const char *list, struct err *e)
{
	char region[33];

	snprintf(region, sizeof(region), "%s", r->region);
	for (char *p = region; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return err_set(e, 400, "MessageRejected",
		       "Email address is not verified. The following identities failed the check "
		       "in region %s: %s",
		       region, list);
}

/*
 * Sandbox: every recipient must be covered by a verified identity of
 * `account` (or be a mailbox simulator address). MessageRejected listing
 * the ones that are not.
 */
static int
check_sandbox(const struct send_request *r, struct send_lookup *c, const char *account,
	      struct err *e)
{
	char list[700];
	size_t o = 0;
	bool failed = false;

	list[0] = '\0';
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct address *a = &r->rcpt[i];
		int rc;
		if (strcasecmp(a->domain, SIMULATOR_DOMAIN) == 0)
			continue;
		if ((rc = send_lookup_covered(c, r->region, account, a->spec, e)) < 0)
			return -1;
		if (rc == 1)
			continue;
		failed = true;
		size_t n = strlen(a->spec);
		if (o + n + 8 >= sizeof(list)) { /* SES ends a long list with "..." */
			if (o + 4 < sizeof(list) && strcmp(list + (o >= 3 ? o - 3 : 0), "...") != 0)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "...");
			continue;
		}
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", a->spec);
	}
	if (!failed)
		return 0;
	return not_verified(r, list, e);
}

/* What the queue's answer needs to settle the charge and reply. */
struct send_job {
	struct limits *limits;
	send_done_fn done;
	void *arg;
	char account[13];
	char action[32];
	const char *via; /* metrics: "api" or "smtp" */
	double rate;
	size_t n;
};

/* The metrics label of a request's front end. */
static const char *
via_of(const struct send_request *r)
{
	if (r->via != NULL)
		return r->via;
	return r->api_version != NULL && strcmp(r->api_version, "2") == 0 ? "smtp" : "api";
}

static void
send_done(void *arg, const char *message_id, const struct err *e)
{
	struct send_job *j = arg;

	limits_settle(j->limits, j->account, j->rate, j->n, e == NULL);
	metrics_add(METRIC_SENDS, 1, j->via, e == NULL ? "accepted" : "failed",
		    e == NULL ? "" : e->code);
	j->done(j->arg, message_id, e);
	free(j);
}

/* ---- how the message leaves: envelope and DKIM --------------------------- */

/* The owner's settings for a message from `from`: the envelope domain and
 * the DKIM key, read from the owner's identities that cover `from`, most
 * specific first (docs/internals/send.md "Leaving"). */
struct leave {
	char mail_from_domain[256]; /* "" = --bounce-domain */
	bool dkim;
	bool ed25519;               /* also an ed25519-sha256 signature */
	char domain[256];           /* d= */
	char selector[64];          /* s= */
	char selector_ed[64];       /* s= of the Ed25519 signature: <token1>ed */
	int key;                    /* index of the selector's key in the sealed set */
	uint8_t *sealed;            /* copy of the sealed key set */
	size_t sealed_len;
	char config_set[65];        /* the first covering identity's default set; "" none */
};

static void
leave_clear(struct leave *l)
{
	free(l->sealed);
	memset(l, 0, sizeof(*l));
}

/*
 * The first covering identity with a custom MAIL FROM decides the envelope:
 * verified → its domain; not verified → --bounce-domain, or, with
 * BehaviorOnMXFailure=RejectMessage, the send is refused as SES refuses it.
 * The most specific covering DOMAIN with Easy DKIM or BYODKIM verified and
 * enabled signs (an address identity's DKIM is its domain's, as in SES).
 * Easy DKIM's selectors take turns by message: the MessageId's random part
 * picks one; BYODKIM signs with the owner's key and selector alone. When that
 * domain's Ed25519 record was found, an ed25519-sha256 signature is added
 * beside the RSA one (RFC 8463 §5 recommends both).
 */
static int
plan_leave(struct send_lookup *c, const char *region, const char *owner, const char *from,
	   const char *message_id, struct leave *out, struct err *e)
{
	struct identity_candidates *cand = xmalloc(sizeof(*cand));
	bool mail_from_decided = false;
	struct err ignored;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (identity_candidates(from, cand, &ignored) != 0)
		cand->n = 0;
	for (size_t i = 0; i < cand->n && rc == 0; i++) {
		const struct send_leaving *l;
		int got = send_lookup_leaving(c, region, owner, cand->name[i], &l, e);
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got == 0)
			continue;
		if (out->config_set[0] == '\0' && l->config_set != NULL)
			snprintf(out->config_set, sizeof(out->config_set), "%s", l->config_set);
		if (!mail_from_decided && l->mail_from_domain != NULL) {
			mail_from_decided = true;
			if (l->mail_from_verified)
				snprintf(out->mail_from_domain, sizeof(out->mail_from_domain), "%s",
					 l->mail_from_domain);
			else if (l->mail_from_reject)
				rc = err_set(e, 400, "MailFromDomainNotVerifiedException",
					     "The custom MAIL FROM domain %s of identity %s is not verified "
					     "and its behavior on MX failure is RejectMessage.",
					     l->mail_from_domain, cand->name[i]);
		}
		if (!out->dkim && l->dkim && cand->type[i] == IDENTITY_DOMAIN) {
			size_t n = strlen(message_id);
			out->dkim = true;
			out->key = n > 8 ? (unsigned char)message_id[n - 8] % 3 : 0;
			if (l->dkim_external)
				out->key = 0; /* BYODKIM: the owner's one key and selector */
			snprintf(out->domain, sizeof(out->domain), "%s", cand->name[i]);
			snprintf(out->selector, sizeof(out->selector), "%s", l->dkim_tokens[out->key]);
			out->ed25519 = l->dkim_ed25519;
			if (out->ed25519)
				dkim_keys_ed25519_selector(l->dkim_tokens[0], out->selector_ed,
							   sizeof(out->selector_ed));
			out->sealed = xmalloc(l->dkim_keys_sealed_len);
			memcpy(out->sealed, l->dkim_keys_sealed, l->dkim_keys_sealed_len);
			out->sealed_len = l->dkim_keys_sealed_len;
		}
	}
	free(cand);
	if (rc != 0)
		leave_clear(out);
	return rc;
}

/* A message on its way to the worker pool to be signed, then to the queue. */
static int64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct sign_job {
	int64_t start_us;           /* handed to the worker (the sign stage) */
	struct queue *queue;
	struct event_base *base;
	struct dkim_keys_cache *keys;
	struct queue_msg m;
	struct send_job *sj;
	struct leave lv;
	int64_t now;
	bool ok;
	struct err e;
};

static int
sign_rsa(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
	 struct err *e)
{
	struct sign_job *j = arg;

	return dkim_keys_cache_sign(j->keys, j->lv.sealed, j->lv.sealed_len, j->lv.key, data, len,
				    sig_out, sig_len, e);
}

static int
sign_ed25519(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
	     struct err *e)
{
	struct sign_job *j = arg;

	return dkim_keys_cache_sign(j->keys, j->lv.sealed, j->lv.sealed_len, DKIM_KEYS_N, data, len,
				    sig_out, sig_len, e);
}

/*
 * On a worker thread: prepend the owner's signature (the header added last,
 * DESIGN.md "Outbound envelope") — rsa-sha256, and ed25519-sha256 beside it
 * when the owner's Ed25519 record is served. Both sign the message as it
 * was, neither covering the other; the RSA field goes on top, where a
 * verifier that reads only the first signature finds the one it knows. The
 * Ed25519 signature is an extra: if it fails the message leaves with the
 * RSA one alone (logged).
 */
static void
sign_run(void *arg)
{
	struct sign_job *j = arg;
	struct dkim_params p = {
		.alg = DKIM_RSA_SHA256,
		.domain = j->lv.domain,
		.selector = j->lv.selector,
		.timestamp = (uint64_t)j->now,
	};
	char *h = NULL, *h_ed = NULL;
	size_t hn, en = 0, n = j->m.raw_len;
	bool crlf = n >= 2 && j->m.raw[n - 2] == '\r' && j->m.raw[n - 1] == '\n';

	if (dkim_sign(j->m.raw, j->m.raw_len, &p, sign_rsa, j, &h, &j->e) != 0)
		return;
	if (j->lv.ed25519) {
		p.alg = DKIM_ED25519_SHA256;
		p.selector = j->lv.selector_ed;
		struct err ed_e = {0};
		/* an extra beside the RSA signature: its failure costs only itself */
		if (dkim_sign(j->m.raw, j->m.raw_len, &p, sign_ed25519, j, &h_ed, &ed_e) != 0)
			log_warn("send: %s: no ed25519-sha256 signature: %s", j->m.id,
				 ed_e.message);
		else
			en = strlen(h_ed);
	}
	/* the signatures cover the message as SMTP delivers it: with a final CRLF */
	hn = strlen(h);
	uint8_t *raw = xmalloc(hn + en + n + 2);
	memcpy(raw, h, hn);
	if (en > 0)
		memcpy(raw + hn, h_ed, en);
	memcpy(raw + hn + en, j->m.raw, n);
	if (!crlf) {
		raw[hn + en + n] = '\r';
		raw[hn + en + n + 1] = '\n';
	}
	free(h);
	free(h_ed);
	free(j->m.raw);
	j->m.raw = raw;
	j->m.raw_len = hn + en + n + (crlf ? 0 : 2);
	j->ok = true;
}

/* Back on the submitter's loop: queue the signed message, or answer the
 * failure (the charge is given back by send_done). */
static void
sign_done(void *arg, bool cancelled)
{
	struct sign_job *j = arg;

	metrics_observe(METRIC_STAGE_SECONDS, (double)(monotonic_us() - j->start_us) / 1e6, "sign");
	if (cancelled)
		err_temp(&j->e, "The service is shutting down; try again.");
	if (cancelled || !j->ok) {
		log_warn("send: %s not signed: %s", j->m.id, j->e.message);
		if (!j->e.temporary)
			err_temp(&j->e, "The message could not be signed; try again.");
		send_done(j->sj, NULL, &j->e);
	} else {
		queue_submit(j->queue, &j->m, j->base, send_done, j->sj);
	}
	queue_msg_clear(&j->m);
	leave_clear(&j->lv);
	free(j);
}


/* The message as it will be delivered, into out; its MessageId (also in
 * the Message-ID header) into id. */
static int
render(const struct send_request *r, char id[80], struct buf *out, struct err *e)
{
	char date[40], mid[160];

	raw_date((long long)r->now, date);
	queue_message_id(id);
	build_message_id(r->region, id, mid, sizeof(mid));
	if (r->raw != NULL) {
		if (raw_render(r->raw, date, mid, out) != 0)
			return err_set(e, 400, "InvalidParameterValue", "The message is too large.");
		return 0;
	}
	const struct send_built *p = r->built;
	struct build_email b = {
		.from = &r->from,
		.to = p->to,
		.nto = p->nto,
		.cc = p->cc,
		.ncc = p->ncc,
		.reply_to = p->reply_to,
		.nreply_to = p->nreply_to,
		.subject = r->subject,
		.subject_charset = p->subject_charset,
		.text = p->text,
		.text_charset = p->text_charset,
		.html = p->html,
		.html_charset = p->html_charset,
		.date = date,
		.message_id = mid,
	};
	if (build_email(&b, out, e) != 0)
		return -1;
	/* SES's 10 MB is a limit on what the client sends: for a raw message
	 * raw_parse applied it; a built message is checked here */
	if (out->len > RAW_MAX_BYTES)
		return err_set(e, 400, "InvalidParameterValue",
			       "Message length is more than %d bytes long: '%zu'.", RAW_MAX_BYTES,
			       out->len);
	return 0;
}

/* mail.tags of event publishing: the message tags, then SES's auto-tags
 * (ses:outgoing-ip is not known at accept). malloc'd JSON object text. */
static char *
tags_json(const struct send_request *r, const char *config_set)
{
	json_t *o = json_object();
	const char *caller = r->user != NULL && r->user[0] ? r->user
			     : r->service != NULL && r->service[0] ? r->service
								    : "root";
	char *out;

	for (size_t i = 0; r->tags != NULL && i < r->tags->n; i++)
		json_object_set_new(o, r->tags->v[i].name, json_pack("[s]", r->tags->v[i].value));
	json_object_set_new(o, "ses:configuration-set", json_pack("[s]", config_set));
	if (r->source_ip != NULL && r->source_ip[0])
		json_object_set_new(o, "ses:source-ip", json_pack("[s]", r->source_ip));
	json_object_set_new(o, "ses:from-domain", json_pack("[s]", r->from.domain));
	json_object_set_new(o, "ses:caller-identity", json_pack("[s]", caller));
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (out == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	return out;
}

/* The sending account's set `name` may carry this send: 1 yes; 0 absent
 * and quiet (an identity's default deleted since); else -1 with
 * ConfigurationSetDoesNotExist, ConfigurationSetSendingPausedException or
 * a store error. */
static int
check_cset(struct store *st, const char *region, const char *account, const char *name,
	   bool absent_ok, struct err *e)
{
	struct config_set cs;
	int k = st->ops->cset_get(st, region, account, name, &cs, e);

	if (k < 0)
		return -1;
	if (k == 0) {
		if (absent_ok)
			return 0;
		return err_set(e, 400, "ConfigurationSetDoesNotExist",
			       "Configuration set <%.128s> does not exist.", name);
	}
	if (!cs.sending_enabled)
		return err_set(e, 400, "ConfigurationSetSendingPausedException",
			       "Sending is paused for configuration set <%s>.", cs.name);
	return 1;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

int
send_submit(const struct send_env *env, const struct send_request *r, send_done_fn done,
	    void *arg, struct err *e)
{
	struct send_lookup *c = env->lookup;
	struct store *st = env->store;
	const struct account *acct = r->account;
	const char **rcpt = NULL;
	struct authz_caller who = {0};
	struct authz_send what = {0};
	struct authz_lookup lookup;
	struct authz_result res;
	struct queue_msg m = {0};
	struct leave lv = {0};
	struct send_job *job;
	struct buf out;
	const char *cset;
	int64_t sent = 0, start_us = monotonic_us();
	int rc = -1;

	buf_init(&out, 0);
	/* the message is built before any charge: building can refuse bad
	 * content (a charset that cannot hold the text) */
	if (render(r, m.id, &out, e) != 0)
		goto done;
	if (send_lookup_sync(c, st, e) != 0)
		goto done;

	/* the caller's account */
	if (!acct->sending_enabled || acct->paused_reason[0] != '\0') {
		err_set(e, 400, "AccountSendingPausedException", "Sending is paused for this account.");
		goto refused;
	}
	if (acct->sandbox && check_sandbox(r, c, acct->id, e) != 0)
		goto refused;
	/* the caller's own configuration set (DESIGN.md "Semantics we pin") */
	if (r->configuration_set != NULL &&
	    check_cset(st, r->region, acct->id, r->configuration_set, false, e) != 1)
		goto done;

	/* who may send as these addresses */
	rcpt = xcalloc(r->nrcpt ? r->nrcpt : 1, sizeof(*rcpt));
	for (size_t i = 0; i < r->nrcpt; i++)
		rcpt[i] = r->rcpt[i].spec;
	who.account_id = r->account_id;
	who.principal = r->principal;
	who.user = r->user != NULL && r->user[0] ? r->user : NULL;
	who.service = r->service != NULL && r->service[0] ? r->service : NULL;
	who.region = r->region;
	who.source_ip = r->source_ip != NULL && r->source_ip[0] ? r->source_ip : NULL;
	who.secure = r->secure;
	who.now = (int64_t)r->now;
	if (who.user != NULL &&
	    send_lookup_user_policy(c, who.account_id, who.user, &who.user_policy, e) != 0)
		goto done;
	what.action = r->action;
	what.api_version = r->api_version;
	what.from_display_name = r->from.name[0] ? r->from.name : NULL;
	what.recipients = rcpt;
	what.nrecipients = r->nrcpt;
	what.address[AUTHZ_FROM] = r->from.spec;
	what.address[AUTHZ_SOURCE] = r->source.spec;
	what.address[AUTHZ_RETURN_PATH] = r->has_return_path ? r->return_path.spec : NULL;
	what.address[AUTHZ_SENDER] = r->has_sender ? r->sender.spec : NULL;
	for (int i = 0; i < AUTHZ_NROLES; i++)
		what.arn[i] = r->arn[i];
	send_lookup_authz(c, &lookup);
	if (authz_decide(&who, &what, &lookup, &res, e) != 0)
		goto refused;
	if (r->identity_out != NULL)
		snprintf(r->identity_out, r->identity_cap, "%s", res.role[AUTHZ_FROM].identity_arn);
	log_debug("send: %s %s as %s (%s, statement '%s')", r->principal, r->action,
		  res.role[AUTHZ_FROM].identity_arn,
		  res.role[AUTHZ_FROM].delegated ? "delegated" : "own",
		  res.role[AUTHZ_FROM].matched_sid);
	/* both accounts must be out of the sandbox to reach unverified recipients */
	for (int i = 0; i < AUTHZ_NROLES; i++) {
		const struct authz_grant *g = &res.role[i];
		struct account owner = {0};
		bool seen = false;
		int k;
		if (!g->present || !g->delegated)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = res.role[j].present && res.role[j].delegated &&
			       strcmp(res.role[j].owner, g->owner) == 0;
		if (seen)
			continue;
		if ((k = st->ops->account_get(st, g->owner, &owner, e)) < 0)
			goto done;
		if (k == 0) {
			/* the owner was deleted after authz read its identity (the
			 * deletion takes the identity with it): fail closed, as for
			 * an identity that does not exist */
			not_verified(r, what.address[i] != NULL ? what.address[i] : "", e);
			goto refused;
		}
		if (owner.sandbox && check_sandbox(r, c, owner.id, e) != 0)
			goto refused;
	}

	/* how it leaves: the owner's MAIL FROM domain and DKIM key */
	if (plan_leave(c, r->region,
		       res.role[AUTHZ_FROM].delegated ? res.role[AUTHZ_FROM].owner : acct->id,
		       r->from.spec, m.id, &lv, e) != 0)
		goto refused;
	if (lv.dkim && (env->shared.workers == NULL || env->shared.dkim_keys == NULL)) {
		err_temp(e, "Message signing is not available; try again.");
		goto done;
	}
	/* no set named: the identity's default one, for its owner's own sends
	 * only (a delegate's send does not get the owner's set: sets are the
	 * sending account's, docs/internals/v2.md); a default deleted since is
	 * no set */
	cset = r->configuration_set;
	if (cset == NULL && lv.config_set[0] != '\0' && !res.role[AUTHZ_FROM].delegated) {
		int k = check_cset(st, r->region, acct->id, lv.config_set, true, e);
		if (k < 0)
			goto done;
		if (k == 1)
			cset = lv.config_set;
	}

	/* the caller's limits */
	if (st->ops->event_sum(st, acct->id, "accept", (int64_t)r->now - DAY, &sent, e) != 0)
		goto done;
	if (limits_charge(env->shared.limits, acct->id, acct->max_rate, acct->max_24h, sent,
			  monotonic_us(), r->nrcpt, e) != 0)
		goto refused;

	snprintf(m.region, sizeof(m.region), "%s", r->region);
	snprintf(m.sending_account, sizeof(m.sending_account), "%s", acct->id);
	m.max_24h = acct->max_24h;
	if (res.role[AUTHZ_FROM].delegated)
		snprintf(m.identity_owner, sizeof(m.identity_owner), "%s", res.role[AUTHZ_FROM].owner);
	m.source_arn = dup_or_null(res.role[AUTHZ_SOURCE].identity_arn);
	m.from_arn = dup_or_null(res.role[AUTHZ_FROM].identity_arn);
	m.return_path_arn = res.role[AUTHZ_RETURN_PATH].present
				    ? dup_or_null(res.role[AUTHZ_RETURN_PATH].identity_arn)
				    : NULL;
	m.principal = xstrdup(r->principal);
	snprintf(m.source_ip, sizeof(m.source_ip), "%s", r->source_ip ? r->source_ip : "");
	m.source = xstrdup(r->has_return_path ? r->return_path.spec : r->source.spec);
	m.from_addr = xstrdup(r->from.spec);
	m.subject = r->subject != NULL ? xstrdup(r->subject) : NULL;
	m.ndestinations = r->nrcpt;
	m.destinations = xcalloc(r->nrcpt ? r->nrcpt : 1, sizeof(*m.destinations));
	for (size_t i = 0; i < r->nrcpt; i++)
		m.destinations[i] = xstrdup(r->rcpt[i].spec);
	m.raw = (uint8_t *)buf_steal(&out, &m.raw_len);
	m.rendering_failure = r->rendering_failure != NULL ? xstrdup(r->rendering_failure) : NULL;
	if (cset != NULL) {
		m.config_set = xstrdup(cset);
		m.tags = tags_json(r, cset);
	}
	m.mail_from = xasprintf("%s@%s", m.id,
				lv.mail_from_domain[0] ? lv.mail_from_domain
						       : env->bounce_domain != NULL && env->bounce_domain[0]
							 ? env->bounce_domain
							 : "localhost");

	job = xcalloc(1, sizeof(*job));
	job->limits = env->shared.limits;
	job->done = done;
	job->arg = arg;
	snprintf(job->account, sizeof(job->account), "%s", acct->id);
	snprintf(job->action, sizeof(job->action), "%s", r->action);
	job->via = via_of(r);
	job->rate = acct->max_rate;
	job->n = r->nrcpt;
	rc = 0;
	metrics_observe(METRIC_STAGE_SECONDS, (double)(monotonic_us() - start_us) / 1e6, "decision");
	if (!lv.dkim || m.rendering_failure != NULL) { /* never delivered: nothing to sign */
		queue_submit(env->shared.queue, &m, env->base, send_done, job);
		goto done;
	}
	/* signing is CPU work: a worker does it, never this loop */
	struct sign_job *sj = xcalloc(1, sizeof(*sj));
	sj->queue = env->shared.queue;
	sj->base = env->base;
	sj->keys = env->shared.dkim_keys;
	sj->m = m;
	memset(&m, 0, sizeof(m));
	sj->sj = job;
	sj->lv = lv;
	memset(&lv, 0, sizeof(lv));
	sj->now = (int64_t)r->now;
	sj->start_us = monotonic_us();
	if (workers_submit(env->shared.workers, sign_run, sign_done, sj, env->base) != 0) {
		struct err busy;
		err_temp(&busy, "Too many messages are waiting to be signed; try again.");
		send_done(job, NULL, &busy);
		queue_msg_clear(&sj->m);
		leave_clear(&sj->lv);
		free(sj);
	}
	goto done;

refused:
	/* counted in the caller's statistics (GetSendStatistics Rejects),
	 * written off this loop by the queue's store thread */
	if (is_refusal(e))
		queue_record(env->shared.queue, r->account_id, (int64_t)r->now, "reject",
			     (int64_t)(r->nrcpt ? r->nrcpt : 1));
done:
	if (rc != 0)
		metrics_add(METRIC_SENDS, 1, via_of(r), is_refusal(e) ? "refused" : "failed", e->code);
	queue_msg_clear(&m);
	leave_clear(&lv);
	free(rcpt);
	buf_free(&out);
	return rc;
}
