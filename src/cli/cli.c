/*
 * cli.c — the admin commands (`sesame account|user|key|identity …`) working
 * on the store directly; `policy …` is delegated to cli_policy.c.
 *
 * Each command is one row of `cmds`: noun, verb, the flags it accepts, how
 * many positional arguments, and the function that runs it. Parsing (flags,
 * `--flag VALUE` or `--flag=VALUE`, unknown or repeated flags, missing
 * required ones) is done from the row before the command runs, so a usage
 * error (exit 2) never opens the store. A command then validates its values
 * (exit 1), and only after everything is checked opens the store and writes.
 *
 * Output contract (DESIGN.md "Interfaces users rely on"): success prints one
 * JSON object on stdout and exits 0; failure prints one line
 * `sesame: <message>` on stderr, nothing on stdout, and writes nothing.
 * A secret access key is printed once, by `key create`, and never stored
 * unsealed. The one other output on stdout is help (`sesame help …`, or
 * --help/-h anywhere before "--"): plain text, exit 0, the store unopened.
 * The synopsis in help and in usage errors is generated from the row.
 */
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/credentials.h"
#include "auth/dkim_keys.h"
#include "auth/smtp_password.h"
#include "auth/vault.h"
#include "cli/cli_policy.h"
#include "conf/conf.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/policy.h"
#include "core/reputation.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/suggest.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define MAX_FLAGS 6
#define MAX_POLICIES_SHOWN 20 /* SES: at most 20 policies per identity */
#define MAX_POS 2
#define USER_POLICY_MAX 6144  /* bytes of an IAM user policy file */
#define IDENTITY_MAX 320      /* bytes of an identity name */
#define SERVICE_MAX 253       /* bytes of a service principal name */
#define CREATE_TRIES 16       /* random-id collisions tolerated before giving up */

struct flag {
	const char *name;
	const char *meta; /* the value's name in the synopsis; NULL: a boolean */
	bool required;
};

struct args {
	const char *val[MAX_FLAGS]; /* by flag index; NULL absent, "" for a present boolean */
	const char *pos[MAX_POS];
	int npos;
};

struct cli {
	const struct conf *c;
	const struct cmd *cmd;
	const struct args *a;
	struct store *s;
	struct err e;
};

struct cmd {
	const char *noun, *verb;
	struct flag flags[MAX_FLAGS];
	int npos;
	const char *pos;   /* the positional arguments' names ("" for none) */
	const char *about; /* one line for `sesame help` */
	int (*run)(struct cli *x);
};

/* ---- output -------------------------------------------------------------- */

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr; returns exit status 1. */
static int
fail(const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	fprintf(stderr, "sesame: %s\n", msg);
	return 1;
}

static int
usage_fail(const struct cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "NOUN VERB --flag VALUE [--opt VALUE] [--bool] POS", from the row. */
static void
synopsis(const struct cmd *cmd, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "%s %s", cmd->noun, cmd->verb);

	for (int i = 0; i < MAX_FLAGS && cmd->flags[i].name != NULL && o < cap; i++) {
		const struct flag *f = &cmd->flags[i];
		o += (size_t)snprintf(out + o, cap - o, " %s--%s%s%s%s", f->required ? "" : "[",
				      f->name, f->meta ? " " : "", f->meta ? f->meta : "",
				      f->required ? "" : "]");
	}
	if (cmd->pos[0] != '\0' && o < cap)
		snprintf(out + o, cap - o, " %s", cmd->pos);
}

/* A usage error: one line with the command's synopsis; exit status 2. */
static int
usage_fail(const struct cmd *cmd, const char *fmt, ...)
{
	char msg[512], syn[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd != NULL) {
		synopsis(cmd, syn, sizeof(syn));
		fprintf(stderr, "sesame: %s %s: %s (usage: sesame %s)\n", cmd->noun, cmd->verb, msg,
			syn);
	} else
		fprintf(stderr, "sesame: %s\n", msg);
	return 2;
}

/* Print `o` (consumed) as the command's one JSON object. */
static int
emit(json_t *o)
{
	int r = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (r != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return fail("cannot write the result to stdout");
	return 0;
}

/* json_string that never yields NULL (stored bytes that are not UTF-8 show as "?"). */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s != NULL ? s : "");
	return j != NULL ? j : json_string("?");
}

static json_t *
jnum(double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *
jtime(int64_t t)
{
	char s[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_string("");
	return json_string(s);
}

/* ---- arguments ----------------------------------------------------------- */

static int
flag_index(const struct cmd *cmd, const char *name, size_t len)
{
	for (int i = 0; i < MAX_FLAGS && cmd->flags[i].name != NULL; i++)
		if (strlen(cmd->flags[i].name) == len && strncmp(cmd->flags[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Fill `a` from argv (after noun and verb); 0, or a usage error's exit status. */
static int
cli_parse(const struct cmd *cmd, int argc, char **argv, struct args *a)
{
	bool only_pos = false;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!only_pos && strcmp(s, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (only_pos || strncmp(s, "--", 2) != 0) {
			if (a->npos >= cmd->npos)
				return usage_fail(cmd, "unexpected argument '%.64s'", s);
			a->pos[a->npos++] = s;
			continue;
		}
		const char *eq = strchr(s + 2, '=');
		size_t len = eq != NULL ? (size_t)(eq - s - 2) : strlen(s + 2);
		int f = flag_index(cmd, s + 2, len);
		if (f < 0) {
			/* its own flags first, then the options every command takes */
			struct suggest sg;
			char hint[128];
			suggest_init(&sg, s + 2, len);
			for (int j = 0; j < MAX_FLAGS && cmd->flags[j].name != NULL; j++)
				suggest_offer(&sg, cmd->flags[j].name);
			conf_suggest(&sg);
			suggest_hint(&sg, "--", hint, sizeof(hint));
			return usage_fail(cmd, "unknown flag '--%.*s'%s", (int)(len > 64 ? 64 : len),
					  s + 2, hint);
		}
		if (a->val[f] != NULL)
			return usage_fail(cmd, "--%s given twice", cmd->flags[f].name);
		if (cmd->flags[f].meta == NULL) {
			if (eq != NULL)
				return usage_fail(cmd, "--%s takes no value", cmd->flags[f].name);
			a->val[f] = "";
		} else if (eq != NULL) {
			a->val[f] = eq + 1;
		} else if (i + 1 < argc) {
			a->val[f] = argv[++i];
		} else {
			return usage_fail(cmd, "--%s needs a value", cmd->flags[f].name);
		}
	}
	for (int f = 0; f < MAX_FLAGS && cmd->flags[f].name != NULL; f++)
		if (cmd->flags[f].required && a->val[f] == NULL)
			return usage_fail(cmd, "missing --%s", cmd->flags[f].name);
	if (a->npos < cmd->npos)
		return usage_fail(cmd, "missing argument");
	return 0;
}

/* The value of flag `name` (NULL when absent). */
static const char *
opt(const struct cli *x, const char *name)
{
	int f = flag_index(x->cmd, name, strlen(name));
	return f >= 0 ? x->a->val[f] : NULL;
}

/* ---- validation ---------------------------------------------------------- */

static bool
charset_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return true;
}

TESTABLE bool
cli_account_name_ok(const char *s)
{
	return charset_ok(s, 1, 64, "._-");
}

TESTABLE bool
cli_user_name_ok(const char *s)
{
	return charset_ok(s, 1, 64, "+=,.@_-");
}

static bool
account_id_ok(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (int i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

TESTABLE bool
cli_service_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > SERVICE_MAX || strchr(s, '.') == NULL || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || s[n - 1] == '-' || strstr(s, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* Integer >= -1 (recipients per 24 h; -1 unlimited). */
TESTABLE int
cli_parse_max24h(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] == '\0' || strlen(s) > 20 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < -1 || v > 1000000000000LL)
		return -1;
	*out = v;
	return 0;
}

/* A plain decimal number > 0 ("14", "0.5"); no signs, exponents, inf or nan. */
TESTABLE int
cli_parse_rate(const char *s, double *out)
{
	size_t n = strlen(s), dots = 0, digits = 0;
	char *end;
	double v;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return -1;
	}
	if (dots > 1 || digits == 0)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v <= 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

/*
 * Normalise an identity for storage: an address keeps its local part and
 * lower-cases its domain; a domain is lower-cased. Minimal checks only: 1–320
 * printable ASCII bytes, no spaces; an address has one non-empty local part
 * and domain. Returns a malloc'd string, or NULL if invalid.
 */
TESTABLE char *
cli_identity_normalise(const char *s, enum identity_type *type_out)
{
	size_t n = strlen(s);
	const char *at = strrchr(s, '@');
	char *out;

	if (n == 0 || n > IDENTITY_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return NULL;
	if (at != NULL && (at == s || at[1] == '\0'))
		return NULL;
	out = xstrdup(s);
	for (size_t i = at != NULL ? (size_t)(at - s) : 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	*type_out = at != NULL ? IDENTITY_EMAIL : IDENTITY_DOMAIN;
	return out;
}

/*
 * THE place where an IAM user's own policy is validated before it is stored:
 * well-formed JSON object first (for a plain message), then the policy
 * engine's full check in identity (IAM user) mode.
 */
static int
validate_user_policy(const char *doc, size_t len, struct err *e)
{
	json_error_t jerr;
	json_t *j = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	struct policy *p = NULL;

	if (j == NULL)
		return err_set(e, 400, "InvalidPolicy", "not valid JSON: %s (line %d)", jerr.text,
			       jerr.line);
	bool obj = json_is_object(j);
	json_decref(j);
	if (!obj)
		return err_set(e, 400, "InvalidPolicy", "a policy must be a JSON object");
	if (policy_compile(doc, len, POLICY_IDENTITY, &p, e) != 0)
		return -1;
	policy_free(p);
	return 0;
}

/* Read at most USER_POLICY_MAX bytes of `path` into a NUL-terminated buffer. */
static char *
read_policy_file(const char *path, size_t *len_out, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char *b;
	size_t n;

	if (f == NULL) {
		err_set(e, 400, "InvalidParameterValue", "--policy %s: %s", path, strerror(errno));
		return NULL;
	}
	b = xmalloc(USER_POLICY_MAX + 2);
	n = fread(b, 1, USER_POLICY_MAX + 1, f);
	bool bad = ferror(f) != 0;
	fclose(f);
	if (bad || n > USER_POLICY_MAX || n == 0) {
		err_set(e, 400, "InvalidParameterValue",
			bad ? "--policy %s: read error"
			    : (n == 0 ? "--policy %s: the file is empty"
				      : "--policy %s: larger than 6144 bytes"),
			path);
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len_out = n;
	return b;
}

/* ---- helpers on the store ----------------------------------------------- */

static int
open_store(struct cli *x)
{
	x->s = store_open(x->c->db, x->c->data, &x->e);
	if (x->s == NULL)
		return fail("%s", x->e.message);
	return 0;
}

/* 0 if account `id` exists; else the printed error's exit status. */
static int
need_account(struct cli *x, const char *id, struct account *out)
{
	struct account tmp;
	int r;

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (out == NULL)
		out = &tmp;
	r = x->s->ops->account_get(x->s, id, out, &x->e);
	if (r < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("account %s does not exist", id);
	return 0;
}

static void
random_account_id(char out[13])
{
	unsigned char b[64];
	int n = 0;

	while (n < 12) {
		random_bytes(b, sizeof(b));
		for (size_t i = 0; i < sizeof(b) && n < 12; i++) {
			if (n == 0 && b[i] < 252)
				out[n++] = (char)('1' + b[i] % 9);
			else if (n > 0 && b[i] < 250)
				out[n++] = (char)('0' + b[i] % 10);
		}
	}
	out[12] = '\0';
}

static void
random_key_id(char out[21])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	memcpy(out, "AKIA", 4);
	for (int i = 0; i < 16; i++)
		out[4 + i] = b32[b[i] & 31];
	out[20] = '\0';
}

static void
random_secret(char out[41])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char b[40];

	random_bytes(b, sizeof(b));
	for (int i = 0; i < 40; i++)
		out[i] = b64[b[i] & 63];
	out[40] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
}

/* The ARN of IAM user `name` (malloc'd); core/arn formats it. Names are
 * capped at 64 on input, so it always fits. */
static char *
user_arn(const char *account, const char *name)
{
	char arn[ARN_MAX + 1];

	arn_user_format(account, "/", name, arn, sizeof(arn));
	return xstrdup(arn);
}

/* The principal of a key: root ARN, user ARN or service name (malloc'd),
 * exactly as credentials_lookup derives it for a caller. */
static char *
key_principal(const struct access_key *k)
{
	char principal[ARN_MAX + 1];

	credentials_principal(k->account_id, k->user, k->service, principal, sizeof(principal));
	return xstrdup(principal);
}

/* ---- account --------------------------------------------------------------- */

static json_t *
account_json(const struct account *a, bool with_enabled)
{
	json_t *o = json_object();
	json_object_set_new(o, "AccountId", jstr(a->id));
	json_object_set_new(o, "Name", jstr(a->name));
	json_object_set_new(o, "Max24HourSend", json_integer(a->max_24h));
	json_object_set_new(o, "MaxSendRate", jnum(a->max_rate));
	json_object_set_new(o, "Sandbox", json_boolean(a->sandbox));
	if (with_enabled)
		json_object_set_new(o, "SendingEnabled", json_boolean(a->sending_enabled));
	return o;
}

static int
account_create(struct cli *x)
{
	const char *name = opt(x, "name"), *m24 = opt(x, "max-24h"), *rate = opt(x, "max-rate");
	struct account a = {0};
	int r = -1;

	if (!cli_account_name_ok(name))
		return fail("invalid account name '%.64s': 1-64 characters of A-Z a-z 0-9 . _ -",
			    name);
	a.sandbox = opt(x, "sandbox") != NULL;
	a.sending_enabled = true;
	a.max_24h = a.sandbox ? 200 : 50000;
	a.max_rate = a.sandbox ? 1 : 14;
	if (m24 != NULL && cli_parse_max24h(m24, &a.max_24h) != 0)
		return fail("--max-24h: expected an integer >= -1, got '%.32s'", m24);
	if (rate != NULL && cli_parse_rate(rate, &a.max_rate) != 0)
		return fail("--max-rate: expected a number > 0, got '%.32s'", rate);
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.created = (int64_t)time(NULL);
	if (open_store(x) != 0)
		return 1;
	for (int i = 0; i < CREATE_TRIES; i++) {
		struct account old;
		random_account_id(a.id);
		r = x->s->ops->account_get(x->s, a.id, &old, &x->e);
		if (r < 0)
			return fail("%s", x->e.message);
		if (r == 1)
			continue;
		r = x->s->ops->account_create(x->s, &a, &x->e);
		break;
	}
	if (r != 0)
		return fail("%s", r < 0 ? x->e.message : "could not draw an unused account id");
	return emit(account_json(&a, false));
}

/* Print account `id` of the open store with its reputation. */
static int
account_emit_shown(struct cli *x, const char *id)
{
	struct account a;
	struct reputation rep;
	int r;

	if ((r = x->s->ops->account_get(x->s, id, &a, &x->e)) < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("account %s does not exist", id);
	if (store_reputation(x->s, &a, (int64_t)time(NULL), &rep, &x->e) != 0)
		return fail("%s", x->e.message);
	json_t *o = account_json(&a, false), *rj = json_object();
	json_object_set_new(o, "SendingEnabled",
			    json_boolean(a.sending_enabled && a.paused_reason[0] == '\0'));
	json_object_set_new(rj, "BounceRate", json_real(rep.bounce_rate));
	json_object_set_new(rj, "ComplaintRate", json_real(rep.complaint_rate));
	json_object_set_new(rj, "Volume", json_integer(rep.volume));
	json_object_set_new(rj, "Paused", json_boolean(a.paused_reason[0] != '\0'));
	json_object_set_new(rj, "PausedReason",
			    a.paused_reason[0] != '\0' ? jstr(a.paused_reason) : json_null());
	json_object_set_new(o, "Reputation", rj);
	return emit(o);
}

/* `account show`: the account, its own switch, and its reputation */
static int
account_show(struct cli *x)
{
	const char *id = opt(x, "account");

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (open_store(x) != 0)
		return 1;
	return account_emit_shown(x, id);
}

/* `account resume`: the operator lifts a reputation pause; the reputation
 * window starts again now */
static int
account_resume(struct cli *x)
{
	const char *id = opt(x, "account");
	int r;

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (open_store(x) != 0)
		return 1;
	if ((r = x->s->ops->account_set_pause(x->s, id, NULL, (int64_t)time(NULL), &x->e)) < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("account %s does not exist", id);
	return account_emit_shown(x, id);
}

static int
account_list_cb(void *arg, const struct account *a)
{
	json_array_append_new(arg, account_json(a, true));
	return 0;
}

static int
account_list(struct cli *x)
{
	json_t *arr;

	if (open_store(x) != 0)
		return 1;
	arr = json_array();
	if (x->s->ops->account_list(x->s, account_list_cb, arr, &x->e) != 0) {
		json_decref(arr);
		return fail("%s", x->e.message);
	}
	json_t *o = json_object();
	json_object_set_new(o, "Accounts", arr);
	return emit(o);
}

static int
account_delete(struct cli *x)
{
	const char *id = opt(x, "account");
	int r;

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (open_store(x) != 0)
		return 1;
	r = x->s->ops->account_delete(x->s, id, &x->e);
	if (r < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("account %s does not exist", id);
	json_t *o = json_object();
	json_object_set_new(o, "Deleted", jstr(id));
	return emit(o);
}

/* ---- user ------------------------------------------------------------------ */

static json_t *
user_json(const struct iam_user *u, bool with_created)
{
	json_t *o = json_object();
	char *arn = user_arn(u->account_id, u->name);
	json_object_set_new(o, "Arn", jstr(arn));
	json_object_set_new(o, "AccountId", jstr(u->account_id));
	json_object_set_new(o, "UserName", jstr(u->name));
	json_object_set_new(o, "HasPolicy", json_boolean(u->policy != NULL));
	if (with_created)
		json_object_set_new(o, "Created", jtime(u->created));
	free(arn);
	return o;
}

static int
user_create(struct cli *x)
{
	const char *account = opt(x, "account"), *name = opt(x, "name"), *file = opt(x, "policy");
	struct iam_user u = {0};
	int rc;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if (!cli_user_name_ok(name))
		return fail("invalid user name '%.64s': 1-64 characters of A-Z a-z 0-9 + = , . @ _ -",
			    name);
	if (file != NULL) {
		size_t len;
		if ((u.policy = read_policy_file(file, &len, &x->e)) == NULL)
			return fail("%s", x->e.message);
		if (validate_user_policy(u.policy, len, &x->e) != 0) {
			free(u.policy);
			return fail("--policy %s: %s", file, x->e.message);
		}
	}
	snprintf(u.account_id, sizeof(u.account_id), "%s", account);
	snprintf(u.name, sizeof(u.name), "%s", name);
	u.created = (int64_t)time(NULL);
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		goto out;
	if (x->s->ops->user_create(x->s, &u, &x->e) != 0) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	rc = emit(user_json(&u, false));
out:
	iam_user_clear(&u);
	return rc;
}

static int
user_list_cb(void *arg, const struct iam_user *u)
{
	json_array_append_new(arg, user_json(u, true));
	return 0;
}

static int
user_list(struct cli *x)
{
	const char *account = opt(x, "account");
	json_t *arr;
	int rc;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		return rc;
	arr = json_array();
	if (x->s->ops->user_list(x->s, account, user_list_cb, arr, &x->e) != 0) {
		json_decref(arr);
		return fail("%s", x->e.message);
	}
	json_t *o = json_object();
	json_object_set_new(o, "Users", arr);
	return emit(o);
}

static int
user_delete(struct cli *x)
{
	const char *account = opt(x, "account"), *name = opt(x, "name");
	int r;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if (!cli_user_name_ok(name))
		return fail("invalid user name '%.64s'", name);
	if ((r = open_store(x)) != 0)
		return r;
	r = x->s->ops->user_delete(x->s, account, name, &x->e);
	if (r < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("user '%s' does not exist in account %s", name, account);
	char *arn = user_arn(account, name);
	json_t *o = json_object();
	json_object_set_new(o, "Deleted", jstr(arn));
	free(arn);
	return emit(o);
}

/* ---- key ------------------------------------------------------------------- */

static int
key_create(struct cli *x)
{
	const char *account = opt(x, "account"), *user = opt(x, "user"), *svc = opt(x, "service");
	struct access_key k = {0};
	struct vault *v = NULL;
	char secret[41] = {0};
	char *principal = NULL;
	int rc, r = -1;

	if (user != NULL && svc != NULL)
		return usage_fail(x->cmd, "--user and --service exclude each other");
	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if (user != NULL && !cli_user_name_ok(user))
		return fail("invalid user name '%.64s'", user);
	if (svc != NULL && !cli_service_name_ok(svc))
		return fail("invalid service name '%.64s': a DNS-like name of a-z 0-9 . - with a dot",
			    svc);
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		goto out;
	if (user != NULL) {
		struct iam_user u = {0};
		r = x->s->ops->user_get(x->s, account, user, &u, &x->e);
		iam_user_clear(&u);
		if (r <= 0) {
			rc = r < 0 ? fail("%s", x->e.message)
				   : fail("user '%s' does not exist in account %s", user, account);
			goto out;
		}
	}
	if ((v = vault_open(x->c->data, x->c->master_key, &x->e)) == NULL) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	snprintf(k.account_id, sizeof(k.account_id), "%s", account);
	snprintf(k.user, sizeof(k.user), "%s", user != NULL ? user : "");
	snprintf(k.service, sizeof(k.service), "%s", svc != NULL ? svc : "");
	k.created = (int64_t)time(NULL);
	random_secret(secret);
	if (vault_seal(v, secret, strlen(secret), &k.sealed, &k.sealed_len, &x->e) != 0) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	r = -1;
	for (int i = 0; i < CREATE_TRIES; i++) {
		struct access_key old = {0};
		random_key_id(k.id);
		r = x->s->ops->key_get(x->s, k.id, &old, &x->e);
		access_key_clear(&old);
		if (r < 0)
			break;
		if (r == 1)
			continue;
		r = x->s->ops->key_create(x->s, &k, &x->e);
		break;
	}
	if (r != 0) {
		rc = fail("%s", r < 0 ? x->e.message : "could not draw an unused access key id");
		goto out;
	}
	principal = key_principal(&k);
	json_t *o = json_object(), *pw = json_object();
	json_object_set_new(o, "AccessKeyId", jstr(k.id));
	json_object_set_new(o, "SecretAccessKey", jstr(secret));
	json_object_set_new(o, "AccountId", jstr(k.account_id));
	json_object_set_new(o, "Principal", jstr(principal));
	json_object_set_new(o, "SmtpUsername", jstr(k.id));
	for (int i = 0; i < x->c->nregions; i++) {
		char p[SMTP_PASSWORD_LEN];
		smtp_password_v4(secret, x->c->region[i], p);
		json_object_set_new(pw, x->c->region[i], jstr(p));
		OPENSSL_cleanse(p, sizeof(p));
	}
	json_object_set_new(o, "SmtpPasswords", pw);
	rc = emit(o);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	free(principal);
	access_key_clear(&k);
	vault_free(v);
	return rc;
}

static int
key_list_cb(void *arg, const struct access_key *k)
{
	json_t *o = json_object();
	char *principal = key_principal(k);
	json_object_set_new(o, "AccessKeyId", jstr(k->id));
	json_object_set_new(o, "AccountId", jstr(k->account_id));
	json_object_set_new(o, "Principal", jstr(principal));
	json_object_set_new(o, "Created", jtime(k->created));
	free(principal);
	json_array_append_new(arg, o);
	return 0;
}

static int
key_list(struct cli *x)
{
	const char *account = opt(x, "account");
	json_t *arr;
	int rc;

	if (account != NULL && !account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if ((rc = open_store(x)) != 0)
		return rc;
	if (account != NULL && (rc = need_account(x, account, NULL)) != 0)
		return rc;
	arr = json_array();
	if (x->s->ops->key_list(x->s, account, key_list_cb, arr, &x->e) != 0) {
		json_decref(arr);
		return fail("%s", x->e.message);
	}
	json_t *o = json_object();
	json_object_set_new(o, "AccessKeys", arr);
	return emit(o);
}

static int
key_delete(struct cli *x)
{
	const char *id = opt(x, "key");
	int r;

	if (strlen(id) != 20 || strncmp(id, "AKIA", 4) != 0)
		return fail("invalid access key id '%.32s'", id);
	if ((r = open_store(x)) != 0)
		return r;
	r = x->s->ops->key_delete(x->s, id, &x->e);
	if (r < 0)
		return fail("%s", x->e.message);
	if (r == 0)
		return fail("access key %s does not exist", id);
	json_t *o = json_object();
	json_object_set_new(o, "Deleted", jstr(id));
	return emit(o);
}

/* ---- identity -------------------------------------------------------------- */

static int
check_region(struct cli *x, const char *region)
{
	if (!conf_serves_region(x->c, region))
		return fail("region '%.32s' is not served (--regions %s)", region, x->c->regions);
	return 0;
}

/*
 * The arguments of a command on one identity: --account, --region and the
 * IDENTITY operand, checked; the store opened and the account found.
 * 0 with *name_out (malloc'd, normal form), or the exit status (then
 * *name_out may still need freeing).
 */
static int
identity_args(struct cli *x, const char *account, const char *region, char **name_out,
	      enum identity_type *type_out)
{
	int rc;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if ((rc = check_region(x, region)) != 0)
		return rc;
	if ((*name_out = cli_identity_normalise(x->a->pos[0], type_out)) == NULL)
		return fail("invalid identity '%.64s': 1-320 printable characters, no spaces",
			    x->a->pos[0]);
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		return rc;
	return 0;
}

static int
identity_verify(struct cli *x)
{
	const char *account = opt(x, "account"), *region = opt(x, "region");
	struct identity id = {0};
	enum identity_type type;
	char *name = NULL;
	int rc, r;

	if ((rc = identity_args(x, account, region, &name, &type)) != 0)
		goto out;
	r = x->s->ops->identity_get(x->s, region, account, name, &id, &x->e);
	if (r < 0) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	if (r == 0) {
		snprintf(id.region, sizeof(id.region), "%s", region);
		snprintf(id.account_id, sizeof(id.account_id), "%s", account);
		id.name = xstrdup(name);
		id.type = type;
		id.created = (int64_t)time(NULL);
		id.dkim_enabled = true;
		snprintf(id.dkim_status, sizeof(id.dkim_status), "%s", STATUS_NOT_STARTED);
		snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "UseDefaultValue");
		id.forwarding_enabled = true;
	}
	snprintf(id.status, sizeof(id.status), "%s", STATUS_SUCCESS);
	if (x->s->ops->identity_put(x->s, &id, &x->e) != 0) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "Identity", jstr(id.name));
	json_object_set_new(o, "Region", jstr(region));
	json_object_set_new(o, "AccountId", jstr(account));
	json_object_set_new(o, "VerificationStatus", jstr(id.status));
	rc = emit(o);
out:
	identity_clear(&id);
	free(name);
	return rc;
}

struct id_page {
	json_t *arr;
	char *last;
	int n;
};

static int
identity_list_cb(void *arg, const struct identity *id)
{
	struct id_page *p = arg;
	json_t *o = json_object();

	json_object_set_new(o, "Identity", jstr(id->name));
	json_object_set_new(o, "Type", jstr(id->type == IDENTITY_EMAIL ? "EmailAddress" : "Domain"));
	json_object_set_new(o, "VerificationStatus", jstr(id->status));
	json_array_append_new(p->arr, o);
	free(p->last);
	p->last = xstrdup(id->name);
	p->n++;
	return 0;
}

static int
identity_list(struct cli *x)
{
	const char *account = opt(x, "account"), *region = opt(x, "region");
	struct id_page p = {0};
	int rc;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if ((rc = check_region(x, region)) != 0)
		return rc;
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		return rc;
	p.arr = json_array();
	do {
		p.n = 0;
		if (x->s->ops->identity_list(x->s, region, account, -1, p.last, 500,
					     identity_list_cb, &p, &x->e) != 0) {
			json_decref(p.arr);
			free(p.last);
			return fail("%s", x->e.message);
		}
	} while (p.n == 500);
	free(p.last);
	json_t *o = json_object();
	json_object_set_new(o, "Identities", p.arr);
	return emit(o);
}

/*
 * `identity show`: one identity as the store holds it, with what the API
 * does not show: the DNS re-check schedule and its policies' names.
 */
static int
identity_show(struct cli *x)
{
	const char *account = opt(x, "account"), *region = opt(x, "region");
	struct identity_policy pol[MAX_POLICIES_SHOWN];
	struct identity id = {0};
	enum identity_type type;
	char *name = NULL;
	int rc, r = 0, n = 0;

	if ((rc = identity_args(x, account, region, &name, &type)) != 0)
		goto out;
	if ((r = x->s->ops->identity_get(x->s, region, account, name, &id, &x->e)) <= 0 ||
	    (n = x->s->ops->policy_list(x->s, region, account, name, pol, MAX_POLICIES_SHOWN,
					&x->e)) < 0) {
		rc = r == 0 ? fail("identity '%s' does not exist in account %s, region %s", name,
				   account, region)
			    : fail("%s", x->e.message);
		goto out;
	}
	json_t *o = json_object(), *names = json_array();
	json_object_set_new(o, "Identity", jstr(id.name));
	json_object_set_new(o, "Type", jstr(id.type == IDENTITY_EMAIL ? "EmailAddress" : "Domain"));
	json_object_set_new(o, "VerificationStatus", jstr(id.status));
	json_object_set_new(o, "DkimEnabled", json_boolean(id.dkim_enabled));
	json_object_set_new(o, "DkimVerificationStatus", jstr(id.dkim_status));
	json_object_set_new(o, "DkimEd25519Status", jstr(id.dkim_ed25519_status));
	json_object_set_new(o, "DkimSigningAttributesOrigin",
			    jstr(id.dkim_external ? "EXTERNAL" : "AWS_SES"));
	json_object_set_new(o, "MailFromDomain", jstr(id.mail_from_domain));
	json_object_set_new(o, "NextCheck", json_integer(id.next_check));
	json_object_set_new(o, "CheckAttempts", json_integer(id.check_attempts));
	for (int i = 0; i < n; i++) {
		json_array_append_new(names, jstr(pol[i].name));
		identity_policy_clear(&pol[i]);
	}
	json_object_set_new(o, "Policies", names);
	json_object_set_new(o, "Created", jtime(id.created));
	rc = emit(o);
out:
	identity_clear(&id);
	free(name);
	return rc;
}

/* ---- message ---------------------------------------------------------------- */

/* One event as `message show` prints it: Type, Recipient, Timestamp (unix
 * ms) and the SES detail object. */
static int
keep_event(void *arg, const struct store_event *ev)
{
	json_t *d = ev->detail != NULL ? json_loads(ev->detail, 0, NULL) : NULL;

	json_array_append_new(arg, json_pack("{s:s?, s:s?, s:I, s:o}", "Type", ev->type,
					     "Recipient", ev->recipient, "Timestamp",
					     (json_int_t)ev->ts_ms, "Detail",
					     json_is_object(d) ? d : json_object()));
	if (d != NULL && !json_is_object(d))
		json_decref(d);
	return 0;
}

/* `message show`: one message's state and events (any transport, queued too). */
static int
message_show(struct cli *x)
{
	const char *id = opt(x, "id");
	struct store_message m = {0};
	int rc, r;

	if (strlen(id) >= sizeof(m.id))
		return fail("invalid message id '%.32s...'", id);
	if ((rc = open_store(x)) != 0)
		return rc;
	if ((r = x->s->ops->message_get(x->s, id, &m, &x->e)) <= 0)
		return r == 0 ? fail("message '%s' does not exist", id) : fail("%s", x->e.message);
	json_t *o = json_object(), *dest = json_array();
	json_object_set_new(o, "MessageId", jstr(m.id));
	json_object_set_new(o, "Region", jstr(m.region));
	json_object_set_new(o, "SendingAccountId", jstr(m.sending_account));
	json_object_set_new(o, "Status", jstr(m.status));
	json_object_set_new(o, "Transport", jstr(m.transport));
	json_object_set_new(o, "MailFrom", jstr(m.mail_from != NULL ? m.mail_from : m.source));
	for (size_t i = 0; i < m.ndestinations; i++)
		json_array_append_new(dest, jstr(m.destinations[i]));
	json_object_set_new(o, "Destination", dest);
	json_t *events = json_array();
	if (x->s->ops->event_list(x->s, m.id, keep_event, events, &x->e) != 0) {
		json_decref(events);
		json_decref(o);
		store_message_clear(&m);
		return fail("%s", x->e.message);
	}
	json_object_set_new(o, "Events", events);
	store_message_clear(&m);
	return emit(o);
}

/*
 * `identity dkim-records`: the three TXT records a domain owner publishes
 * for Easy DKIM, with the public keys derived from the sealed private keys,
 * and a fourth for the Ed25519 key (RFC 8463, selector <token1>ed) when the
 * set has one.
 */
static int
identity_dkim_records(struct cli *x)
{
	const char *account = opt(x, "account"), *region = opt(x, "region");
	char domain[ADDRESS_DOMAIN_MAX + 1];
	char *pub[DKIM_KEYS_N] = {0}, *ed = NULL;
	struct identity id = {0};
	struct vault *v = NULL;
	json_t *arr;
	int rc, r;

	if (!account_id_ok(account))
		return fail("invalid account id '%.32s' (12 digits expected)", account);
	if ((rc = check_region(x, region)) != 0)
		return rc;
	if (domain_validate(x->a->pos[0], domain, sizeof(domain), &x->e) != 0)
		return fail("invalid domain '%.64s': %s", x->a->pos[0], x->e.message);
	if ((rc = open_store(x)) != 0 || (rc = need_account(x, account, NULL)) != 0)
		return rc;
	r = x->s->ops->identity_get(x->s, region, account, domain, &id, &x->e);
	if (r < 0)
		return fail("%s", x->e.message);
	if (r == 0 || id.dkim_tokens[0] == NULL || id.dkim_keys_sealed == NULL) {
		identity_clear(&id);
		return fail("domain %s has no Easy DKIM keys in %s for account %s "
			    "(call VerifyDomainDkim first)",
			    domain, region, account);
	}
	if ((v = vault_open(x->c->data, x->c->master_key, &x->e)) == NULL ||
	    dkim_keys_public(v, id.dkim_keys_sealed, id.dkim_keys_sealed_len, pub, &ed, &x->e) !=
		0) {
		rc = fail("%s", x->e.message);
		goto out;
	}
	arr = json_array();
	/* a BYODKIM domain has one record: the owner's selector and key */
	for (int i = 0; i < DKIM_KEYS_N && id.dkim_tokens[i] != NULL && pub[i] != NULL; i++) {
		json_t *o = json_object();
		char *name = xasprintf("%s._domainkey.%s", id.dkim_tokens[i], domain);
		char *value = dkim_keys_record(pub[i]);
		json_object_set_new(o, "Name", jstr(name));
		json_object_set_new(o, "Type", jstr("TXT"));
		json_object_set_new(o, "Value", jstr(value));
		json_array_append_new(arr, o);
		free(name);
		free(value);
	}
	if (ed != NULL) {
		char sel[DKIM_ED25519_SELECTOR_LEN + 1];
		json_t *o = json_object();
		dkim_keys_ed25519_selector(id.dkim_tokens[0], sel, sizeof(sel));
		char *name = xasprintf("%s._domainkey.%s", sel, domain);
		char *value = dkim_keys_record_ed25519(ed);
		json_object_set_new(o, "Name", jstr(name));
		json_object_set_new(o, "Type", jstr("TXT"));
		json_object_set_new(o, "Value", jstr(value));
		json_array_append_new(arr, o);
		free(name);
		free(value);
	}
	json_t *o = json_object();
	json_object_set_new(o, "Records", arr);
	rc = emit(o);
out:
	for (int i = 0; i < DKIM_KEYS_N; i++)
		free(pub[i]);
	free(ed);
	vault_free(v);
	identity_clear(&id);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

#define F(n, meta) {n, meta, false} /* optional, with a value */
#define R(n, meta) {n, meta, true}  /* required */
#define B(n) {n, NULL, false}       /* optional, boolean */

/* ---- the account suppression list --------------------------------------- */

static json_t *
suppressed_json(const struct suppressed *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "EmailAddress", jstr(p->address));
	json_object_set_new(o, "Reason", jstr(p->reason));
	json_object_set_new(o, "LastUpdateTime", jtime(p->ts));
	json_object_set_new(o, "MessageId", jstr(p->message_id));
	json_object_set_new(o, "FeedbackId", jstr(p->feedback_id));
	return o;
}

/* The --address of a suppression command: an addr-spec, as SES takes it. */
static int
suppression_address(struct cli *x, const char **out)
{
	const char *a = opt(x, "address");
	struct address ad;
	struct err e;

	if (a == NULL)
		return fail("missing --address");
	if (address_parse_spec(a, strlen(a), &ad, &e) != 0)
		return fail("invalid --address '%.320s': %s", a, e.message);
	*out = a;
	return 0;
}

static int
suppression_list_cb(void *arg, const struct suppressed *p)
{
	json_array_append_new(arg, suppressed_json(p));
	return 0;
}

/* `suppression list`: the account's suppressed destinations, by address */
static int
suppression_list(struct cli *x)
{
	const char *id = opt(x, "account");
	json_t *arr, *o;

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (open_store(x) != 0 || need_account(x, id, NULL) != 0)
		return 1;
	arr = json_array();
	if (x->s->ops->suppression_list(x->s, id, NULL, 0, suppression_list_cb, arr, &x->e) != 0) {
		json_decref(arr);
		return fail("%s", x->e.message);
	}
	o = json_object();
	json_object_set_new(o, "SuppressedDestinations", arr);
	return emit(o);
}

/* `suppression add`: the operator suppresses an address by hand */
static int
suppression_add(struct cli *x)
{
	const char *id = opt(x, "account"), *reason = opt(x, "reason"), *addr = NULL;
	struct suppressed p = {0};

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (suppression_address(x, &addr) != 0)
		return 1;
	if (reason == NULL)
		reason = STORE_SUPPRESS_BOUNCE;
	if (strcmp(reason, STORE_SUPPRESS_BOUNCE) != 0 && strcmp(reason, STORE_SUPPRESS_COMPLAINT) != 0)
		return fail("invalid --reason '%.32s' (BOUNCE or COMPLAINT)", reason);
	if (open_store(x) != 0 || need_account(x, id, NULL) != 0)
		return 1;
	snprintf(p.account_id, sizeof(p.account_id), "%s", id);
	snprintf(p.address, sizeof(p.address), "%s", addr);
	snprintf(p.reason, sizeof(p.reason), "%s", reason);
	p.ts = (int64_t)time(NULL);
	if (x->s->ops->suppression_put(x->s, &p, &x->e) != 0)
		return fail("%s", x->e.message);
	if (x->s->ops->suppression_get(x->s, id, addr, &p, &x->e) != 1)
		return fail("the suppressed address could not be read back: %s", x->e.message);
	return emit(suppressed_json(&p));
}

/* `suppression remove`: {"Removed": true|false} */
static int
suppression_remove(struct cli *x)
{
	const char *id = opt(x, "account"), *addr = NULL;
	json_t *o;
	int r;

	if (!account_id_ok(id))
		return fail("invalid account id '%.32s' (12 digits expected)", id);
	if (suppression_address(x, &addr) != 0)
		return 1;
	if (open_store(x) != 0 || need_account(x, id, NULL) != 0)
		return 1;
	if ((r = x->s->ops->suppression_delete(x->s, id, addr, &x->e)) < 0)
		return fail("%s", x->e.message);
	o = json_object();
	json_object_set_new(o, "Removed", json_boolean(r == 1));
	return emit(o);
}

static const struct cmd cmds[] = {
	{"account", "create", {R("name", "NAME"), F("max-24h", "N"), F("max-rate", "N"), B("sandbox")},
	 0, "", "create an account (50000 a day, 14 a second; --sandbox: 200 and 1)", account_create},
	{"account", "list", {{0}}, 0, "", "every account", account_list},
	{"account", "delete", {R("account", "ID")}, 0, "", "delete an account and all it holds",
	 account_delete},
	{"account", "show", {R("account", "ID")}, 0, "", "an account with its reputation",
	 account_show},
	{"account", "resume", {R("account", "ID")}, 0, "", "lift an account's reputation pause",
	 account_resume},
	{"user", "create", {R("account", "ID"), R("name", "NAME"), F("policy", "FILE")}, 0, "",
	 "create an IAM user (--policy: its own IAM policy)", user_create},
	{"user", "list", {R("account", "ID")}, 0, "", "an account's IAM users", user_list},
	{"user", "delete", {R("account", "ID"), R("name", "NAME")}, 0, "", "delete an IAM user",
	 user_delete},
	{"key", "create", {R("account", "ID"), F("user", "NAME"), F("service", "NAME")}, 0, "",
	 "create an access key (root, --user or --service) and its SMTP passwords", key_create},
	{"key", "list", {F("account", "ID")}, 0, "", "access keys, never their secrets", key_list},
	{"key", "delete", {R("key", "AKID")}, 0, "", "delete an access key", key_delete},
	{"identity", "verify", {R("account", "ID"), R("region", "REGION")}, 1, "IDENTITY",
	 "mark an identity verified without mail or DNS", identity_verify},
	{"identity", "list", {R("account", "ID"), R("region", "REGION")}, 0, "",
	 "an account's identities in a region", identity_list},
	{"identity", "show", {R("account", "ID"), R("region", "REGION")}, 1, "IDENTITY",
	 "one identity as stored, with its DNS re-check schedule", identity_show},
	{"identity", "dkim-records", {R("account", "ID"), R("region", "REGION")}, 1, "DOMAIN",
	 "the Easy-DKIM records to publish for a domain", identity_dkim_records},
	{"message", "show", {R("id", "MESSAGEID")}, 0, "", "one message's queue state", message_show},
	{"suppression", "list", {R("account", "ID")}, 0, "", "an account's suppression list",
	 suppression_list},
	{"suppression", "add", {R("account", "ID"), R("address", "A"), F("reason", "BOUNCE|COMPLAINT")},
	 0, "", "suppress an address", suppression_add},
	{"suppression", "remove", {R("account", "ID"), R("address", "A")}, 0, "",
	 "remove an address from the list", suppression_remove},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/*
 * The commands that are not a noun and a verb: listed, explained and
 * suggested here with the rows above, so `sesame help` is one table's
 * output; main.c runs serve and version (the daemon, the linked
 * libraries), cli_policy.c runs policy.
 */
static const struct top {
	const char *name, *args, *about;
} tops[] = {
    {"serve", "[OPTIONS]", "run the SES API and SMTP servers"},
    {"policy", "check|simulate", "validate and evaluate sending authorization policies"},
    {"help", "[COMMAND [VERB]]", "this list, or one command's synopsis"},
    {"version", "", "sesame's version and its libraries'"},
};
#define NTOPS (sizeof(tops) / sizeof(tops[0]))

static void
verbs_of(const char *noun, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0 && o < cap)
			o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "|" : "", cmds[i].verb);
}

static bool
is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* --help or -h among the arguments, before a "--" */
static bool
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help(argv[i]))
			return true;
	return false;
}

static const struct top *
top_find(const char *name)
{
	for (size_t i = 0; i < NTOPS; i++)
		if (strcmp(tops[i].name, name) == 0)
			return &tops[i];
	return NULL;
}

static bool
noun_known(const char *noun)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0)
			return true;
	return false;
}

static const struct cmd *
cmd_find(const char *noun, const char *verb)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0 && strcmp(cmds[i].verb, verb) == 0)
			return &cmds[i];
	return NULL;
}

static int
unknown_command(const char *name)
{
	struct suggest sg;
	char hint[128];

	suggest_init(&sg, name, strlen(name));
	for (size_t i = 0; i < NTOPS; i++)
		suggest_offer(&sg, tops[i].name);
	for (size_t i = 0; i < NCMDS; i++)
		suggest_offer(&sg, cmds[i].noun);
	suggest_hint(&sg, "", hint, sizeof(hint));
	return usage_fail(NULL, "unknown command '%.64s'%s", name,
			  hint[0] ? hint : " (see sesame --help)");
}

static int
unknown_verb(const char *noun, const char *verb)
{
	struct suggest sg;
	char hint[128], verbs[128];

	suggest_init(&sg, verb, strlen(verb));
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0)
			suggest_offer(&sg, cmds[i].verb);
	suggest_hint(&sg, "", hint, sizeof(hint));
	verbs_of(noun, verbs, sizeof(verbs));
	return usage_fail(NULL, "%s: unknown verb '%.64s'%s (%s)", noun, verb, hint, verbs);
}

static void
cmd_help(FILE *f, const struct cmd *cmd)
{
	char syn[256];

	synopsis(cmd, syn, sizeof(syn));
	fprintf(f, "usage: sesame %s\n  %s\n", syn, cmd->about);
}

/* Every verb of `noun`, then the options every command takes. */
static void
noun_help(FILE *f, const char *noun)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0)
			cmd_help(f, &cmds[i]);
	fputs("global options: --data DIR, --db URL, --config FILE, --master-key FILE "
	      "(sesame serve --help)\n",
	      f);
}

void
cli_usage(FILE *f)
{
	char line[256];

	fputs("usage: sesame [--data DIR] [--db URL] [--config FILE] COMMAND ...\n"
	      "commands:\n",
	      f);
	/* serve first, the admin commands, then policy, help and version */
	for (size_t i = 0; i < NTOPS + NCMDS; i++) {
		const char *about;
		if (i == 0 || i > NCMDS) {
			const struct top *t = &tops[i == 0 ? 0 : i - NCMDS];
			snprintf(line, sizeof(line), "%s%s%s", t->name, t->args[0] ? " " : "",
				 t->args);
			about = t->about;
		} else {
			snprintf(line, sizeof(line), "%s %s", cmds[i - 1].noun, cmds[i - 1].verb);
			about = cmds[i - 1].about;
		}
		fprintf(f, "  %-22s %s\n", line, about);
	}
	fputs("sesame help COMMAND [VERB], or sesame COMMAND [VERB] --help, shows its flags\n", f);
}

/* `sesame help [COMMAND [VERB]]`: on stdout, exit 0; an unknown name is a
 * usage error. */
static int
help_main(int argc, char **argv)
{
	const struct top *t;
	const struct cmd *cmd;

	if (argc == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "serve") == 0) {
		conf_usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "policy") == 0) {
		cli_policy_usage(stdout);
		return 0;
	}
	if ((t = top_find(argv[0])) != NULL) {
		printf("usage: sesame %s%s%s\n  %s\n", t->name, t->args[0] ? " " : "", t->args,
		       t->about);
		return 0;
	}
	if (!noun_known(argv[0]))
		return unknown_command(argv[0]);
	if (argc == 1) {
		noun_help(stdout, argv[0]);
		return 0;
	}
	if ((cmd = cmd_find(argv[0], argv[1])) == NULL)
		return unknown_verb(argv[0], argv[1]);
	if (argc > 2)
		return usage_fail(NULL, "help: unexpected argument '%.64s'", argv[2]);
	cmd_help(stdout, cmd);
	return 0;
}

int
cli_main(const struct conf *c, int argc, char **argv)
{
	const struct cmd *cmd;
	struct args a;
	struct cli x = {0};
	char verbs[128];
	int rc;

	if (argc < 1)
		return usage_fail(NULL, "missing command");
	if (strcmp(argv[0], "help") == 0 || is_help(argv[0]))
		return help_main(argc - 1, argv + 1);
	if (strcmp(argv[0], "policy") == 0) {
		if (wants_help(argc - 1, argv + 1)) {
			cli_policy_usage(stdout);
			return 0;
		}
		return cli_policy_main(c, argc, argv);
	}
	if (top_find(argv[0]) != NULL) {
		/* serve and version run in main.c; here for --help or a stray argument */
		if (wants_help(argc - 1, argv + 1))
			return help_main(1, argv);
		return usage_fail(NULL, "%s: unexpected argument '%.64s'", argv[0],
				  argc > 1 ? argv[1] : "");
	}
	if (!noun_known(argv[0]))
		return unknown_command(argv[0]);
	if (argc < 2 || is_help(argv[1])) {
		if (argc >= 2) {
			noun_help(stdout, argv[0]);
			return 0;
		}
		verbs_of(argv[0], verbs, sizeof(verbs));
		return usage_fail(NULL, "%s: missing verb (%s)", argv[0], verbs);
	}
	if ((cmd = cmd_find(argv[0], argv[1])) == NULL)
		return unknown_verb(argv[0], argv[1]);
	if (wants_help(argc - 2, argv + 2)) {
		cmd_help(stdout, cmd);
		return 0;
	}
	if ((rc = cli_parse(cmd, argc - 2, argv + 2, &a)) != 0)
		return rc;
	x.c = c;
	x.cmd = cmd;
	x.a = &a;
	rc = cmd->run(&x);
	store_close(x.s);
	return rc;
}
