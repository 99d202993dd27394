/*
 * test_authz.c — core/authz from a table of sends against an in-memory
 * table of identities (region, account, name, verified, policies) served
 * through the lookup callback.
 *
 * Policy documents are written with ' for " (swapped before compiling).
 * Expected grants are "owner identity o|d sid policy-identity" with "-" for
 * an empty sid or no policy identity; the ARNs are derived from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/authz.h"
#include "core/policy.h"
#include "util/err.h"
#include "util/xalloc.h"

/* TESTABLE internals */
int authz_format_time(int64_t now, char *out, size_t cap);

#define ACCT_D "111122223333" /* the delegate */
#define ACCT_O "888888888888" /* the identity owner */
#define ACCT_X "444455556666" /* a stranger */
#define ROOT_D_ARN "arn:aws:iam::111122223333:root"
#define ROOT_X_ARN "arn:aws:iam::444455556666:root"
#define ROOT_O_ARN "arn:aws:iam::888888888888:root"
#define JANE_ARN "arn:aws:iam::111122223333:user/Jane"
#define JOHN_ARN "arn:aws:iam::111122223333:user/John"
#define BOB_ARN "arn:aws:iam::111122223333:user/Bob"
#define CAROL_ARN "arn:aws:iam::111122223333:user/Carol"
#define DAVE_ARN "arn:aws:iam::111122223333:user/Dave"
#define OLGA_ARN "arn:aws:iam::888888888888:user/Olga"
#define SVC "notifications.example.internal"
#define SVC2 "other.example.internal"

#define ARN_O(id) "arn:aws:ses:us-east-1:888888888888:identity/" id
#define ARN_OW(id) "arn:aws:ses:us-west-2:888888888888:identity/" id
#define ARN_D(id) "arn:aws:ses:us-east-1:111122223333:identity/" id

#define T0 1772366400 /* 2026-03-01T12:00:00Z */

#define NV(list)                                                                          \
	"Email address is not verified. The following identities failed the check in " \
	"region US-EAST-1: " list
#define DENY(who, act, res)                                                            \
	"User `" who "' is not authorized to perform `ses:" act "' on resource `" res "'"

/* ---- policies ------------------------------------------------------------ */

#define ALLOW_D(sid, id) \
	"{'Sid':'" sid "','Effect':'Allow','Principal':{'AWS':'111122223333'}," \
	"'Action':['ses:SendEmail','ses:SendRawEmail'],'Resource':'" ARN_O(id) "'"
#define DOC(stmts) "{'Version':'2012-10-17','Statement':[" stmts "]}"

static const char *const P_EXAMPLE = DOC(
    ALLOW_D("AllowD", "example.com") "},"
    "{'Sid':'AllowSvc','Effect':'Allow','Principal':{'Service':'" SVC "'},"
    "'Action':'ses:Send*','Resource':'" ARN_O("example.com") "',"
    "'Condition':{'StringEquals':{'aws:SourceAccount':'111122223333'}}},"
    "{'Sid':'DenyBlocked','Effect':'Deny','Principal':{'AWS':'*'},'Action':'ses:*',"
    "'Resource':'" ARN_O("example.com") "',"
    "'Condition':{'StringEquals':{'ses:FromAddress':'blocked@example.com'}}}");
static const char *const P_EXAMPLE_WEST = DOC(
    "{'Sid':'AllowWest','Effect':'Allow','Principal':{'AWS':'111122223333'},"
    "'Action':'ses:SendRawEmail','Resource':'" ARN_OW("example.com") "'}");
static const char *const P_ROOT = DOC(
    "{'Sid':'AllowRoot','Effect':'Allow','Principal':{'AWS':'" ROOT_D_ARN "'},"
    "'Action':'ses:SendRawEmail','Resource':'" ARN_O("root.example") "'}");
static const char *const P_USERS = DOC(
    "{'Sid':'AllowJane','Effect':'Allow','Principal':{'AWS':['" JANE_ARN "']},"
    "'Action':['ses:SendEmail','ses:SendRawEmail'],'Resource':'" ARN_O("users.example") "'}");
static const char *const P_PENDING = DOC(ALLOW_D("AllowD", "pending.example") "}");
static const char *const P_PREC = DOC(
    "{'Sid':'DenyDomain','Effect':'Deny','Principal':{'AWS':'111122223333'},'Action':'ses:*',"
    "'Resource':'" ARN_O("prec.example") "'}");
static const char *const P_VIP = DOC(ALLOW_D("AllowVip", "vip@prec.example") "}");
static const char *const P_PREC_PENDING = DOC(ALLOW_D("AllowPending", "pending@prec.example") "}");
static const char *const P_PREC2 = DOC(ALLOW_D("AllowDomain2", "prec2.example") "}");
static const char *const P_NOPE = DOC(
    "{'Sid':'DenyNope','Effect':'Deny','Principal':{'AWS':'111122223333'},'Action':'ses:*',"
    "'Resource':'" ARN_O("nope@prec2.example") "'}");
static const char *const P_FROM = DOC(
    ALLOW_D("AllowNews", "from.example") ","
    "'Condition':{'StringLike':{'ses:FromAddress':'news*@from.example'}}}");
static const char *const P_RCPT = DOC(
    ALLOW_D("AllowRcpt", "rcpt.example") ","
    "'Condition':{'ForAllValues:StringLike':{'ses:Recipients':"
    "['*@partner.example','*@rcpt.example']}}}");
static const char *const P_FB = DOC(
    ALLOW_D("AllowFb", "fb.example") ","
    "'Condition':{'StringEquals':{'ses:FeedbackAddress':'bounces@fb.example'}}}");
static const char *const P_TLS = DOC(
    ALLOW_D("AllowTls", "tls.example") "},"
    "{'Sid':'DenyPlain','Effect':'Deny','Principal':'*','Action':'ses:*',"
    "'Resource':'" ARN_O("tls.example") "',"
    "'Condition':{'Bool':{'aws:SecureTransport':'false'}}}");
static const char *const P_IP = DOC(
    ALLOW_D("AllowNet", "ip.example") ","
    "'Condition':{'IpAddress':{'aws:SourceIp':['192.0.2.0/24','2001:db8::/32']}}}");
static const char *const P_TIME = DOC(
    ALLOW_D("AllowUntil", "time.example") ","
    "'Condition':{'DateLessThan':{'aws:CurrentTime':'2026-06-01T00:00:00Z'}}}");
static const char *const P_EPOCH = DOC(
    ALLOW_D("AllowAfter", "epoch.example") ","
    "'Condition':{'NumericGreaterThanEquals':{'aws:EpochTime':'1772366400'}}}");
static const char *const P_NAME = DOC(
    ALLOW_D("AllowBilling", "name.example") ","
    "'Condition':{'StringEquals':{'ses:FromDisplayName':'Billing'}}}");
static const char *const P_VER = DOC(
    ALLOW_D("AllowV1", "ver.example") ","
    "'Condition':{'StringEquals':{'ses:ApiVersion':'1'}}}");
static const char *const P_PA = DOC(
    "{'Sid':'AllowAcct','Effect':'Allow','Principal':'*','Action':'ses:Send*',"
    "'Resource':'" ARN_O("pa.example") "',"
    "'Condition':{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}}");
static const char *const P_PARN = DOC(
    "{'Sid':'AllowArn','Effect':'Allow','Principal':{'AWS':'111122223333'},'Action':'ses:Send*',"
    "'Resource':'" ARN_O("parn.example") "',"
    "'Condition':{'StringEquals':{'aws:PrincipalArn':'" JANE_ARN "','aws:username':'Jane'}}}");
static const char *const P_RAW = DOC(
    "{'Sid':'RawOnly','Effect':'Allow','Principal':{'AWS':'111122223333'},"
    "'Action':'ses:SendRawEmail','Resource':'" ARN_O("raw.example") "'}");
static const char *const P_DPOL = DOC(
    "{'Sid':'DenyAll','Effect':'Deny','Principal':'*','Action':'ses:*',"
    "'Resource':'" ARN_D("dpol.example") "'}");
/* the delegate account's identity policies about its own principals */
static const char *const P_OWN = DOC(
    "{'Sid':'DenyBob','Effect':'Deny','Principal':{'AWS':'" BOB_ARN "'},'Action':'ses:*',"
    "'Resource':'" ARN_D("own.example") "'},"
    "{'Sid':'AllowUsers','Effect':'Allow','Principal':{'AWS':['" JOHN_ARN "','" DAVE_ARN "']},"
    "'Action':'ses:Send*','Resource':'" ARN_D("own.example") "'}");
static const char *const P_NOTBOB = DOC(
    "{'Sid':'DenyJane','Effect':'Deny','Principal':{'AWS':'" JANE_ARN "'},'Action':'ses:*',"
    "'Resource':'" ARN_D("notbob.example") "'}");
static const char *const P_P3 = DOC(
    "{'Sid':'DenyDomain3','Effect':'Deny','Principal':'*','Action':'ses:*',"
    "'Resource':'" ARN_D("p3.example") "'}");
static const char *const P_P3_OK = DOC(
    "{'Sid':'AllowJohnOk','Effect':'Allow','Principal':{'AWS':'" JOHN_ARN "'},"
    "'Action':'ses:Send*','Resource':'" ARN_D("ok@p3.example") "'}");
static const char *const P_P4 = DOC(
    "{'Sid':'AllowJohn4','Effect':'Allow','Principal':{'AWS':'" JOHN_ARN "'},"
    "'Action':'ses:Send*','Resource':'" ARN_D("p4.example") "'}");
static const char *const P_P4_NO = DOC(
    "{'Sid':'DenyNo','Effect':'Deny','Principal':{'AWS':'111122223333'},'Action':'ses:*',"
    "'Resource':'" ARN_D("no@p4.example") "'}");

/* IAM users' own policies */
static const char *const U_ALL = DOC(
    "{'Sid':'UserAll','Effect':'Allow','Action':['ses:SendEmail','ses:SendRawEmail'],"
    "'Resource':'*'}");
static const char *const U_BOB = DOC(
    "{'Sid':'BobSend','Effect':'Allow','Action':'ses:Send*','Resource':'*'},"
    "{'Sid':'BobNoRawDelegated','Effect':'Deny','Action':'ses:SendRawEmail',"
    "'Resource':'arn:aws:ses:*:888888888888:identity/*'}");
static const char *const U_CAROL = DOC(
    "{'Sid':'CarolOwn','Effect':'Allow','Action':['ses:SendEmail','ses:SendRawEmail'],"
    "'Resource':'" ARN_D("d.example") "'}");
static const char *const U_DAVE = DOC(
    "{'Sid':'DaveSend','Effect':'Allow','Action':'ses:Send*','Resource':'*'},"
    "{'Sid':'DaveNoRawOwn','Effect':'Deny','Action':'ses:SendRawEmail',"
    "'Resource':'" ARN_D("own.example") "'}");

/* ---- identities ---------------------------------------------------------- */

struct fake_identity {
	const char *region, *account, *name;
	bool verified;
	const char *doc[3];
};

static const struct fake_identity idents[] = {
    /* the owner's */
    {"us-east-1", ACCT_O, "example.com", true, {P_EXAMPLE}},
    {"us-west-2", ACCT_O, "example.com", true, {P_EXAMPLE_WEST}},
    {"us-east-1", ACCT_O, "root.example", true, {P_ROOT}},
    {"us-east-1", ACCT_O, "users.example", true, {P_USERS}},
    {"us-east-1", ACCT_O, "pending.example", false, {P_PENDING}},
    {"us-east-1", ACCT_O, "prec.example", true, {P_PREC}},
    {"us-east-1", ACCT_O, "vip@prec.example", true, {P_VIP}},
    {"us-east-1", ACCT_O, "pending@prec.example", false, {P_PREC_PENDING}},
    {"us-east-1", ACCT_O, "prec2.example", true, {P_PREC2}},
    {"us-east-1", ACCT_O, "nope@prec2.example", true, {P_NOPE}},
    {"us-east-1", ACCT_O, "plain@prec2.example", true, {NULL}},
    {"us-east-1", ACCT_O, "from.example", true, {P_FROM}},
    {"us-east-1", ACCT_O, "rcpt.example", true, {P_RCPT}},
    {"us-east-1", ACCT_O, "fb.example", true, {P_FB}},
    {"us-east-1", ACCT_O, "tls.example", true, {P_TLS}},
    {"us-east-1", ACCT_O, "ip.example", true, {P_IP}},
    {"us-east-1", ACCT_O, "time.example", true, {P_TIME}},
    {"us-east-1", ACCT_O, "epoch.example", true, {P_EPOCH}},
    {"us-east-1", ACCT_O, "name.example", true, {P_NAME}},
    {"us-east-1", ACCT_O, "ver.example", true, {P_VER}},
    {"us-east-1", ACCT_O, "pa.example", true, {P_PA}},
    {"us-east-1", ACCT_O, "parn.example", true, {P_PARN}},
    {"us-east-1", ACCT_O, "raw.example", true, {P_RAW}},
    {"us-east-1", ACCT_O, "nopol.example", true, {NULL}},
    /* the delegate's own */
    {"us-east-1", ACCT_D, "d.example", true, {NULL}},
    {"us-east-1", ACCT_D, "Alice@d2.example", true, {NULL}},
    {"us-east-1", ACCT_D, "unv.example", false, {NULL}},
    {"us-east-1", ACCT_D, "deep.d3.example", true, {NULL}},
    {"us-east-1", ACCT_D, "dpol.example", true, {P_DPOL}},
    {"us-east-1", ACCT_D, "own.example", true, {P_OWN}},
    {"us-east-1", ACCT_D, "notbob.example", true, {P_NOTBOB}},
    {"us-east-1", ACCT_D, "p3.example", true, {P_P3}},
    {"us-east-1", ACCT_D, "ok@p3.example", true, {P_P3_OK}},
    {"us-east-1", ACCT_D, "bare@p3.example", true, {NULL}},
    {"us-east-1", ACCT_D, "p4.example", true, {P_P4}},
    {"us-east-1", ACCT_D, "no@p4.example", true, {P_P4_NO}},
};
#define NIDENTS (sizeof(idents) / sizeof(idents[0]))

/* idents[i]'s compiled policies */
static struct policy *compiled[NIDENTS][3];
static size_t ncompiled[NIDENTS];

static char *
dq(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static struct policy *
compile(const char *doc_sq, enum policy_mode mode)
{
	struct policy *p = NULL;
	struct err e;
	char *doc = dq(doc_sq);
	if (policy_compile(doc, strlen(doc), mode, &p, &e) != 0) {
		print_error("compile failed: %s\n  doc: %s\n", e.message, doc);
		free(doc);
		fail();
	}
	free(doc);
	return p;
}

/* The lookup callback's state. */
struct fake_store {
	int nlookups;
	const char *fail_name; /* this name's lookup fails */
	bool bare_failure;     /* ... returning -1 without filling e */
};

static int
fake_lookup(void *arg, const char *region, const char *account_id, const char *name,
	    struct authz_identity *out, struct err *e)
{
	struct fake_store *st = arg;

	st->nlookups++;
	if (st->fail_name != NULL && strcmp(st->fail_name, name) == 0) {
		if (st->bare_failure)
			return -1;
		return err_temp(e, "Store unavailable (looking up %s).", name);
	}
	for (size_t i = 0; i < NIDENTS; i++) {
		const struct fake_identity *f = &idents[i];
		if (strcmp(f->region, region) == 0 && strcmp(f->account, account_id) == 0 &&
		    strcmp(f->name, name) == 0) {
			out->verified = f->verified;
			out->policies = (const struct policy *const *)compiled[i];
			out->npolicies = ncompiled[i];
			return 1;
		}
	}
	return 0;
}

static int
setup(void **state)
{
	for (size_t i = 0; i < NIDENTS; i++) {
		ncompiled[i] = 0;
		for (size_t j = 0; j < 3 && idents[i].doc[j] != NULL; j++)
			compiled[i][ncompiled[i]++] = compile(idents[i].doc[j], POLICY_RESOURCE);
	}
	return 0;
}

static int
teardown(void **state)
{
	for (size_t i = 0; i < NIDENTS; i++)
		for (size_t j = 0; j < ncompiled[i]; j++)
			policy_free(compiled[i][j]);
	return 0;
}

/* ---- callers ------------------------------------------------------------- */

enum who { ROOT_D, JANE, JOHN, BOB, CAROL, DAVE, SVC_D, SVC_X, SVC2_D, ROOT_X, ROOT_O, OLGA, NWHO };

static const struct {
	const char *account, *principal, *user, *service, *user_policy;
} callers[NWHO] = {
    [ROOT_D] = {ACCT_D, ROOT_D_ARN, NULL, NULL, NULL},
    [JANE] = {ACCT_D, JANE_ARN, "Jane", NULL, U_ALL},
    [JOHN] = {ACCT_D, JOHN_ARN, "John", NULL, NULL},
    [BOB] = {ACCT_D, BOB_ARN, "Bob", NULL, U_BOB},
    [CAROL] = {ACCT_D, CAROL_ARN, "Carol", NULL, U_CAROL},
    [DAVE] = {ACCT_D, DAVE_ARN, "Dave", NULL, U_DAVE},
    [SVC_D] = {ACCT_D, SVC, NULL, SVC, NULL},
    [SVC_X] = {ACCT_X, SVC, NULL, SVC, NULL},
    [SVC2_D] = {ACCT_D, SVC2, NULL, SVC2, NULL},
    [ROOT_X] = {ACCT_X, ROOT_X_ARN, NULL, NULL, NULL},
    [ROOT_O] = {ACCT_O, ROOT_O_ARN, NULL, NULL, NULL},
    [OLGA] = {ACCT_O, OLGA_ARN, "Olga", NULL, NULL},
};

/* ---- the table ----------------------------------------------------------- */

struct tcase {
	const char *name;
	enum who who;
	const char *action; /* NULL: SendRawEmail */
	const char *region; /* NULL: us-east-1 */
	const char *from, *from_arn, *src, *src_arn, *rp, *rp_arn, *sender;
	const char *display;
	const char *rcpts; /* comma-separated */
	const char *ip;    /* NULL: 192.0.2.10 */
	bool insecure;
	int64_t now; /* 0: T0 */
	const char *fail; /* this identity's lookup fails */
	bool bare;
	/* expected: code NULL = allowed */
	const char *code;
	int http;
	const char *msg;
	const char *grant[AUTHZ_NROLES]; /* per role; NULL: role absent */
	int lookups;                     /* 0: not checked */
};

#define OWN_D "111122223333 d.example o - -"
#define BY_D(sid, id) "888888888888 " id " d " sid " " id

static const struct tcase cases[] = {
    /* ---- the caller's own identities ---- */
    {.name = "own domain covers its address (SendEmail: From = Source)", .who = ROOT_D,
     .action = "SendEmail", .from = "a@d.example", .src = "a@d.example",
     .grant = {OWN_D, OWN_D, NULL}, .lookups = 2},
    {.name = "same address in every role is looked up once", .who = ROOT_D,
     .from = "a@d.example", .src = "a@d.example", .rp = "a@d.example",
     .grant = {OWN_D, OWN_D, OWN_D}, .lookups = 2},
    {.name = "own domain covers a subdomain", .who = ROOT_D, .src = "x@mail.d.example",
     .grant = {NULL, OWN_D, NULL}},
    {.name = "own subdomain identity covers deeper names", .who = ROOT_D,
     .src = "a@x.deep.d3.example",
     .grant = {NULL, "111122223333 deep.d3.example o - -", NULL}},
    {.name = "subdomain identity does not cover its parent", .who = ROOT_D,
     .src = "a@d3.example", .code = "MessageRejected", .http = 400, .msg = NV("a@d3.example")},
    {.name = "coverage is label-aligned", .who = ROOT_D, .src = "a@notd.example",
     .code = "MessageRejected", .http = 400, .msg = NV("a@notd.example")},
    {.name = "own address identity", .who = ROOT_D, .src = "Alice@d2.example",
     .grant = {NULL, "111122223333 Alice@d2.example o - -", NULL}},
    {.name = "address identity: local part is case-sensitive", .who = ROOT_D,
     .src = "alice@d2.example", .code = "MessageRejected", .http = 400,
     .msg = NV("alice@d2.example")},
    {.name = "address identity: domain is case-insensitive", .who = ROOT_D,
     .src = "Alice@D2.Example", .grant = {NULL, "111122223333 Alice@d2.example o - -", NULL}},
    {.name = "unverified own domain", .who = ROOT_D, .src = "a@unv.example",
     .code = "MessageRejected", .http = 400, .msg = NV("a@unv.example")},
    {.name = "every failing address listed, in role order", .who = ROOT_D,
     .from = "a@unv.example", .src = "b@nowhere.example", .rp = "c@unv.example",
     .code = "MessageRejected", .http = 400,
     .msg = NV("a@unv.example, b@nowhere.example, c@unv.example")},
    {.name = "a failing address is listed once", .who = ROOT_D, .from = "a@unv.example",
     .src = "a@unv.example", .rp = "a@unv.example", .code = "MessageRejected", .http = 400,
     .msg = NV("a@unv.example")},
    {.name = "one role fails, the others pass", .who = ROOT_D, .from = "a@d.example",
     .src = "b@nowhere.example", .rp = "a@d.example", .code = "MessageRejected", .http = 400,
     .msg = NV("b@nowhere.example")},
    {.name = "region is printed upper-case", .who = ROOT_D, .region = "eu-west-1",
     .src = "a@d.example", .code = "MessageRejected", .http = 400,
     .msg = "Email address is not verified. The following identities failed the check in "
	    "region EU-WEST-1: a@d.example"},
    {.name = "owner root sends from its identity without an ARN", .who = ROOT_O,
     .src = "a@example.com", .grant = {NULL, "888888888888 example.com o - -", NULL}},
    {.name = "ARN naming the caller's own identity", .who = ROOT_D, .src = "x@mail.d.example",
     .src_arn = ARN_D("d.example"), .grant = {NULL, OWN_D, NULL}},
    {.name = "ARN naming the caller's own unverified identity", .who = ROOT_D,
     .src = "a@unv.example", .src_arn = ARN_D("unv.example"), .code = "MessageRejected",
     .http = 400, .msg = NV("a@unv.example")},

    /* ---- the caller's own identity policies bind the caller (spec §4.4.2-3) ---- */
    /* was "the owner's own identity policies do not bind the owner" (allowed):
     * an explicit Deny wins everywhere, the account root included */
    {.name = "own identity Deny on '*' binds the owner's root", .who = ROOT_D,
     .src = "a@dpol.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_D("dpol.example"))},
    {.name = "own identity Deny on '*' binds the root with its own ARN too", .who = ROOT_D,
     .src = "a@dpol.example", .src_arn = ARN_D("dpol.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_D("dpol.example"))},
    {.name = "own identity Deny on '*' binds an IAM user its user policy allows", .who = JANE,
     .src = "a@dpol.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(JANE_ARN, "SendRawEmail", ARN_D("dpol.example"))},
    {.name = "own identity Deny on '*' binds the account's service principals", .who = SVC_D,
     .src = "a@dpol.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(SVC, "SendRawEmail", ARN_D("dpol.example"))},
    {.name = "owner root: the identity's conditional Deny on '*' binds it", .who = ROOT_O,
     .src = "blocked@example.com", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_O_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "own identity Deny naming the owner's user beats its user policy", .who = BOB,
     .action = "SendEmail", .src = "a@own.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(BOB_ARN, "SendEmail", ARN_D("own.example"))},
    {.name = "own identity Deny naming a user does not bind the root", .who = ROOT_D,
     .src = "a@own.example", .grant = {NULL, "111122223333 own.example o - -", NULL},
     .lookups = 2},
    {.name = "own identity Deny naming another user does not bind Bob", .who = BOB,
     .src = "a@notbob.example",
     .grant = {NULL, "111122223333 notbob.example o BobSend -", NULL}},
    {.name = "own identity Deny binds the user it names", .who = JANE, .src = "a@notbob.example",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(JANE_ARN, "SendRawEmail", ARN_D("notbob.example"))},
    {.name = "owner's user without a user policy, allowed by an identity policy", .who = JOHN,
     .src = "a@own.example",
     .grant = {NULL, "111122223333 own.example o AllowUsers own.example", NULL}},
    {.name = "owner's user allowed by an identity policy, own ARN", .who = JOHN,
     .action = "SendEmail", .src = "a@own.example", .src_arn = ARN_D("own.example"),
     .grant = {NULL, "111122223333 own.example o AllowUsers own.example", NULL}},
    {.name = "user policy Deny beats an identity-policy Allow", .who = DAVE,
     .src = "a@own.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(DAVE_ARN, "SendRawEmail", ARN_D("own.example"))},
    {.name = "user policy and identity policy both allow: the user policy's statement",
     .who = DAVE, .action = "SendEmail", .src = "a@own.example",
     .grant = {NULL, "111122223333 own.example o DaveSend -", NULL}},
    {.name = "owner's user: neither its user policy nor an identity policy allows", .who = CAROL,
     .src = "a@own.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(CAROL_ARN, "SendRawEmail", ARN_D("own.example"))},
    {.name = "own: address identity Allow beats its domain's Deny on '*'", .who = ROOT_D,
     .src = "ok@p3.example", .grant = {NULL, "111122223333 ok@p3.example o - -", NULL},
     .lookups = 1},
    {.name = "own: domain Deny for the domain's other addresses", .who = ROOT_D,
     .src = "other@p3.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_D("p3.example"))},
    {.name = "own: address identity without policies defers to its domain", .who = ROOT_D,
     .src = "bare@p3.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_D("p3.example")), .lookups = 2},
    {.name = "own: address identity Allow admits a user the domain denies", .who = JOHN,
     .src = "ok@p3.example",
     .grant = {NULL, "111122223333 ok@p3.example o AllowJohnOk ok@p3.example", NULL}},
    {.name = "own ARN naming the domain: the address identity's policies apply", .who = JOHN,
     .src = "ok@p3.example", .src_arn = ARN_D("p3.example"),
     .grant = {NULL, "111122223333 p3.example o AllowJohnOk ok@p3.example", NULL}},
    {.name = "own: address Deny beats its domain's Allow", .who = JOHN, .src = "no@p4.example",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(JOHN_ARN, "SendRawEmail", ARN_D("no@p4.example"))},
    {.name = "own: address Deny naming the account binds its root", .who = ROOT_D,
     .src = "no@p4.example", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_D("no@p4.example"))},
    {.name = "own: domain Allow for the domain's other addresses", .who = JOHN,
     .src = "other@p4.example",
     .grant = {NULL, "111122223333 p4.example o AllowJohn4 p4.example", NULL}},

    /* ---- delegation ---- */
    {.name = "delegated by account id (SendEmail, SourceArn)", .who = ROOT_D,
     .action = "SendEmail", .from = "f@example.com", .src = "f@example.com",
     .src_arn = ARN_O("example.com"),
     .grant = {BY_D("AllowD", "example.com"), BY_D("AllowD", "example.com"), NULL}},
    {.name = "delegated domain covers a subdomain", .who = ROOT_D, .src = "a@mail.example.com",
     .src_arn = ARN_O("example.com"), .grant = {NULL, BY_D("AllowD", "example.com"), NULL}},
    {.name = "ARN identity does not cover the address", .who = ROOT_D, .src = "a@other.example",
     .src_arn = ARN_O("example.com"), .code = "MessageRejected", .http = 400,
     .msg = NV("a@other.example")},
    {.name = "ARN names no identity", .who = ROOT_D, .src = "a@ghost.example",
     .src_arn = ARN_O("ghost.example"), .code = "MessageRejected", .http = 400,
     .msg = NV("a@ghost.example")},
    {.name = "ARN names an unverified identity", .who = ROOT_D, .src = "a@pending.example",
     .src_arn = ARN_O("pending.example"), .code = "MessageRejected", .http = 400,
     .msg = NV("a@pending.example")},
    {.name = "stranger not in the policy", .who = ROOT_X, .src = "a@example.com",
     .src_arn = ARN_O("example.com"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_X_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "delegated by root ARN", .who = ROOT_D, .src = "a@root.example",
     .src_arn = ARN_O("root.example"), .grant = {NULL, BY_D("AllowRoot", "root.example"), NULL}},
    {.name = "root ARN principal covers the account's users", .who = JANE,
     .src = "a@root.example", .src_arn = ARN_O("root.example"),
     .grant = {NULL, BY_D("AllowRoot", "root.example"), NULL}},
    {.name = "root ARN principal of another account", .who = ROOT_X, .src = "a@root.example",
     .src_arn = ARN_O("root.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_X_ARN, "SendRawEmail", ARN_O("root.example"))},
    {.name = "delegated by IAM user ARN", .who = JANE, .src = "a@users.example",
     .src_arn = ARN_O("users.example"), .grant = {NULL, BY_D("AllowJane", "users.example"), NULL}},
    {.name = "IAM user ARN: another user of the account", .who = BOB, .action = "SendEmail",
     .src = "a@users.example", .src_arn = ARN_O("users.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(BOB_ARN, "SendEmail", ARN_O("users.example"))},
    {.name = "IAM user ARN: the account root is not that user", .who = ROOT_D,
     .src = "a@users.example", .src_arn = ARN_O("users.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("users.example"))},
    {.name = "service principal with aws:SourceAccount", .who = SVC_D, .src = "a@example.com",
     .src_arn = ARN_O("example.com"), .grant = {NULL, BY_D("AllowSvc", "example.com"), NULL}},
    {.name = "service principal for another account", .who = SVC_X, .src = "a@example.com",
     .src_arn = ARN_O("example.com"), .code = "AccessDenied", .http = 403,
     .msg = DENY(SVC, "SendRawEmail", ARN_O("example.com"))},
    {.name = "service not named in the policy", .who = SVC2_D, .src = "a@example.com",
     .src_arn = ARN_O("example.com"), .code = "AccessDenied", .http = 403,
     .msg = DENY(SVC2, "SendRawEmail", ARN_O("example.com"))},
    {.name = "explicit Deny beats Allow", .who = ROOT_D, .src = "blocked@example.com",
     .src_arn = ARN_O("example.com"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "explicit Deny beats Allow for a service", .who = SVC_D,
     .src = "blocked@example.com", .src_arn = ARN_O("example.com"), .code = "AccessDenied",
     .http = 403, .msg = DENY(SVC, "SendRawEmail", ARN_O("example.com"))},
    {.name = "identity without policies: implicit deny", .who = ROOT_D,
     .src = "a@nopol.example", .src_arn = ARN_O("nopol.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("nopol.example"))},
    {.name = "action not granted (SendEmail on a raw-only policy)", .who = ROOT_D,
     .action = "SendEmail", .src = "a@raw.example", .src_arn = ARN_O("raw.example"),
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendEmail", ARN_O("raw.example"))},
    {.name = "action granted (SendRawEmail)", .who = ROOT_D, .src = "a@raw.example",
     .src_arn = ARN_O("raw.example"), .grant = {NULL, BY_D("RawOnly", "raw.example"), NULL}},

    /* ---- address identity policies take precedence over the domain's ---- */
    {.name = "address Allow beats domain Deny", .who = ROOT_D, .src = "vip@prec.example",
     .src_arn = ARN_O("prec.example"),
     .grant = {NULL, "888888888888 prec.example d AllowVip vip@prec.example", NULL}},
    {.name = "domain Deny for the domain's other addresses", .who = ROOT_D,
     .src = "other@prec.example", .src_arn = ARN_O("prec.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("prec.example"))},
    {.name = "an unverified address identity's policies do not count", .who = ROOT_D,
     .src = "pending@prec.example", .src_arn = ARN_O("prec.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("prec.example"))},
    {.name = "address Deny beats domain Allow", .who = ROOT_D, .src = "nope@prec2.example",
     .src_arn = ARN_O("prec2.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("nope@prec2.example"))},
    {.name = "domain Allow for the domain's other addresses", .who = ROOT_D,
     .src = "other@prec2.example", .src_arn = ARN_O("prec2.example"),
     .grant = {NULL, BY_D("AllowDomain2", "prec2.example"), NULL}},
    {.name = "address identity without policies defers to the domain", .who = ROOT_D,
     .src = "plain@prec2.example", .src_arn = ARN_O("prec2.example"),
     .grant = {NULL, BY_D("AllowDomain2", "prec2.example"), NULL}},
    {.name = "ARN naming the address identity", .who = ROOT_D, .src = "vip@prec.example",
     .src_arn = ARN_O("vip@prec.example"),
     .grant = {NULL, BY_D("AllowVip", "vip@prec.example"), NULL}},
    {.name = "ARN address identity: local part is case-sensitive", .who = ROOT_D,
     .src = "VIP@prec.example", .src_arn = ARN_O("vip@prec.example"), .code = "MessageRejected",
     .http = 400, .msg = NV("VIP@prec.example")},
    {.name = "ARN identity is normalised", .who = ROOT_D, .src = "vip@prec.example",
     .src_arn = ARN_O("vip@PREC.Example"),
     .grant = {NULL, BY_D("AllowVip", "vip@prec.example"), NULL}},

    /* ---- roles and their ARNs ---- */
    {.name = "FromArn delegated, Source own", .who = ROOT_D, .from = "f@example.com",
     .from_arn = ARN_O("example.com"), .src = "b@d.example",
     .grant = {BY_D("AllowD", "example.com"), OWN_D, NULL}},
    {.name = "SourceArn alone covers From and Return-Path", .who = ROOT_D,
     .from = "news@example.com", .src = "bounce@example.com", .rp = "fb@example.com",
     .src_arn = ARN_O("example.com"),
     .grant = {BY_D("AllowD", "example.com"), BY_D("AllowD", "example.com"),
	       BY_D("AllowD", "example.com")}},
    {.name = "SourceArn applied to a From it does not cover", .who = ROOT_D,
     .from = "me@d.example", .src = "bounce@example.com", .src_arn = ARN_O("example.com"),
     .code = "MessageRejected", .http = 400, .msg = NV("me@d.example")},
    {.name = "FromArn wins over SourceArn for From", .who = ROOT_D, .from = "me@d.example",
     .from_arn = ARN_D("d.example"), .src = "bounce@example.com",
     .src_arn = ARN_O("example.com"), .grant = {OWN_D, BY_D("AllowD", "example.com"), NULL}},
    {.name = "same address, different ARNs: decided separately", .who = ROOT_D,
     .from = "vip@prec.example", .from_arn = ARN_O("vip@prec.example"),
     .src = "vip@prec.example", .src_arn = ARN_O("prec.example"),
     .grant = {BY_D("AllowVip", "vip@prec.example"),
	       "888888888888 prec.example d AllowVip vip@prec.example", NULL}},
    {.name = "same address, ARN only for From: Source needs its own identity", .who = ROOT_D,
     .from = "a@example.com", .from_arn = ARN_O("example.com"), .src = "a@example.com",
     .code = "MessageRejected", .http = 400, .msg = NV("a@example.com")},
    {.name = "ReturnPathArn on another identity", .who = ROOT_D, .from = "a@d.example",
     .src = "a@d.example", .rp = "bounces@fb.example", .rp_arn = ARN_O("fb.example"),
     .grant = {OWN_D, OWN_D, BY_D("AllowFb", "fb.example")}},
    {.name = "first denied role answers (From before Return-Path)", .who = ROOT_D,
     .from = "f@nopol.example", .from_arn = ARN_O("nopol.example"), .src = "s@d.example",
     .rp = "r@users.example", .rp_arn = ARN_O("users.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("nopol.example"))},
    {.name = "Return-Path denied, others allowed", .who = ROOT_D, .from = "a@d.example",
     .src = "s@d.example", .rp = "r@users.example", .rp_arn = ARN_O("users.example"),
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("users.example"))},
    {.name = "MessageRejected is answered before AccessDenied", .who = ROOT_D,
     .from = "f@nopol.example", .from_arn = ARN_O("nopol.example"), .src = "s@unv.example",
     .code = "MessageRejected", .http = 400, .msg = NV("s@unv.example")},
    {.name = "ARN of another region", .who = ROOT_D, .src = "a@example.com",
     .src_arn = ARN_OW("example.com"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_OW("example.com"))},
    {.name = "ARN of the request's region (us-west-2)", .who = ROOT_D, .region = "us-west-2",
     .src = "a@example.com", .src_arn = ARN_OW("example.com"),
     .grant = {NULL, BY_D("AllowWest", "example.com"), NULL}},
    {.name = "us-east-1 ARN sent to us-west-2", .who = ROOT_D, .region = "us-west-2",
     .src = "a@example.com", .src_arn = ARN_O("example.com"), .code = "AccessDenied",
     .http = 403, .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "own identity ARN of another region", .who = ROOT_D, .src = "a@d.example",
     .src_arn = "arn:aws:ses:eu-west-1:111122223333:identity/d.example", .code = "AccessDenied",
     .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail",
		 "arn:aws:ses:eu-west-1:111122223333:identity/d.example")},
    {.name = "ARN of another partition", .who = ROOT_D, .src = "a@example.com",
     .src_arn = "arn:aws-cn:ses:us-east-1:888888888888:identity/example.com",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail",
		 "arn:aws-cn:ses:us-east-1:888888888888:identity/example.com")},
    {.name = "unverified address beats a foreign ARN", .who = ROOT_D, .from = "a@example.com",
     .from_arn = ARN_OW("example.com"), .src = "s@unv.example", .code = "MessageRejected",
     .http = 400, .msg = NV("s@unv.example")},
    {.name = "malformed ARN: short account", .who = ROOT_D, .src = "a@example.com",
     .src_arn = "arn:aws:ses:us-east-1:88888888:identity/example.com",
     .code = "InvalidParameterValue", .http = 400,
     .msg = "Invalid ARN <arn:aws:ses:us-east-1:88888888:identity/example.com>."},
    {.name = "malformed ARN: not SES", .who = ROOT_D, .src = "a@example.com",
     .src_arn = "arn:aws:sns:us-east-1:888888888888:topic", .code = "InvalidParameterValue",
     .http = 400,
     .msg = "Invalid ARN <arn:aws:sns:us-east-1:888888888888:topic>. Not an SES identity ARN."},
    {.name = "malformed ARN: global region", .who = ROOT_D, .src = "a@example.com",
     .src_arn = "arn:aws:ses:*:888888888888:identity/example.com",
     .code = "InvalidParameterValue", .http = 400,
     .msg = "Invalid ARN <arn:aws:ses:*:888888888888:identity/example.com>. Global endpoints "
	    "(region '*') are not supported."},
    {.name = "malformed ARN answers before an unverified address", .who = ROOT_D,
     .from = "a@example.com", .from_arn = "garbage", .src = "s@unv.example",
     .code = "InvalidParameterValue", .http = 400, .msg = "Invalid ARN <garbage>."},
    {.name = "malformed address", .who = ROOT_D, .src = "no-at-sign",
     .code = "InvalidParameterValue", .http = 400, .msg = "Missing final '@domain'"},

    /* ---- IAM users ---- */
    {.name = "IAM user without a user policy, own identity", .who = JOHN, .src = "a@d.example",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(JOHN_ARN, "SendRawEmail", ARN_D("d.example"))},
    {.name = "IAM user with an allowing user policy, own identity", .who = JANE,
     .src = "a@d.example", .grant = {NULL, "111122223333 d.example o UserAll -", NULL}},
    {.name = "IAM user: Deny for delegated identities does not touch own", .who = BOB,
     .src = "a@d.example", .grant = {NULL, "111122223333 d.example o BobSend -", NULL}},
    {.name = "IAM user: user policy Deny on a delegated identity", .who = BOB,
     .src = "a@example.com", .src_arn = ARN_O("example.com"), .code = "AccessDenied",
     .http = 403, .msg = DENY(BOB_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "IAM user: delegated action its policy allows", .who = BOB, .action = "SendEmail",
     .src = "a@example.com", .src_arn = ARN_O("example.com"),
     .grant = {NULL, BY_D("AllowD", "example.com"), NULL}},
    {.name = "IAM user: user policy scoped to own identity, own send", .who = CAROL,
     .src = "a@d.example", .grant = {NULL, "111122223333 d.example o CarolOwn -", NULL}},
    {.name = "IAM user: user policy scoped to own identity, delegated send", .who = CAROL,
     .src = "a@example.com", .src_arn = ARN_O("example.com"), .code = "AccessDenied",
     .http = 403, .msg = DENY(CAROL_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "IAM user without a user policy, delegated identity", .who = JOHN,
     .src = "a@example.com", .src_arn = ARN_O("example.com"), .code = "AccessDenied",
     .http = 403, .msg = DENY(JOHN_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "IAM user without a user policy, own ARN", .who = JOHN, .src = "a@d.example",
     .src_arn = ARN_D("d.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(JOHN_ARN, "SendRawEmail", ARN_D("d.example"))},
    {.name = "owner's IAM user without a user policy", .who = OLGA, .src = "a@example.com",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(OLGA_ARN, "SendRawEmail", ARN_O("example.com"))},
    {.name = "user policy checked on the ARN's identity, not the precedence one", .who = JANE,
     .src = "vip@prec.example", .src_arn = ARN_O("prec.example"),
     .grant = {NULL, "888888888888 prec.example d AllowVip vip@prec.example", NULL}},

    /* ---- conditions ---- */
    {.name = "ses:FromAddress matches (from Source when no From)", .who = ROOT_D,
     .src = "news-1@from.example", .src_arn = ARN_O("from.example"),
     .grant = {NULL, BY_D("AllowNews", "from.example"), NULL}},
    {.name = "ses:FromAddress does not match", .who = ROOT_D, .src = "sales@from.example",
     .src_arn = ARN_O("from.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("from.example"))},
    {.name = "ses:FromAddress is the From header's address", .who = ROOT_D,
     .from = "news@from.example", .src = "bounce@from.example", .src_arn = ARN_O("from.example"),
     .grant = {BY_D("AllowNews", "from.example"), BY_D("AllowNews", "from.example"), NULL}},
    {.name = "ses:FromAddress: From header outside the pattern", .who = ROOT_D,
     .from = "bounce@from.example", .src = "news@from.example", .src_arn = ARN_O("from.example"),
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("from.example"))},
    {.name = "Sender inside the pattern: checked like From, granted", .who = ROOT_D,
     .from = "news@from.example", .sender = "news-desk@from.example", .src = "news@from.example",
     .from_arn = ARN_O("from.example"), .src_arn = ARN_O("from.example"),
     .grant = {BY_D("AllowNews", "from.example"), BY_D("AllowNews", "from.example"), NULL,
	       BY_D("AllowNews", "from.example")}},
    {.name = "Sender outside ses:FromAddress's pattern is refused like From", .who = ROOT_D,
     .from = "news@from.example", .sender = "ceo@from.example", .src = "news@from.example",
     .from_arn = ARN_O("from.example"), .src_arn = ARN_O("from.example"),
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("from.example"))},
    {.name = "Sender takes From's ARN, not Source's", .who = ROOT_D, .from = "news@from.example",
     .sender = "news-2@from.example", .src = "a@d.example", .from_arn = ARN_O("from.example"),
     .grant = {BY_D("AllowNews", "from.example"), OWN_D, NULL,
	       BY_D("AllowNews", "from.example")}},
    {.name = "Sender no identity covers", .who = ROOT_D, .from = "a@d.example",
     .sender = "s@unv.example", .src = "a@d.example", .code = "MessageRejected", .http = 400,
     .msg = NV("s@unv.example")},
    {.name = "ses:Recipients all allowed", .who = ROOT_D, .src = "a@rcpt.example",
     .src_arn = ARN_O("rcpt.example"), .rcpts = "x@partner.example,y@rcpt.example",
     .grant = {NULL, BY_D("AllowRcpt", "rcpt.example"), NULL}},
    {.name = "ses:Recipients with one outsider", .who = ROOT_D, .src = "a@rcpt.example",
     .src_arn = ARN_O("rcpt.example"), .rcpts = "x@partner.example,z@elsewhere.example",
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("rcpt.example"))},
    {.name = "ses:Recipients empty: ForAllValues holds", .who = ROOT_D, .src = "a@rcpt.example",
     .src_arn = ARN_O("rcpt.example"), .grant = {NULL, BY_D("AllowRcpt", "rcpt.example"), NULL}},
    {.name = "ses:FeedbackAddress is the Return-Path", .who = ROOT_D, .src = "x@fb.example",
     .rp = "bounces@fb.example", .src_arn = ARN_O("fb.example"),
     .grant = {NULL, BY_D("AllowFb", "fb.example"), BY_D("AllowFb", "fb.example")}},
    {.name = "ses:FeedbackAddress falls back to Source", .who = ROOT_D,
     .src = "bounces@fb.example", .src_arn = ARN_O("fb.example"),
     .grant = {NULL, BY_D("AllowFb", "fb.example"), NULL}},
    {.name = "ses:FeedbackAddress does not match", .who = ROOT_D, .src = "x@fb.example",
     .src_arn = ARN_O("fb.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("fb.example"))},
    {.name = "aws:SecureTransport true", .who = ROOT_D, .src = "a@tls.example",
     .src_arn = ARN_O("tls.example"), .grant = {NULL, BY_D("AllowTls", "tls.example"), NULL}},
    {.name = "aws:SecureTransport false hits the Deny", .who = ROOT_D, .src = "a@tls.example",
     .src_arn = ARN_O("tls.example"), .insecure = true, .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("tls.example"))},
    {.name = "aws:SourceIp in range", .who = ROOT_D, .src = "a@ip.example",
     .src_arn = ARN_O("ip.example"), .grant = {NULL, BY_D("AllowNet", "ip.example"), NULL}},
    {.name = "aws:SourceIp IPv6 in range", .who = ROOT_D, .src = "a@ip.example",
     .src_arn = ARN_O("ip.example"), .ip = "2001:db8::25",
     .grant = {NULL, BY_D("AllowNet", "ip.example"), NULL}},
    {.name = "aws:SourceIp out of range", .who = ROOT_D, .src = "a@ip.example",
     .src_arn = ARN_O("ip.example"), .ip = "198.51.100.7", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("ip.example"))},
    {.name = "aws:CurrentTime before the end date", .who = ROOT_D, .src = "a@time.example",
     .src_arn = ARN_O("time.example"), .grant = {NULL, BY_D("AllowUntil", "time.example"), NULL}},
    {.name = "aws:CurrentTime after the end date", .who = ROOT_D, .src = "a@time.example",
     .src_arn = ARN_O("time.example"), .now = 1780272000 /* 2026-06-01T00:00:00Z */,
     .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("time.example"))},
    {.name = "aws:CurrentTime one second before the end date", .who = ROOT_D,
     .src = "a@time.example", .src_arn = ARN_O("time.example"), .now = 1780271999,
     .grant = {NULL, BY_D("AllowUntil", "time.example"), NULL}},
    {.name = "aws:EpochTime at the bound", .who = ROOT_D, .src = "a@epoch.example",
     .src_arn = ARN_O("epoch.example"),
     .grant = {NULL, BY_D("AllowAfter", "epoch.example"), NULL}},
    {.name = "aws:EpochTime below the bound", .who = ROOT_D, .src = "a@epoch.example",
     .src_arn = ARN_O("epoch.example"), .now = T0 - 1, .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("epoch.example"))},
    {.name = "ses:FromDisplayName matches", .who = ROOT_D, .src = "a@name.example",
     .src_arn = ARN_O("name.example"), .display = "Billing",
     .grant = {NULL, BY_D("AllowBilling", "name.example"), NULL}},
    {.name = "ses:FromDisplayName differs", .who = ROOT_D, .src = "a@name.example",
     .src_arn = ARN_O("name.example"), .display = "Sales", .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("name.example"))},
    {.name = "ses:FromDisplayName absent", .who = ROOT_D, .src = "a@name.example",
     .src_arn = ARN_O("name.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_D_ARN, "SendRawEmail", ARN_O("name.example"))},
    {.name = "ses:ApiVersion is 1", .who = ROOT_D, .src = "a@ver.example",
     .src_arn = ARN_O("ver.example"), .grant = {NULL, BY_D("AllowV1", "ver.example"), NULL}},
    {.name = "aws:PrincipalAccount matches", .who = ROOT_D, .src = "a@pa.example",
     .src_arn = ARN_O("pa.example"), .grant = {NULL, BY_D("AllowAcct", "pa.example"), NULL}},
    {.name = "aws:PrincipalAccount of a service principal", .who = SVC_D, .src = "a@pa.example",
     .src_arn = ARN_O("pa.example"), .grant = {NULL, BY_D("AllowAcct", "pa.example"), NULL}},
    {.name = "aws:PrincipalAccount differs", .who = ROOT_X, .src = "a@pa.example",
     .src_arn = ARN_O("pa.example"), .code = "AccessDenied", .http = 403,
     .msg = DENY(ROOT_X_ARN, "SendRawEmail", ARN_O("pa.example"))},
    {.name = "aws:PrincipalArn and aws:username match", .who = JANE, .src = "a@parn.example",
     .src_arn = ARN_O("parn.example"), .grant = {NULL, BY_D("AllowArn", "parn.example"), NULL}},
    {.name = "aws:PrincipalArn differs", .who = BOB, .action = "SendEmail",
     .src = "a@parn.example", .src_arn = ARN_O("parn.example"), .code = "AccessDenied",
     .http = 403, .msg = DENY(BOB_ARN, "SendEmail", ARN_O("parn.example"))},

    /* ---- lookups fail closed ---- */
    {.name = "lookup failure on the caller's own identity", .who = ROOT_D, .src = "a@d.example",
     .fail = "d.example", .code = "ServiceUnavailable", .http = 503,
     .msg = "Store unavailable (looking up d.example)."},
    {.name = "lookup failure on the ARN's identity", .who = ROOT_D, .src = "a@example.com",
     .src_arn = ARN_O("example.com"), .fail = "example.com", .code = "ServiceUnavailable",
     .http = 503, .msg = "Store unavailable (looking up example.com)."},
    {.name = "lookup failure on a more specific identity", .who = ROOT_D,
     .src = "vip@prec.example", .src_arn = ARN_O("prec.example"), .fail = "vip@prec.example",
     .code = "ServiceUnavailable", .http = 503,
     .msg = "Store unavailable (looking up vip@prec.example)."},
    {.name = "lookup failure beats an unverified address", .who = ROOT_D,
     .from = "a@unv.example", .src = "a@d.example", .fail = "d.example",
     .code = "ServiceUnavailable", .http = 503,
     .msg = "Store unavailable (looking up d.example)."},
    {.name = "lookup failure without an error record is still temporary", .who = ROOT_D,
     .src = "a@d.example", .fail = "a@d.example", .bare = true, .code = "ServiceUnavailable",
     .http = 503, .msg = "Identity lookup failed."},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- running a case ------------------------------------------------------ */

static void
split_recipients(const char *list, char *buf, size_t cap, const char **out, size_t *n)
{
	*n = 0;
	if (list == NULL)
		return;
	snprintf(buf, cap, "%s", list);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		out[(*n)++] = t;
}

static void
check_grant(const struct tcase *t, int role, const char *region, const struct authz_grant *g)
{
	char want[512], *save = NULL, arn[512];
	const char *owner, *identity, *kind, *sid, *pid;

	if (t->grant[role] == NULL) {
		if (g->present)
			fail_msg("%s: role %d should be absent", t->name, role);
		return;
	}
	snprintf(want, sizeof(want), "%s", t->grant[role]);
	owner = strtok_r(want, " ", &save);
	identity = strtok_r(NULL, " ", &save);
	kind = strtok_r(NULL, " ", &save);
	sid = strtok_r(NULL, " ", &save);
	pid = strtok_r(NULL, " ", &save);
	assert_non_null(pid);
	if (!g->present)
		fail_msg("%s: role %d should be present", t->name, role);
	assert_string_equal(g->owner, owner);
	assert_string_equal(g->identity, identity);
	assert_int_equal(g->delegated, kind[0] == 'd');
	assert_string_equal(g->matched_sid, strcmp(sid, "-") == 0 ? "" : sid);
	snprintf(arn, sizeof(arn), "arn:aws:ses:%s:%s:identity/%s", region, owner, identity);
	assert_string_equal(g->identity_arn, arn);
	if (strcmp(pid, "-") == 0)
		arn[0] = '\0';
	else
		snprintf(arn, sizeof(arn), "arn:aws:ses:%s:%s:identity/%s", region, owner, pid);
	assert_string_equal(g->policy_arn, arn);
}

static void
run_case(const struct tcase *t, size_t row)
{
	const char *region = t->region != NULL ? t->region : "us-east-1";
	struct policy *up = NULL;
	struct fake_store st = {0, t->fail, t->bare};
	struct authz_lookup l = {fake_lookup, &st};
	struct authz_caller c = {0};
	struct authz_send s = {0};
	struct authz_result out;
	struct err e;
	char rbuf[512];
	const char *rcpts[16];
	int rc;

	print_message("[%3zu] %s\n", row, t->name);
	if (callers[t->who].user_policy != NULL)
		up = compile(callers[t->who].user_policy, POLICY_IDENTITY);
	c.account_id = callers[t->who].account;
	c.principal = callers[t->who].principal;
	c.user = callers[t->who].user;
	c.service = callers[t->who].service;
	c.user_policy = up;
	c.region = region;
	c.source_ip = t->ip != NULL ? t->ip : "192.0.2.10";
	c.secure = !t->insecure;
	c.now = t->now != 0 ? t->now : T0;

	s.action = t->action != NULL ? t->action : "SendRawEmail";
	s.api_version = "1";
	s.address[AUTHZ_FROM] = t->from;
	s.address[AUTHZ_SOURCE] = t->src;
	s.address[AUTHZ_RETURN_PATH] = t->rp;
	s.address[AUTHZ_SENDER] = t->sender;
	s.arn[AUTHZ_FROM] = t->from_arn;
	s.arn[AUTHZ_SOURCE] = t->src_arn;
	s.arn[AUTHZ_RETURN_PATH] = t->rp_arn;
	s.from_display_name = t->display;
	split_recipients(t->rcpts, rbuf, sizeof(rbuf), rcpts, &s.nrecipients);
	s.recipients = rcpts;

	memset(&out, 0xa5, sizeof(out));
	err_clear(&e);
	rc = authz_decide(&c, &s, &l, &out, &e);
	if (t->code == NULL) {
		if (rc != 0)
			fail_msg("row %zu (%s): refused: %s %d %s", row, t->name, e.code, e.http,
				 e.message);
		for (int i = 0; i < AUTHZ_NROLES; i++)
			check_grant(t, i, region, &out.role[i]);
	} else {
		if (rc == 0)
			fail_msg("row %zu (%s): allowed, wanted %s", row, t->name, t->code);
		assert_string_equal(e.code, t->code);
		assert_int_equal(e.http, t->http);
		assert_string_equal(e.message, t->msg);
		assert_int_equal(e.temporary, strcmp(t->code, "ServiceUnavailable") == 0);
	}
	if (t->lookups != 0)
		assert_int_equal(st.nlookups, t->lookups);
	policy_free(up);
}

static void
test_table(void **state)
{
	for (size_t i = 0; i < NCASES; i++)
		run_case(&cases[i], i);
	print_message("%zu authz cases\n", NCASES);
	assert_true(NCASES >= 60);
}

static void
test_format_time(void **state)
{
	char buf[64];

	assert_int_equal(authz_format_time(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(authz_format_time(T0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-03-01T12:00:00Z");
	assert_int_equal(authz_format_time(1780271999, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-05-31T23:59:59Z");
	assert_int_equal(authz_format_time(T0, buf, 5), -1);
}

/* Incomplete requests are refused (fail closed), never allowed. */
static void
test_incomplete(void **state)
{
	struct fake_store st = {0};
	struct authz_lookup l = {fake_lookup, &st};
	struct authz_caller c = {.account_id = ACCT_D, .principal = ROOT_D_ARN,
				 .region = "us-east-1", .now = T0};
	struct authz_send s = {.action = "SendRawEmail"};
	struct authz_result out;
	struct err e;

	/* no address at all */
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_string_equal(e.message, "Missing final '@domain'");

	s.address[AUTHZ_SOURCE] = "a@d.example";
	c.region = NULL;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InternalFailure");
	c.region = "us-east-1";
	c.principal = NULL;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InternalFailure");
	c.principal = ROOT_D_ARN;
	s.action = NULL;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InternalFailure");
	s.action = "SendRawEmail";
	l.identity = NULL;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InternalFailure");
	l.identity = fake_lookup;
	/* NULL err is allowed */
	assert_int_equal(authz_decide(&c, &s, &l, &out, NULL), 0);
	s.address[AUTHZ_SOURCE] = "a@unv.example";
	assert_int_equal(authz_decide(&c, &s, &l, &out, NULL), -1);
}

/* A recipient list past the policy context's cap is refused, not truncated:
 * a ForAllValues condition must see every recipient. */
static void
test_too_many_recipients(void **state)
{
	enum { N = POLICY_CTX_MAX_VALUES + 1 };
	struct fake_store st = {0};
	struct authz_lookup l = {fake_lookup, &st};
	struct authz_caller c = {.account_id = ACCT_D, .principal = ROOT_D_ARN,
				 .region = "us-east-1", .source_ip = "192.0.2.1", .secure = true,
				 .now = T0};
	struct authz_send s = {.action = "SendRawEmail", .api_version = "1"};
	const char **r = xcalloc(N, sizeof(*r));
	struct authz_result out;
	struct err e;

	for (size_t i = 0; i < N; i++)
		r[i] = "x@partner.example";
	s.address[AUTHZ_SOURCE] = "a@rcpt.example";
	s.arn[AUTHZ_SOURCE] = ARN_O("rcpt.example");
	s.recipients = r;
	s.nrecipients = N;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	/* the caller's own identity with policies needs the whole context too */
	s.address[AUTHZ_SOURCE] = "a@own.example";
	s.arn[AUTHZ_SOURCE] = NULL;
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	/* the caller's own identity without policies needs no context: no cap applies */
	s.address[AUTHZ_SOURCE] = "a@d.example";
	assert_int_equal(authz_decide(&c, &s, &l, &out, &e), 0);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_format_time),
	    cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_too_many_recipients),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
