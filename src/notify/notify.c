/*
 * notify.c — routing an event to the owner's and the delegate's identity
 * topics and to the sending account's configuration set destinations, SES's
 * notification JSON and event publishing JSON, and the feedback-forwarding
 * mail (notify.h). Owns only the per-batch cache (identities and their
 * settings, sets and their destinations); every notice it returns is the
 * caller's (notify_out_clear). Notes: docs/internals/notify.md.
 */
#include "notify/notify.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/raw.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define CACHE_MAX 64                 /* identities remembered per batch */
#define HEADERS_MAX (10 * 1024)      /* SES: headers past 10 KB are truncated */
#define SETS_MAX 16                  /* configuration sets remembered per batch */
#define NOTICES_MAX 16               /* topics one event publishes to */

/* ---- the per-batch cache ------------------------------------------------ */

struct cached {
	char region[33], owner[13];
	char *name;                  /* the address or domain looked up */
	bool exists, forwarding;
	struct notify_setting *set;  /* every setter's row */
	size_t nset;
};

/* one configuration set's destinations, read once per batch */
struct cached_set {
	char region[33], account[13], name[65];
	struct cset_dest *d;
	size_t n;
};

struct notify_cache {
	struct cached v[CACHE_MAX];
	size_t n;
	struct cached_set sets[SETS_MAX];
	size_t nsets;
};

struct notify_cache *
notify_cache_new(void)
{
	return xcalloc(1, sizeof(struct notify_cache));
}

static void
cached_clear(struct cached *c)
{
	free(c->name);
	for (size_t i = 0; i < c->nset; i++)
		notify_setting_clear(&c->set[i]);
	free(c->set);
	memset(c, 0, sizeof(*c));
}

void
notify_cache_free(struct notify_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		cached_clear(&c->v[i]);
	for (size_t i = 0; i < c->nsets; i++)
		free(c->sets[i].d);
	free(c);
}

static int
keep_dest(void *arg, const struct cset_dest *d)
{
	struct cached_set *c = arg;

	c->d = xrealloc(c->d, (c->n + 1) * sizeof(*c->d));
	c->d[c->n++] = *d;
	return 0;
}

/* The destinations of configuration set `name` of `account`: owned by the
 * cache, or by *tmp without one; NULL on a store error. */
static struct cached_set *
lookup_set(struct store *s, struct notify_cache *cache, struct cached_set *tmp, const char *region,
	   const char *account, const char *name, struct err *e)
{
	struct cached_set *c = tmp;

	for (size_t i = 0; cache != NULL && i < cache->nsets; i++)
		if (strcmp(cache->sets[i].region, region) == 0 &&
		    strcmp(cache->sets[i].account, account) == 0 &&
		    strcmp(cache->sets[i].name, name) == 0)
			return &cache->sets[i];
	if (cache != NULL) {
		if (cache->nsets == SETS_MAX) {
			for (size_t i = 0; i < cache->nsets; i++)
				free(cache->sets[i].d);
			cache->nsets = 0;
		}
		c = &cache->sets[cache->nsets];
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->region, sizeof(c->region), "%s", region);
	snprintf(c->account, sizeof(c->account), "%s", account);
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (s->ops->cset_dest_list(s, region, account, name, keep_dest, c, e) != 0) {
		free(c->d);
		memset(c, 0, sizeof(*c));
		return NULL;
	}
	if (cache != NULL)
		cache->nsets++;
	return c;
}

static int
keep_setting(void *arg, const struct notify_setting *n)
{
	struct cached *c = arg;

	c->set = xrealloc(c->set, (c->nset + 1) * sizeof(*c->set));
	struct notify_setting *d = &c->set[c->nset++];
	*d = *n;
	d->identity = xstrdup(n->identity);
	for (int i = 0; i < NOTIFY_NTYPES; i++)
		d->topic[i] = n->topic[i] != NULL ? xstrdup(n->topic[i]) : NULL;
	return 0;
}

/* The identity `name` of `owner` and its settings, read once per batch.
 * Returns it (owned by the cache, or by *tmp when there is no cache), or
 * NULL on a store error. */
static struct cached *
lookup(struct store *s, struct notify_cache *cache, struct cached *tmp, const char *region,
       const char *owner, const char *name, struct err *e)
{
	struct cached *c = tmp;
	struct identity id = {0};
	int r;

	for (size_t i = 0; cache != NULL && i < cache->n; i++)
		if (strcmp(cache->v[i].region, region) == 0 && strcmp(cache->v[i].owner, owner) == 0 &&
		    strcmp(cache->v[i].name, name) == 0)
			return &cache->v[i];
	if (cache != NULL) {
		if (cache->n == CACHE_MAX) {
			for (size_t i = 0; i < cache->n; i++)
				cached_clear(&cache->v[i]);
			cache->n = 0;
		}
		c = &cache->v[cache->n];
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->region, sizeof(c->region), "%s", region);
	snprintf(c->owner, sizeof(c->owner), "%s", owner);
	c->name = xstrdup(name);
	if ((r = s->ops->identity_get(s, region, owner, name, &id, e)) < 0 ||
	    (r == 1 && s->ops->notify_list(s, region, owner, name, keep_setting, c, e) != 0)) {
		identity_clear(&id);
		cached_clear(c);
		return NULL;
	}
	c->exists = r == 1;
	c->forwarding = r == 1 && id.forwarding_enabled;
	identity_clear(&id);
	if (cache != NULL)
		cache->n++;
	return c;
}

/* ---- routing ---------------------------------------------------------------- */

/* The MatchingEventTypes bit of event `type`; 0 for types no destination
 * takes. */
static unsigned
event_bit(const char *type)
{
	static const struct {
		const char *type;
		unsigned bit;
	} map[] = {{"Send", CSET_EV_SEND},
		   {"Reject", CSET_EV_REJECT},
		   {"Bounce", CSET_EV_BOUNCE},
		   {"Complaint", CSET_EV_COMPLAINT},
		   {"Delivery", CSET_EV_DELIVERY},
		   {"DeliveryDelay", CSET_EV_DELIVERY_DELAY},
		   {"RenderingFailure", CSET_EV_RENDERING_FAILURE}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(type, map[i].type) == 0)
			return map[i].bit;
	return 0;
}

static int
type_index(const char *type)
{
	if (strcmp(type, "Bounce") == 0)
		return NOTIFY_BOUNCE;
	if (strcmp(type, "Complaint") == 0)
		return NOTIFY_COMPLAINT;
	if (strcmp(type, "Delivery") == 0)
		return NOTIFY_DELIVERY;
	return -1;
}

void
notify_out_clear(struct notify_out *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free((char *)o->v[i].topic_arn);
		free((char *)o->v[i].message);
	}
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* The identity ARN the notifications name as mail.sourceArn. */
static void
source_arn(const struct store_message *m, const char *owner, const char *name, char *arn,
	   size_t cap)
{
	if (m->from_arn != NULL)
		snprintf(arn, cap, "%s", m->from_arn);
	else if (m->source_arn != NULL)
		snprintf(arn, cap, "%s", m->source_arn);
	else
		snprintf(arn, cap, "arn:aws:ses:%s:%s:identity/%s", m->region, owner, name);
}

/*
 * The event-publishing notices of the sending account's configuration set
 * of m (DESIGN.md: D's sets get D's mail only — the set is the sending
 * account's by construction, send_submit looked it up there). A Send event
 * is written per recipient but SES publishes one per message: only the
 * first recipient's publishes. Appended to out; one per topic.
 */
static int
route_set(struct store *s, struct notify_cache *cache, const struct store_message *m,
	  const char *type, const char *recipient, const char *detail, const char *arn,
	  struct notify_out *out, struct err *e)
{
	unsigned bit = event_bit(type);
	struct cached_set tmp, *cs;
	char *json = NULL;

	if (bit == 0 || m->config_set == NULL || m->sending_account[0] == '\0')
		return 0;
	if (bit == CSET_EV_SEND && recipient != NULL && m->ndestinations > 0 &&
	    strcmp(recipient, m->destinations[0]) != 0)
		return 0;
	if ((cs = lookup_set(s, cache, &tmp, m->region, m->sending_account, m->config_set, e)) ==
	    NULL)
		return -1;
	for (size_t i = 0; i < cs->n; i++) {
		const struct cset_dest *d = &cs->d[i];
		bool seen = false;
		if (!d->enabled || (d->types & bit) == 0)
			continue;
		for (size_t k = 0; k < out->n && !seen; k++)
			seen = out->v[k].subject == NULL && strcmp(out->v[k].topic_arn, d->topic_arn) == 0;
		if (seen || out->n >= NOTICES_MAX)
			continue;
		if (json == NULL)
			json = notify_event_json(m, arn, type, detail);
		out->v[out->n].topic_arn = xstrdup(d->topic_arn);
		out->v[out->n].subject = NULL;
		out->v[out->n].message = xstrdup(json);
		out->n++;
	}
	free(json);
	if (cs == &tmp)
		free(tmp.d);
	return 0;
}

int
notify_route(struct store *s, struct notify_cache *cache, const struct store_message *m,
	     const char *type, const char *recipient, const char *detail, int64_t now_ms,
	     struct notify_out *out, struct err *e)
{
	const char *owner = m->identity_owner[0] != '\0' ? m->identity_owner : m->sending_account;
	const char *from = m->from_addr != NULL ? m->from_addr : m->source;
	int t = type_index(type);
	struct cached tmp, *id = NULL;
	const char *topics[8];
	bool headers[8];
	size_t n = 0, nid;
	char arn[512], domain[256];

	memset(out, 0, sizeof(*out));
	if (m->sending_account[0] == '\0' || from == NULL)
		return 0; /* sesame's own mail notifies nobody */
	if (t < 0 && m->config_set == NULL)
		return 0; /* only configuration sets publish the other types */
	out->v = xcalloc(NOTICES_MAX + 8, sizeof(*out->v)); /* identity topics + sets */
	/* the most specific identity of the owner covering the address */
	const char *at = strrchr(from, '@');
	snprintf(domain, sizeof(domain), "%s", at != NULL ? at + 1 : "");
	for (char *p = domain; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	const char *names[2] = {from, domain};
	for (int k = 0; t >= 0 && k < 2 && (id == NULL || !id->exists); k++) {
		if (id == &tmp)
			cached_clear(&tmp);
		if (names[k][0] == '\0')
			continue;
		if ((id = lookup(s, cache, &tmp, m->region, owner, names[k], e)) == NULL) {
			notify_out_clear(out);
			return -1;
		}
	}
	for (size_t i = 0; id != NULL && id->exists && i < id->nset; i++) {
		const struct notify_setting *st = &id->set[i];
		bool mine = strcmp(st->account_id, owner) == 0 ||
			    strcmp(st->account_id, m->sending_account) == 0;
		size_t k;
		if (!mine || st->topic[t] == NULL)
			continue;
		for (k = 0; k < n && strcmp(topics[k], st->topic[t]) != 0; k++)
			;
		if (k == n && n < sizeof(topics) / sizeof(topics[0])) {
			topics[n] = st->topic[t];
			headers[n++] = false;
		}
		if (k < n)
			headers[k] = headers[k] || st->headers[t];
	}
	source_arn(m, owner, id != NULL && id->exists ? id->name : (at != NULL ? domain : from), arn,
		   sizeof(arn));
	for (size_t k = 0; k < n; k++) {
		out->v[k].topic_arn = xstrdup(topics[k]);
		out->v[k].message = notify_json(m, arn, type, detail, headers[k]);
		/* identity notifications carry no Subject either: mark them apart
		 * from the event-publishing ones for the de-duplication below */
		out->v[k].subject = NULL;
	}
	out->n = nid = n;
	bool forwarding = id != NULL && id->exists && id->forwarding;
	bool known = id != NULL && id->exists;
	if (id == &tmp)
		cached_clear(&tmp);
	/* event publishing: deduplicated among the set's destinations only */
	struct notify_out sets = {.v = out->v + nid};
	if (route_set(s, cache, m, type, recipient, detail, arn, &sets, e) != 0) {
		notify_out_clear(out);
		return -1;
	}
	out->n = nid + sets.n;
	/* feedback forwarding: the owner's switch, or when nothing routes it */
	out->forward = t >= 0 && t != NOTIFY_DELIVERY && (!known || forwarding || out->n == 0);
	(void)now_ms;
	return 0;
}

/* ---- the notification JSON ------------------------------------------------- */

/* The IAM name SES puts in callerIdentity: the user name, "root", or the
 * service principal. */
static const char *
caller_identity(const char *principal)
{
	const char *slash;

	if (principal == NULL)
		return "";
	if ((slash = strrchr(principal, '/')) != NULL && strncmp(principal, "arn:", 4) == 0)
		return slash + 1;
	if (strncmp(principal, "arn:", 4) == 0 && strlen(principal) > 5 &&
	    strcmp(principal + strlen(principal) - 5, ":root") == 0)
		return "root";
	return principal;
}

static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s != NULL ? s : "");
	return j != NULL ? j : json_string("");
}

/* headers, headersTruncated and commonHeaders of the original into mail. */
static void
add_headers(json_t *mail, const struct store_message *m)
{
	struct raw_msg *r = NULL;
	struct err e;
	json_t *list = json_array(), *common = json_object();
	bool truncated = false;
	size_t total = 0;

	if (m->raw != NULL && raw_parse(m->raw, m->raw_len, &r, &e) == 0) {
		for (size_t i = 0; i < r->nfields; i++) {
			struct buf v;
			const struct raw_field *f = &r->field[i];
			if (total + f->len > HEADERS_MAX) {
				truncated = true;
				break;
			}
			total += f->len;
			buf_init(&v, 0);
			raw_value(r, i, &v);
			char *name = xstrndup(r->data + f->off, f->name_len);
			char *value = xstrndup(v.data != NULL ? v.data : "", v.len);
			json_array_append_new(list, json_pack("{s:o,s:o}", "name", jstr(name), "value",
							      jstr(value)));
			static const struct {
				const char *header, *key;
				bool list;
			} commons[] = {{"From", "from", true},	  {"To", "to", true},
				       {"Cc", "cc", true},	  {"Reply-To", "replyTo", true},
				       {"Date", "date", false},	  {"Message-ID", "messageId", false},
				       {"Subject", "subject", false}};
			for (size_t k = 0; k < sizeof(commons) / sizeof(commons[0]); k++)
				if (strcasecmp(name, commons[k].header) == 0)
					json_object_set_new(common, commons[k].key,
							    commons[k].list ? json_pack("[o]", jstr(value))
									    : jstr(value));
			free(name);
			free(value);
			buf_free(&v);
		}
		raw_free(r);
	}
	json_object_set_new(mail, "headersTruncated", json_boolean(truncated));
	json_object_set_new(mail, "headers", list);
	json_object_set_new(mail, "commonHeaders", common);
}

char *
notify_json(const struct store_message *m, const char *identity_arn, const char *type,
	    const char *detail, bool headers)
{
	json_t *o = json_object(), *mail = json_object(), *dest = json_array(), *d;
	char ts[TIMEFMT_LEN], key[16];
	char *out;

	timefmt_iso_ms(m->created_ms, ts);
	json_object_set_new(mail, "timestamp", json_string(ts));
	json_object_set_new(mail, "messageId", jstr(m->id));
	json_object_set_new(mail, "source", jstr(m->source));
	json_object_set_new(mail, "sourceArn", jstr(identity_arn));
	json_object_set_new(mail, "sourceIp", jstr(m->source_ip));
	json_object_set_new(mail, "sendingAccountId", jstr(m->sending_account));
	json_object_set_new(mail, "callerIdentity", jstr(caller_identity(m->principal)));
	for (size_t i = 0; i < m->ndestinations; i++)
		json_array_append_new(dest, jstr(m->destinations[i]));
	json_object_set_new(mail, "destination", dest);
	if (headers)
		add_headers(mail, m);
	json_object_set_new(o, "notificationType", jstr(type));
	json_object_set_new(o, "mail", mail);
	d = detail != NULL ? json_loads(detail, 0, NULL) : NULL;
	snprintf(key, sizeof(key), "%s", type);
	key[0] = (char)(key[0] >= 'A' && key[0] <= 'Z' ? key[0] - 'A' + 'a' : key[0]);
	json_object_set_new(o, key, d != NULL ? d : json_object());
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (out == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	return out;
}

/* The key of the type object in event publishing JSON. */
static void
event_key(const char *type, char *key, size_t cap)
{
	if (strcmp(type, "RenderingFailure") == 0) {
		snprintf(key, cap, "failure");
		return;
	}
	snprintf(key, cap, "%s", type);
	key[0] = (char)(key[0] >= 'A' && key[0] <= 'Z' ? key[0] - 'A' + 'a' : key[0]);
}

char *
notify_event_json(const struct store_message *m, const char *identity_arn, const char *type,
		  const char *detail)
{
	json_t *o = json_object(), *mail = json_object(), *dest = json_array(), *d, *tags;
	char ts[TIMEFMT_LEN], key[32];
	char *out;

	timefmt_iso_ms(m->created_ms, ts);
	json_object_set_new(mail, "timestamp", json_string(ts));
	json_object_set_new(mail, "source", jstr(m->source));
	json_object_set_new(mail, "sourceArn", jstr(identity_arn));
	json_object_set_new(mail, "sourceIp", jstr(m->source_ip));
	json_object_set_new(mail, "sendingAccountId", jstr(m->sending_account));
	json_object_set_new(mail, "callerIdentity", jstr(caller_identity(m->principal)));
	json_object_set_new(mail, "messageId", jstr(m->id));
	for (size_t i = 0; i < m->ndestinations; i++)
		json_array_append_new(dest, jstr(m->destinations[i]));
	json_object_set_new(mail, "destination", dest);
	add_headers(mail, m);
	tags = m->tags != NULL ? json_loads(m->tags, 0, NULL) : NULL;
	if (json_is_object(tags)) {
		json_object_set_new(mail, "tags", tags);
	} else {
		json_decref(tags);
		json_object_set_new(mail, "tags", json_object());
	}
	json_object_set_new(o, "eventType", jstr(type));
	json_object_set_new(o, "mail", mail);
	d = detail != NULL ? json_loads(detail, 0, NULL) : NULL;
	event_key(type, key, sizeof(key));
	if (json_is_object(d)) {
		json_object_set_new(o, key, d);
	} else {
		json_decref(d);
		json_object_set_new(o, key, json_object());
	}
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (out == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	return out;
}

/* ---- feedback forwarding ------------------------------------------------------- */

static const char *
detail_str(json_t *d, const char *list, const char *key)
{
	json_t *r = json_array_get(json_object_get(d, list), 0);
	const char *v = json_string_value(json_object_get(r != NULL ? r : d, key));

	return v != NULL ? v : "";
}

/* one header value without CR or LF (it came from JSON) */
static void
clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

int
notify_forward_mail(const struct store_message *m, const char *type, const char *recipient,
		    const char *detail, const char *mta, const char *message_id, int64_t now_ms,
		    struct buf *out)
{
	bool bounce = strcmp(type, "Bounce") == 0;
	json_t *d = detail != NULL ? json_loads(detail, 0, NULL) : NULL;
	char boundary[64], date[64], status[32], diag[1024], ftype[64];
	time_t now = (time_t)(now_ms / 1000);
	struct tm tm;
	size_t hdr_len = m->raw_len;
	const char *raw = (const char *)m->raw;

	snprintf(status, sizeof(status), "%s", detail_str(d, "bouncedRecipients", "status"));
	snprintf(diag, sizeof(diag), "%s", detail_str(d, "bouncedRecipients", "diagnosticCode"));
	snprintf(ftype, sizeof(ftype), "%s", detail_str(d, "", "complaintFeedbackType"));
	clean(status), clean(diag), clean(ftype);
	json_decref(d);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "=_sesame_%llx", (unsigned long long)now_ms);
	for (size_t i = 0; raw != NULL && i + 3 < m->raw_len; i++)
		if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
			hdr_len = i + 2;
			break;
		}
	buf_printf(out,
		   "From: MAILER-DAEMON@%s\r\nTo: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
		   "Subject: %s\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"%s\"\r\n\r\n",
		   mta, m->source != NULL ? m->source : "", date, message_id,
		   bounce ? "Delivery Status Notification (Failure)" : "Complaint about your message",
		   bounce ? "delivery-status" : "feedback-report", boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n", boundary);
	if (bounce)
		buf_printf(out,
			   "An error occurred while trying to deliver the mail to the following "
			   "recipient:\r\n\r\n  %s\r\n\r\n%s\r\n\r\n",
			   recipient, diag);
	else
		buf_printf(out,
			   "The recipient %s reported your message %s as unwanted (%s).\r\n\r\n",
			   recipient, m->id, ftype[0] ? ftype : "abuse");
	if (bounce)
		buf_printf(out,
			   "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
			   "Reporting-MTA: dns; %s\r\n\r\nFinal-Recipient: rfc822; %s\r\n"
			   "Action: failed\r\nStatus: %s\r\nDiagnostic-Code: %s\r\n\r\n",
			   boundary, mta, recipient, status[0] ? status : "5.0.0",
			   diag[0] ? diag : "smtp; 550 5.0.0 bounced");
	else
		buf_printf(out,
			   "--%s\r\nContent-Type: message/feedback-report\r\n\r\n"
			   "Feedback-Type: %s\r\nUser-Agent: sesame\r\nVersion: 1\r\n"
			   "Original-Rcpt-To: %s\r\n\r\n",
			   boundary, ftype[0] ? ftype : "abuse", recipient);
	buf_printf(out, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
	if (raw != NULL)
		buf_append(out, raw, hdr_len);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
	return 0;
}
