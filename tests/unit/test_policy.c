/*
 * test_policy.c — core/policy and cli/cli_policy from tables of cases.
 *
 * Policy documents in the tables are written with ' for " (swapped before
 * use) so they stay readable. Contexts are "key=value|key=value"; a key
 * given twice is multi-valued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/policy.h"
#include "util/utf8.h"
#include "cli/cli_policy.h"
#include "util/err.h"
#include "util/xalloc.h"

/* TESTABLE internals */
bool policy_glob(const char *p, size_t pl, const char *s, size_t sl, bool icase);
bool policy_arn_match(const char *p, size_t pl, const char *s, size_t sl);
bool policy_parse_date(const char *s, long long *ms_out);
bool policy_parse_number(const char *s, double *out);
int cli_policy_run(int argc, char **argv, FILE *in, FILE *out, FILE *errf);

static size_t ncases; /* printed at the end: how many table rows ran */

#define RES "arn:aws:ses:us-east-1:888888888888:identity/example.com"
#define ROOT1 "arn:aws:iam::111122223333:root"
#define JANE1 "arn:aws:iam::111122223333:user/Jane"
#define JOHN1 "arn:aws:iam::111122223333:user/John"
#define ROOT4 "arn:aws:iam::444455556666:root"
#define SVC "notifications.example.internal"

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
compile_or_die(const char *doc_sq, enum policy_mode mode, size_t row)
{
	struct policy *p = NULL;
	struct err e;
	char *doc = dq(doc_sq);
	if (policy_compile(doc, strlen(doc), mode, &p, &e) != 0) {
		print_error("row %zu: compile failed: %s\n  doc: %s\n", row, e.message, doc);
		free(doc);
		fail();
	}
	free(doc);
	return p;
}

static void
fill_ctx(struct policy_ctx *ctx, const char *spec)
{
	char *s = xstrdup(spec ? spec : "");
	char *save = NULL;
	for (char *tok = strtok_r(s, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(policy_ctx_add(ctx, tok, eq + 1), 0);
	}
	free(s);
}

/* ------------------------------------------------------------------ */
/* Conditions: one Allow statement for everyone, with this Condition.  */

struct cond_case {
	const char *cond;
	const char *ctx;
	bool allow;
};

static const struct cond_case cond_cases[] = {
	/* StringEquals / StringNotEquals */
	{"{'StringEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=a@x.com", true},
	{"{'StringEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=b@x.com", false},
	{"{'StringEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=A@x.com", false},
	{"{'StringEquals':{'ses:FromAddress':'a@x.com'}}", "", false},
	{"{'StringEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=", false},
	{"{'StringEquals':{'ses:FromAddress':['a@x.com','b@x.com']}}", "ses:FromAddress=b@x.com", true},
	{"{'StringNotEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=a@x.com", false},
	{"{'StringNotEquals':{'ses:FromAddress':'a@x.com'}}", "ses:FromAddress=b@x.com", true},
	{"{'StringNotEquals':{'ses:FromAddress':'a@x.com'}}", "", true},
	{"{'StringNotEquals':{'ses:FromAddress':['a','b']}}", "ses:FromAddress=b", false},
	{"{'StringNotEquals':{'ses:FromAddress':['a','b']}}", "ses:FromAddress=c", true},
	{"{'StringEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "ses:FromAddress=a@x.COM", true},
	{"{'StringEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "ses:FromAddress=b@x.com", false},
	{"{'StringEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "", false},
	{"{'StringNotEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "ses:FromAddress=a@x.com", false},
	{"{'StringNotEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "ses:FromAddress=b@x.com", true},
	{"{'StringNotEqualsIgnoreCase':{'ses:FromAddress':'A@X.com'}}", "", true},
	/* StringLike / StringNotLike and wildcard edges */
	{"{'StringLike':{'ses:FromAddress':'*@example.com'}}", "ses:FromAddress=a@example.com", true},
	{"{'StringLike':{'ses:FromAddress':'*@example.com'}}", "ses:FromAddress=a@example.org", false},
	{"{'StringLike':{'ses:FromAddress':'*@example.com'}}", "ses:FromAddress=@example.com", true},
	{"{'StringLike':{'ses:FromAddress':'?@x.com'}}", "ses:FromAddress=a@x.com", true},
	{"{'StringLike':{'ses:FromAddress':'?@x.com'}}", "ses:FromAddress=ab@x.com", false},
	{"{'StringLike':{'ses:FromAddress':'?@x.com'}}", "ses:FromAddress=@x.com", false},
	{"{'StringLike':{'ses:FromAddress':'marketing+*@x.com'}}", "ses:FromAddress=marketing+q1@x.com", true},
	{"{'StringLike':{'ses:FromAddress':'marketing+*@x.com'}}", "ses:FromAddress=marketing@x.com", false},
	{"{'StringLike':{'ses:FromAddress':'*'}}", "ses:FromAddress=", true},
	{"{'StringLike':{'ses:FromAddress':''}}", "ses:FromAddress=", true},
	{"{'StringLike':{'ses:FromAddress':''}}", "ses:FromAddress=a", false},
	{"{'StringLike':{'ses:FromAddress':'a**b'}}", "ses:FromAddress=ab", true},
	{"{'StringLike':{'ses:FromAddress':'a**b'}}", "ses:FromAddress=axxb", true},
	{"{'StringLike':{'ses:FromAddress':'a*b*c'}}", "ses:FromAddress=abxbxc", true},
	{"{'StringLike':{'ses:FromAddress':'a*b*c'}}", "ses:FromAddress=abxbx", false},
	{"{'StringLike':{'ses:FromAddress':'*@EXAMPLE.com'}}", "ses:FromAddress=a@example.com", false},
	{"{'StringLike':{'ses:FromAddress':'?'}}", "ses:FromAddress=\xc3\xa9", true},
	{"{'StringLike':{'ses:FromAddress':'?\?'}}", "ses:FromAddress=\xc3\xa9", false},
	{"{'StringNotLike':{'ses:FromAddress':'*@example.com'}}", "ses:FromAddress=a@example.com", false},
	{"{'StringNotLike':{'ses:FromAddress':'*@example.com'}}", "ses:FromAddress=a@other.com", true},
	{"{'StringNotLike':{'ses:FromAddress':'*@example.com'}}", "", true},
	{"{'StringLike':{'ses:FromAddress':'*@example.com'}}", "", false},
	{"{'StringEquals':{'ses:ApiVersion':5}}", "ses:ApiVersion=5", true},
	{"{'StringEquals':{'aws:SecureTransport':true}}", "aws:SecureTransport=true", true},
	/* IfExists */
	{"{'StringEqualsIfExists':{'ses:FromAddress':'a'}}", "", true},
	{"{'StringEqualsIfExists':{'ses:FromAddress':'a'}}", "ses:FromAddress=b", false},
	{"{'StringEqualsIfExists':{'ses:FromAddress':'a'}}", "ses:FromAddress=a", true},
	{"{'StringLikeIfExists':{'ses:FromAddress':'*@x.com'}}", "ses:FromAddress=y@z.com", false},
	{"{'StringNotEqualsIfExists':{'ses:FromAddress':'a'}}", "", true},
	{"{'StringNotEqualsIfExists':{'ses:FromAddress':'a'}}", "ses:FromAddress=a", false},
	{"{'StringEqualsIgnoreCaseIfExists':{'ses:FromAddress':'A'}}", "ses:FromAddress=a", true},
	{"{'NumericLessThanIfExists':{'ses:ApiVersion':'3'}}", "", true},
	{"{'NumericLessThanIfExists':{'ses:ApiVersion':'3'}}", "ses:ApiVersion=4", false},
	{"{'DateGreaterThanIfExists':{'aws:CurrentTime':'2020-01-01'}}", "", true},
	{"{'BoolIfExists':{'aws:SecureTransport':'true'}}", "", true},
	{"{'BoolIfExists':{'aws:SecureTransport':'true'}}", "aws:SecureTransport=false", false},
	{"{'IpAddressIfExists':{'aws:SourceIp':'10.0.0.0/8'}}", "", true},
	{"{'IpAddressIfExists':{'aws:SourceIp':'10.0.0.0/8'}}", "aws:SourceIp=11.0.0.1", false},
	{"{'ArnLikeIfExists':{'aws:SourceArn':'arn:aws:sns:*:*:*'}}", "", true},
	{"{'BinaryEqualsIfExists':{'ses:FromDisplayName':'QmluYXJ5'}}", "", true},
	/* Numeric */
	{"{'NumericEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=1", true},
	{"{'NumericEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=1.0", true},
	{"{'NumericEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=2", false},
	{"{'NumericEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=abc", false},
	{"{'NumericEquals':{'ses:ApiVersion':'1'}}", "", false},
	{"{'NumericNotEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=2", true},
	{"{'NumericNotEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=1", false},
	{"{'NumericNotEquals':{'ses:ApiVersion':'1'}}", "", true},
	{"{'NumericNotEquals':{'ses:ApiVersion':['1','2']}}", "ses:ApiVersion=2", false},
	{"{'NumericNotEquals':{'ses:ApiVersion':['1','2']}}", "ses:ApiVersion=3", true},
	{"{'NumericLessThan':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=9", true},
	{"{'NumericLessThan':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=10", false},
	{"{'NumericLessThan':{'ses:ApiVersion':'10'}}", "", false},
	{"{'NumericLessThanEquals':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=10", true},
	{"{'NumericLessThanEquals':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=11", false},
	{"{'NumericGreaterThan':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=11", true},
	{"{'NumericGreaterThan':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=10", false},
	{"{'NumericGreaterThanEquals':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=10", true},
	{"{'NumericGreaterThanEquals':{'ses:ApiVersion':'10'}}", "ses:ApiVersion=9.99", false},
	{"{'NumericLessThan':{'ses:ApiVersion':'-1.5'}}", "ses:ApiVersion=-2", true},
	{"{'NumericEquals':{'ses:ApiVersion':2}}", "ses:ApiVersion=2", true},
	{"{'NumericEquals':{'ses:ApiVersion':2.5}}", "ses:ApiVersion=2.5", true},
	{"{'NumericGreaterThan':{'ses:ApiVersion':['5','100']}}", "ses:ApiVersion=6", true},
	{"{'NumericEquals':{'ses:ApiVersion':'1e3'}}", "ses:ApiVersion=1000", true},
	{"{'NumericGreaterThan':{'aws:EpochTime':'1600000000'}}", "aws:EpochTime=1600000001", true},
	/* Date */
	{"{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'}}", "aws:CurrentTime=2018-09-15T00:00:00Z", true},
	{"{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'}}", "aws:CurrentTime=2018-08-31T11:59:59Z", false},
	{"{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'}}", "aws:CurrentTime=2018-08-31T12:00:00Z", false},
	{"{'DateLessThan':{'aws:CurrentTime':'2018-10-01T12:00Z'}}", "aws:CurrentTime=2018-09-30T00:00:00Z", true},
	{"{'DateLessThan':{'aws:CurrentTime':'2018-10-01T12:00Z'}}", "aws:CurrentTime=2018-10-01T12:00:00Z", false},
	{"{'DateLessThanEquals':{'aws:CurrentTime':'2018-10-01T12:00Z'}}", "aws:CurrentTime=2018-10-01T12:00:00Z", true},
	{"{'DateGreaterThanEquals':{'aws:CurrentTime':'2020-01-01'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateGreaterThanEquals':{'aws:CurrentTime':'2020-01-01'}}", "aws:CurrentTime=2019-12-31T23:59:59Z", false},
	{"{'DateEquals':{'aws:CurrentTime':'2020-01-01T00:00:00Z'}}", "aws:CurrentTime=1577836800", true},
	{"{'DateEquals':{'aws:CurrentTime':'1577836800'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateEquals':{'aws:CurrentTime':1577836800}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateNotEquals':{'aws:CurrentTime':'2020-01-01T00:00:00Z'}}", "aws:CurrentTime=2020-01-02T00:00:00Z", true},
	{"{'DateNotEquals':{'aws:CurrentTime':'2020-01-01T00:00:00Z'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", false},
	{"{'DateNotEquals':{'aws:CurrentTime':'2020-01-01T00:00:00Z'}}", "", true},
	{"{'DateGreaterThan':{'aws:CurrentTime':'2020-01-01T00:00:00Z'}}", "", false},
	{"{'DateEquals':{'aws:CurrentTime':'2020-01-01T02:00:00+02:00'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateEquals':{'aws:CurrentTime':'2019-12-31T19:00:00-0500'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateLessThan':{'aws:CurrentTime':'2020-01-01T00:00:00.500Z'}}", "aws:CurrentTime=2020-01-01T00:00:00Z", true},
	{"{'DateLessThan':{'aws:CurrentTime':'2020-01-01T00:00:00.500Z'}}", "aws:CurrentTime=2020-01-01T00:00:00.5Z", false},
	{"{'DateLessThan':{'aws:CurrentTime':'2020-01-01'}}", "aws:CurrentTime=garbage", false},
	{"{'DateGreaterThan':{'aws:EpochTime':'1600000000'}}", "aws:EpochTime=1600000001", true},
	{"{'DateLessThan':{'aws:CurrentTime':'1970-01-01T00:00:01Z'}}", "aws:CurrentTime=-5", true},
	/* Bool */
	{"{'Bool':{'aws:SecureTransport':'true'}}", "aws:SecureTransport=true", true},
	{"{'Bool':{'aws:SecureTransport':'true'}}", "aws:SecureTransport=false", false},
	{"{'Bool':{'aws:SecureTransport':'true'}}", "", false},
	{"{'Bool':{'aws:SecureTransport':'false'}}", "aws:SecureTransport=false", true},
	{"{'Bool':{'aws:SecureTransport':true}}", "aws:SecureTransport=true", true},
	{"{'Bool':{'aws:SecureTransport':'true'}}", "aws:SecureTransport=TRUE", true},
	{"{'Bool':{'aws:SecureTransport':'true'}}", "aws:SecureTransport=yes", false},
	/* Binary */
	{"{'BinaryEquals':{'ses:FromDisplayName':'QmluYXJ5'}}", "ses:FromDisplayName=QmluYXJ5", true},
	{"{'BinaryEquals':{'ses:FromDisplayName':'QmluYXJ5'}}", "ses:FromDisplayName=QmluYXJ6", false},
	{"{'BinaryEquals':{'ses:FromDisplayName':'QmluYXJ5'}}", "", false},
	/* IpAddress / NotIpAddress */
	{"{'IpAddress':{'aws:SourceIp':'203.0.113.0/24'}}", "aws:SourceIp=203.0.113.7", true},
	{"{'IpAddress':{'aws:SourceIp':'203.0.113.0/24'}}", "aws:SourceIp=203.0.114.7", false},
	{"{'IpAddress':{'aws:SourceIp':'203.0.113.5'}}", "aws:SourceIp=203.0.113.5", true},
	{"{'IpAddress':{'aws:SourceIp':'203.0.113.5'}}", "aws:SourceIp=203.0.113.6", false},
	{"{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}", "aws:SourceIp=2001:db8::1", true},
	{"{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}", "aws:SourceIp=2001:db9::1", false},
	{"{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}", "aws:SourceIp=203.0.113.7", false},
	{"{'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}}", "aws:SourceIp=1.2.3.4", true},
	{"{'IpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "aws:SourceIp=not-an-ip", false},
	{"{'IpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "", false},
	{"{'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "aws:SourceIp=10.1.2.3", false},
	{"{'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "aws:SourceIp=11.0.0.1", true},
	{"{'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "", true},
	{"{'IpAddress':{'aws:SourceIp':['10.0.0.0/8','192.168.0.0/16']}}", "aws:SourceIp=192.168.1.1", true},
	{"{'IpAddress':{'aws:SourceIp':'10.1.2.3/8'}}", "aws:SourceIp=10.200.0.1", true},
	{"{'IpAddress':{'aws:SourceIp':'192.168.1.0/25'}}", "aws:SourceIp=192.168.1.127", true},
	{"{'IpAddress':{'aws:SourceIp':'192.168.1.0/25'}}", "aws:SourceIp=192.168.1.128", false},
	{"{'IpAddress':{'aws:SourceIp':'::/0'}}", "aws:SourceIp=::1", true},
	{"{'IpAddress':{'aws:SourceIp':'2001:db8:0:1::/63'}}", "aws:SourceIp=2001:db8:0:0:ffff::1", true},
	{"{'IpAddress':{'aws:SourceIp':'2001:db8:0:1::/64'}}", "aws:SourceIp=2001:db8:0:0:ffff::1", false},
	/* Arn */
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:cognito-idp:us-east-1:111122223333:userpool/*'}}",
	    "aws:SourceArn=arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_abc", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:cognito-idp:us-east-1:111122223333:userpool/*'}}",
	    "aws:SourceArn=arn:aws:cognito-idp:us-east-1:999999999999:userpool/us-east-1_abc", false},
	{"{'ArnEquals':{'aws:SourceArn':'arn:aws:sns:us-east-1:111122223333:t'}}",
	    "aws:SourceArn=arn:aws:sns:us-east-1:111122223333:t", true},
	{"{'ArnEquals':{'aws:SourceArn':'arn:aws:sns:us-east-1:111122223333:t'}}",
	    "aws:SourceArn=arn:aws:sns:us-east-1:111122223333:u", false},
	{"{'ArnEquals':{'aws:SourceArn':'arn:aws:s3:::bucket'}}", "aws:SourceArn=arn:aws:s3:::bucket", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:*:*:111122223333:*'}}",
	    "aws:SourceArn=arn:aws:sns:us-east-1:111122223333:topic", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:111122223333:*'}}",
	    "aws:SourceArn=arn:aws:sns:us-east-1:999999999999:topic", false},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:sns:us-*:*:*'}}",
	    "aws:SourceArn=arn:aws:sns:us-east-1:111122223333:t", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:t'}}", "aws:SourceArn=arn:aws:sns:us-east-1:1:t", false},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:*:*'}}", "aws:SourceArn=not-an-arn", false},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:*:*'}}", "aws:SourceArn=arn:aws:sns:r:a:b:c", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:*:sns:*:*:*'}}", "aws:SourceArn=arn:aws:sqs:r:1:q", false},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:logs:*:*:log-group:*'}}",
	    "aws:SourceArn=arn:aws:logs:us-east-1:1:log-group:x", true},
	{"{'ArnLike':{'aws:SourceArn':'arn:aws:SNS:*:*:*'}}", "aws:SourceArn=arn:aws:sns:r:1:t", false},
	{"{'ArnLike':{'aws:SourceArn':'*'}}", "aws:SourceArn=anything", true},
	{"{'ArnNotLike':{'aws:SourceArn':'arn:aws:sns:*:111122223333:*'}}", "aws:SourceArn=arn:aws:sns:r:999999999999:t", true},
	{"{'ArnNotLike':{'aws:SourceArn':'arn:aws:sns:*:111122223333:*'}}", "aws:SourceArn=arn:aws:sns:r:111122223333:t", false},
	{"{'ArnNotLike':{'aws:SourceArn':'arn:aws:sns:*:111122223333:*'}}", "", true},
	{"{'ArnNotEquals':{'aws:SourceArn':'arn:aws:sns:r:1:t'}}", "", true},
	{"{'ArnNotEquals':{'aws:SourceArn':'arn:aws:sns:r:1:t'}}", "aws:SourceArn=arn:aws:sns:r:1:t", false},
	/* Null */
	{"{'Null':{'ses:FromDisplayName':'true'}}", "", true},
	{"{'Null':{'ses:FromDisplayName':'true'}}", "ses:FromDisplayName=Jane", false},
	{"{'Null':{'ses:FromDisplayName':'false'}}", "ses:FromDisplayName=Jane", true},
	{"{'Null':{'ses:FromDisplayName':'false'}}", "", false},
	{"{'Null':{'ses:FromDisplayName':['true','false']}}", "", true},
	{"{'Null':{'ses:FromDisplayName':['true','false']}}", "ses:FromDisplayName=x", true},
	{"{'Null':{'ses:FromDisplayName':true}}", "", true},
	{"{'Null':{'ses:Recipients':'false'}}", "ses:Recipients=a@x.com|ses:Recipients=b@x.com", true},
	/* ForAllValues */
	{"{'ForAllValues:StringLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@example.com|ses:Recipients=b@example.com", true},
	{"{'ForAllValues:StringLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@example.com|ses:Recipients=b@evil.com", false},
	{"{'ForAllValues:StringLike':{'ses:Recipients':'*@example.com'}}", "", true},
	{"{'ForAllValues:StringLike':{'ses:Recipients':['*@a.com','*@b.com']}}",
	    "ses:Recipients=x@a.com|ses:Recipients=y@b.com", true},
	{"{'ForAllValues:StringEquals':{'ses:Recipients':'a@x.com'}}", "ses:Recipients=a@x.com", true},
	{"{'ForAllValues:StringNotLike':{'ses:Recipients':'*@evil.com'}}",
	    "ses:Recipients=a@ok.com|ses:Recipients=b@ok.com", true},
	{"{'ForAllValues:StringNotLike':{'ses:Recipients':'*@evil.com'}}",
	    "ses:Recipients=a@ok.com|ses:Recipients=b@evil.com", false},
	{"{'ForAllValues:StringEqualsIfExists':{'ses:Recipients':'a@x.com'}}", "", true},
	{"{'ForAllValues:StringEqualsIgnoreCase':{'ses:Recipients':'a@x.com'}}", "ses:Recipients=A@X.COM", true},
	{"{'ForAllValues:StringNotEquals':{'ses:Recipients':'a@x.com'}}", "", true},
	{"{'ForAllValues:NumericLessThan':{'ses:ApiVersion':'3'}}", "ses:ApiVersion=1|ses:ApiVersion=2", true},
	{"{'ForAllValues:NumericLessThan':{'ses:ApiVersion':'3'}}", "ses:ApiVersion=1|ses:ApiVersion=3", false},
	/* ForAnyValue */
	{"{'ForAnyValue:StringLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@evil.com|ses:Recipients=b@example.com", true},
	{"{'ForAnyValue:StringLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@evil.com|ses:Recipients=b@evil.com", false},
	{"{'ForAnyValue:StringLike':{'ses:Recipients':'*@example.com'}}", "", false},
	{"{'ForAnyValue:StringLikeIfExists':{'ses:Recipients':'*@example.com'}}", "", true},
	{"{'ForAnyValue:StringNotLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@example.com|ses:Recipients=b@evil.com", true},
	{"{'ForAnyValue:StringNotLike':{'ses:Recipients':'*@example.com'}}",
	    "ses:Recipients=a@example.com|ses:Recipients=b@example.com", false},
	{"{'ForAnyValue:StringNotEquals':{'ses:Recipients':'a@x.com'}}", "", false},
	{"{'ForAnyValue:IpAddress':{'aws:SourceIp':'10.0.0.0/8'}}", "aws:SourceIp=10.0.0.1", true},
	{"{'ForAnyValue:StringEquals':{'ses:Recipients':['a@x.com','b@x.com']}}", "ses:Recipients=c@x.com|ses:Recipients=b@x.com", true},
	/* a multi-valued key without a qualifier: any value matches */
	{"{'StringEquals':{'ses:Recipients':'a@x.com'}}", "ses:Recipients=a@x.com|ses:Recipients=b@x.com", true},
	{"{'StringNotEquals':{'ses:Recipients':'a@x.com'}}", "ses:Recipients=a@x.com|ses:Recipients=b@x.com", false},
	{"{'StringNotEquals':{'ses:Recipients':'c@x.com'}}", "ses:Recipients=a@x.com|ses:Recipients=b@x.com", true},
	/* AND across keys and operators */
	{"{'StringLike':{'ses:FromAddress':'*@example.com','ses:FeedbackAddress':'*@example.com'}}",
	    "ses:FromAddress=a@example.com|ses:FeedbackAddress=b@example.com", true},
	{"{'StringLike':{'ses:FromAddress':'*@example.com','ses:FeedbackAddress':'*@example.com'}}",
	    "ses:FromAddress=a@example.com|ses:FeedbackAddress=b@evil.com", false},
	{"{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'},'DateLessThan':{'aws:CurrentTime':'2018-10-01T12:00Z'}}",
	    "aws:CurrentTime=2018-09-10T08:00:00Z", true},
	{"{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'},'DateLessThan':{'aws:CurrentTime':'2018-10-01T12:00Z'}}",
	    "aws:CurrentTime=2018-10-10T08:00:00Z", false},
	{"{'StringEquals':{'ses:FromAddress':'a'},'Bool':{'aws:SecureTransport':'true'}}",
	    "ses:FromAddress=a|aws:SecureTransport=false", false},
	/* key case: policy name case-insensitive, context lookup case-insensitive */
	{"{'StringEquals':{'ses:fromaddress':'a'}}", "ses:FromAddress=a", true},
	{"{'StringEquals':{'ses:FromAddress':'a'}}", "SES:FROMADDRESS=a", true},
	{"{'StringEquals':{'aws:username':'jane'}}", "aws:username=jane", true},
	{"{'StringEquals':{'aws:userid':'AIDA1'}}", "aws:UserId=AIDA1", true},
	{"{'StringEquals':{'aws:PrincipalOrgID':'o-abc'}}", "aws:PrincipalOrgID=o-abc", true},
	{"{'StringEquals':{'aws:PrincipalOrgID':'o-abc'}}", "aws:PrincipalOrgID=o-def", false},
	{"{'StringEquals':{'aws:SourceAccount':'111122223333'}}", "aws:SourceAccount=111122223333", true},
	{"{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}", "aws:PrincipalAccount=444455556666", false},
	{"{'ArnEquals':{'aws:PrincipalArn':'" JANE1 "'}}", "aws:PrincipalArn=" JANE1, true},
	{"{'StringEquals':{'aws:PrincipalType':'User'}}", "aws:PrincipalType=User", true},
	{"{'StringLike':{'aws:UserAgent':'*boto3*'}}", "aws:UserAgent=Boto3/1.0", false},
	{"{'StringLike':{'aws:UserAgent':'*boto3*'}}", "aws:UserAgent=aws-cli boto3/1.2", true},
	{"{'StringEquals':{'ses:ApiVersion':'1'}}", "ses:ApiVersion=2", false},
};

static void
test_conditions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cond_cases) / sizeof(cond_cases[0]); i++) {
		const struct cond_case *c = &cond_cases[i];
		char doc[4096];
		snprintf(doc, sizeof(doc),
		    "{'Version':'2012-10-17','Statement':[{'Sid':'S','Effect':'Allow','Principal':'*',"
		    "'Action':'ses:SendEmail','Resource':'*','Condition':%s}]}", c->cond);
		struct policy *p = compile_or_die(doc, POLICY_RESOURCE, i);
		struct policy_ctx *ctx = policy_ctx_new();
		fill_ctx(ctx, c->ctx);
		struct policy_request r = {ROOT1, "ses:SendEmail", RES, ctx};
		struct policy_result res;
		const struct policy *set[1] = {p};
		enum policy_decision d = policy_evaluate(set, 1, &r, &res);
		if ((d == POLICY_ALLOWED) != c->allow) {
			print_error("cond row %zu: %s with {%s}: got %s, want %s\n", i, c->cond, c->ctx,
			    policy_decision_name(d), c->allow ? "allowed" : "implicitDeny");
			fail();
		}
		if (c->allow) {
			assert_int_equal(res.nmatched, 1);
			assert_string_equal(res.matched[0].sid, "S");
		} else {
			assert_int_equal(res.nmatched, 0);
		}
		/* the same condition on a Deny statement denies exactly when Allow allowed */
		snprintf(doc, sizeof(doc),
		    "{'Statement':[{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:*',"
		    "'Resource':'*','Condition':%s},{'Sid':'A','Effect':'Allow','Principal':'*',"
		    "'Action':'*','Resource':'*'}]}", c->cond);
		struct policy *q = compile_or_die(doc, POLICY_RESOURCE, i);
		set[0] = q;
		d = policy_evaluate(set, 1, &r, &res);
		assert_int_equal(d, c->allow ? POLICY_EXPLICIT_DENY : POLICY_ALLOWED);
		assert_string_equal(res.matched[0].sid, c->allow ? "D" : "A");
		policy_free(q);
		policy_free(p);
		policy_ctx_free(ctx);
		ncases++;
	}
}

/* ------------------------------------------------------------------ */
/* Whole evaluations: policies, principal, action, resource, context.  */

struct eval_case {
	const char *name;
	const char *docs[3];
	const char *principal;
	const char *action;
	const char *resource;
	const char *ctx;
	enum policy_decision want;
	const char *sids; /* comma-separated, in order */
};

#define ALLOW_P(pr) \
	"{'Statement':{'Sid':'A','Effect':'Allow','Principal':" pr ",'Action':'ses:SendEmail','Resource':'" RES "'}}"
#define ALLOW_NP(pr) \
	"{'Statement':{'Sid':'A','Effect':'Allow','NotPrincipal':" pr ",'Action':'ses:SendEmail','Resource':'" RES "'}}"
#define ALLOW_ACT(act) \
	"{'Statement':{'Sid':'A','Effect':'Allow','Principal':'*','Action':" act ",'Resource':'" RES "'}}"
#define ALLOW_NACT(act) \
	"{'Statement':{'Sid':'A','Effect':'Allow','Principal':'*','NotAction':" act ",'Resource':'" RES "'}}"
#define ALLOW_RES(res) \
	"{'Statement':{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':" res "}}"
#define ALLOW_NRES(res) \
	"{'Statement':{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:SendEmail','NotResource':" res "}}"

/* SES Developer Guide, sending-authorization-policy-examples */
#define DG_MARKETER                                                                                \
	"{'Id':'SampleAuthorizationPolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeMarketer'," \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['123456789012']},'Action':['ses:SendEmail','ses:SendRawEmail'],"          \
	"'Condition':{'StringLike':{'ses:FromAddress':'marketing+.*@example.com'}}}]}"
#define DG_IAMUSER                                                                                 \
	"{'Id':'ExampleAuthorizationPolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeIAMUser'," \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['arn:aws:iam::111122223333:user/John','arn:aws:iam::444455556666:user/Jane']}," \
	"'Action':['ses:SendEmail','ses:SendRawEmail']}]}"
#define DG_SERVICE                                                                                 \
	"{'Id':'ExampleAuthorizationPolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeService'," \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'Service':['cognito-idp.amazonaws.com']},'Action':['ses:SendEmail','ses:SendRawEmail']}]}"
#define DG_ORG                                                                                     \
	"{'Id':'ExampleAuthorizationPolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeOrg',"  \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':'*','Action':['ses:SendEmail','ses:SendRawEmail'],"                               \
	"'Condition':{'StringEquals':{'aws:PrincipalOrgID':'o-xxxxxxxxxxx'}}}]}"
#define DG_FROM                                                                                    \
	"{'Id':'ExamplePolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeFromAddress',"      \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['123456789012']},'Action':['ses:SendEmail','ses:SendRawEmail'],"          \
	"'Condition':{'StringEquals':{'ses:FromAddress':'sender@example.com'}}}]}"
#define DG_TIME                                                                                    \
	"{'Id':'ExamplePolicy','Version':'2012-10-17','Statement':[{'Sid':'ControlTimePeriod',"         \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['123456789012']},'Action':['ses:SendEmail','ses:SendRawEmail'],"          \
	"'Condition':{'DateGreaterThan':{'aws:CurrentTime':'2018-08-31T12:00Z'},"                     \
	"'DateLessThan':{'aws:CurrentTime':'2018-10-01T12:00Z'}}}]}"
#define DG_ACTION                                                                                  \
	"{'Id':'ExamplePolicy','Version':'2012-10-17','Statement':[{'Sid':'ControlAction',"             \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['123456789012']},'Action':['ses:SendRawEmail']}]}"
#define DG_DISPLAY                                                                                 \
	"{'Id':'ExamplePolicy','Version':'2012-10-17','Statement':[{'Sid':'AuthorizeFromAddress',"      \
	"'Effect':'Allow','Resource':'arn:aws:ses:us-east-1:888888888888:identity/example.com',"     \
	"'Principal':{'AWS':['123456789012']},'Action':['ses:SendEmail','ses:SendRawEmail'],"          \
	"'Condition':{'StringLike':{'ses:FromDisplayName':'Marketing'}}}]}"
#define DG_MULTI_RES "arn:aws:ses:us-east-1:999999999999:identity/sender@example.com"
#define DG_MULTI                                                                                   \
	"{'Version':'2012-10-17','Statement':[{'Sid':'AuthorizeAWS','Effect':'Allow',"                  \
	"'Resource':'" DG_MULTI_RES "','Principal':{'AWS':['111111111111','222222222222']},"          \
	"'Action':['ses:SendEmail','ses:SendRawEmail'],'Condition':{'StringLike':{"                    \
	"'ses:FromAddress':'*@example.com','ses:FeedbackAddress':'*@example.com'}}},"                  \
	"{'Sid':'AuthorizeInternal','Effect':'Allow','Resource':'" DG_MULTI_RES "',"                   \
	"'Principal':{'AWS':'arn:aws:iam::333333333333:user/Jane'},"                                   \
	"'Action':['ses:SendEmail','ses:SendRawEmail'],"                                               \
	"'Condition':{'ForAllValues:StringLike':{'ses:Recipients':'*@example.com'}}}]}"
/* Cognito's documented policy: a Service principal pinned by SourceAccount and SourceArn */
#define DG_COGNITO                                                                                 \
	"{'Version':'2012-10-17','Statement':[{'Sid':'stmnt1234567891234','Effect':'Allow',"            \
	"'Principal':{'Service':['email.cognito-idp.amazonaws.com','cognito-idp.amazonaws.com']},"   \
	"'Action':['SES:SendEmail','SES:SendRawEmail'],'Resource':'" RES "',"                          \
	"'Condition':{'StringEquals':{'aws:SourceAccount':'111122223333'},"                           \
	"'ArnLike':{'aws:SourceArn':'arn:aws:cognito-idp:us-east-1:111122223333:userpool/*'}}}]}"
#define DG_SOURCEIP                                                                                \
	"{'Version':'2012-10-17','Statement':[{'Sid':'AllowFromOffice','Effect':'Allow',"               \
	"'Principal':{'AWS':'123456789012'},'Action':'ses:Send*','Resource':'" RES "',"                \
	"'Condition':{'IpAddress':{'aws:SourceIp':['203.0.113.0/24','2001:db8::/32']}}}]}"

#define POOL "aws:SourceArn=arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_ab"

static const struct eval_case eval_cases[] = {
	/* principal forms */
	{"acct matches root", {ALLOW_P("{'AWS':'111122223333'}")}, ROOT1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"acct matches user", {ALLOW_P("{'AWS':'111122223333'}")}, JANE1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"acct matches bare id", {ALLOW_P("{'AWS':'111122223333'}")}, "111122223333", "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"acct other account", {ALLOW_P("{'AWS':'111122223333'}")}, ROOT4, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"acct not a service", {ALLOW_P("{'AWS':'111122223333'}")}, SVC, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"root arn matches user", {ALLOW_P("{'AWS':'" ROOT1 "'}")}, JANE1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"root arn matches bare", {ALLOW_P("{'AWS':'" ROOT1 "'}")}, "111122223333", "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"user arn matches user", {ALLOW_P("{'AWS':'" JANE1 "'}")}, JANE1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"user arn not other user", {ALLOW_P("{'AWS':'" JANE1 "'}")}, JOHN1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"user arn not root", {ALLOW_P("{'AWS':'" JANE1 "'}")}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"user path exact", {ALLOW_P("{'AWS':'arn:aws:iam::111122223333:user/eng/Jane'}")},
	    "arn:aws:iam::111122223333:user/eng/Jane", "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"user path differs", {ALLOW_P("{'AWS':'arn:aws:iam::111122223333:user/eng/Jane'}")}, JANE1, "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"star any service", {ALLOW_P("'*'")}, SVC, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"star any account", {ALLOW_P("'*'")}, ROOT4, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"aws star", {ALLOW_P("{'AWS':'*'}")}, JOHN1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"service match", {ALLOW_P("{'Service':'" SVC "'}")}, SVC, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"service case", {ALLOW_P("{'Service':'" SVC "'}")}, "Notifications.Example.Internal", "ses:SendEmail", RES, "",
	    POLICY_ALLOWED, "A"},
	{"service other", {ALLOW_P("{'Service':'" SVC "'}")}, "billing.example.internal", "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"service not account", {ALLOW_P("{'Service':'" SVC "'}")}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"mixed list", {ALLOW_P("{'AWS':['444455556666','" JANE1 "'],'Service':'" SVC "'}")}, ROOT4, "ses:SendEmail", RES, "",
	    POLICY_ALLOWED, "A"},
	{"mixed list user", {ALLOW_P("{'AWS':['444455556666','" JANE1 "'],'Service':'" SVC "'}")}, JOHN1, "ses:SendEmail",
	    RES, "", POLICY_IMPLICIT_DENY, ""},
	{"garbage principal only star", {ALLOW_P("{'AWS':'111122223333'}")}, "nobody", "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"NotPrincipal other", {ALLOW_NP("{'AWS':'111122223333'}")}, ROOT4, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"NotPrincipal same acct user", {ALLOW_NP("{'AWS':'111122223333'}")}, JANE1, "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"NotPrincipal deny excludes Jane",
	    {"{'Statement':[{'Sid':'D','Effect':'Deny','NotPrincipal':{'AWS':'" JANE1 "'},'Action':'ses:*','Resource':'*'},"
	     "{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}]}"},
	    JANE1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"NotPrincipal deny hits John",
	    {"{'Statement':[{'Sid':'D','Effect':'Deny','NotPrincipal':{'AWS':'" JANE1 "'},'Action':'ses:*','Resource':'*'},"
	     "{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}]}"},
	    JOHN1, "ses:SendEmail", RES, "", POLICY_EXPLICIT_DENY, "D"},
	/* actions */
	{"send star raw", {ALLOW_ACT("'ses:Send*'")}, ROOT1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "A"},
	{"send star other", {ALLOW_ACT("'ses:Send*'")}, ROOT1, "ses:VerifyEmailIdentity", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"action case", {ALLOW_ACT("'SES:SendEmail'")}, ROOT1, "ses:sendemail", RES, "", POLICY_ALLOWED, "A"},
	{"action case 2", {ALLOW_ACT("'ses:sendemail'")}, ROOT1, "SES:SENDEMAIL", RES, "", POLICY_ALLOWED, "A"},
	{"action mid star", {ALLOW_ACT("'ses:Send*Email'")}, ROOT1, "ses:SendTemplatedEmail", RES, "", POLICY_ALLOWED, "A"},
	{"action mid star miss", {ALLOW_ACT("'ses:Send*Email'")}, ROOT1, "ses:SendBounce", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"action question", {ALLOW_ACT("'ses:Send???Email'")}, ROOT1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "A"},
	{"action question miss", {ALLOW_ACT("'ses:Send???Email'")}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"action star", {ALLOW_ACT("'*'")}, ROOT1, "ses:SendBulkTemplatedEmail", RES, "", POLICY_ALLOWED, "A"},
	{"action list", {ALLOW_ACT("['ses:SendEmail','ses:SendRawEmail']")}, ROOT1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "A"},
	{"action prefix only", {ALLOW_ACT("'ses:Send'")}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"NotAction other", {ALLOW_NACT("'ses:SendRawEmail'")}, ROOT1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"NotAction same", {ALLOW_NACT("'ses:SendRawEmail'")}, ROOT1, "ses:SendRawEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"NotAction wildcard", {ALLOW_NACT("'ses:Send*'")}, ROOT1, "ses:SendRawEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	/* resources */
	{"resource other", {ALLOW_RES("'arn:aws:ses:us-east-1:888888888888:identity/other.com'")}, ROOT1, "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"resource wildcard", {ALLOW_RES("'arn:aws:ses:us-east-1:888888888888:identity/*'")}, ROOT1, "ses:SendEmail", RES, "",
	    POLICY_ALLOWED, "A"},
	{"resource region wildcard", {ALLOW_RES("'arn:aws:ses:*:888888888888:identity/example.com'")}, ROOT1, "ses:SendEmail",
	    RES, "", POLICY_ALLOWED, "A"},
	{"resource case", {ALLOW_RES("'arn:aws:ses:us-east-1:888888888888:identity/Example.com'")}, ROOT1, "ses:SendEmail", RES,
	    "", POLICY_IMPLICIT_DENY, ""},
	{"NotResource other", {ALLOW_NRES("'arn:aws:ses:us-east-1:888888888888:identity/secret.com'")}, ROOT1,
	    "ses:SendEmail", RES, "", POLICY_ALLOWED, "A"},
	{"NotResource same", {ALLOW_NRES("'" RES "'")}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	/* deny over allow, ordering, sids */
	{"deny wins",
	    {"{'Statement':[{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'},"
	     "{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:SendEmail','Resource':'*'}]}"},
	    ROOT1, "ses:SendEmail", RES, "", POLICY_EXPLICIT_DENY, "D"},
	{"deny other action",
	    {"{'Statement':[{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'},"
	     "{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:SendEmail','Resource':'*'}]}"},
	    ROOT1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "A"},
	{"two allows listed",
	    {"{'Statement':[{'Sid':'A1','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'},"
	     "{'Sid':'A2','Effect':'Allow','Principal':{'AWS':'111122223333'},'Action':'ses:SendEmail','Resource':'*'}]}"},
	    ROOT1, "ses:SendEmail", RES, "", POLICY_ALLOWED, "A1,A2"},
	{"deny across policies", {ALLOW_P("'*'"),
	    "{'Statement':{'Sid':'D','Effect':'Deny','Principal':{'AWS':'111122223333'},'Action':'ses:*','Resource':'*'}}"},
	    JANE1, "ses:SendEmail", RES, "", POLICY_EXPLICIT_DENY, "D"},
	{"two denies listed",
	    {"{'Statement':[{'Sid':'D1','Effect':'Deny','Principal':'*','Action':'ses:*','Resource':'*'},"
	     "{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}]}",
	     "{'Statement':{'Sid':'D2','Effect':'Deny','Principal':'*','Action':'*','Resource':'*'}}"},
	    ROOT1, "ses:SendEmail", RES, "", POLICY_EXPLICIT_DENY, "D1,D2"},
	{"deny condition unmet",
	    {"{'Statement':[{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:*','Resource':'*',"
	     "'Condition':{'Bool':{'aws:SecureTransport':'false'}}},"
	     "{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}]}"},
	    ROOT1, "ses:SendEmail", RES, "aws:SecureTransport=true", POLICY_ALLOWED, "A"},
	{"deny condition met",
	    {"{'Statement':[{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:*','Resource':'*',"
	     "'Condition':{'Bool':{'aws:SecureTransport':'false'}}},"
	     "{'Sid':'A','Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}]}"},
	    ROOT1, "ses:SendEmail", RES, "aws:SecureTransport=false", POLICY_EXPLICIT_DENY, "D"},
	{"no sid is empty",
	    {"{'Statement':{'Effect':'Allow','Principal':'*','Action':'ses:*','Resource':'*'}}"},
	    ROOT1, "ses:SendEmail", RES, "", POLICY_ALLOWED, ""},
	{"empty set", {NULL}, ROOT1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	/* identity (IAM user) policies: no principal, applies to its holder */
	{"identity allow", {"{'Version':'2012-10-17','Statement':{'Sid':'U','Effect':'Allow','Action':'ses:SendRawEmail','Resource':'*'}}"},
	    JANE1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "U"},
	{"identity other action", {"{'Statement':{'Sid':'U','Effect':'Allow','Action':'ses:SendRawEmail','Resource':'*'}}"},
	    JANE1, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"identity + resource deny",
	    {"{'Statement':{'Sid':'U','Effect':'Allow','Action':'ses:*','Resource':'*'}}",
	     "{'Statement':{'Sid':'D','Effect':'Deny','Principal':'*','Action':'ses:*','Resource':'" RES "'}}"},
	    JANE1, "ses:SendEmail", RES, "", POLICY_EXPLICIT_DENY, "D"},
	/* the SES Developer Guide's examples */
	{"DG marketer literal .*", {DG_MARKETER}, "arn:aws:iam::123456789012:root", "ses:SendEmail", RES,
	    "ses:FromAddress=marketing+.q3@example.com", POLICY_ALLOWED, "AuthorizeMarketer"},
	{"DG marketer no dot", {DG_MARKETER}, "123456789012", "ses:SendRawEmail", RES,
	    "ses:FromAddress=marketing+q3@example.com", POLICY_IMPLICIT_DENY, ""},
	{"DG marketer other acct", {DG_MARKETER}, ROOT1, "ses:SendEmail", RES,
	    "ses:FromAddress=marketing+.q3@example.com", POLICY_IMPLICIT_DENY, ""},
	{"DG IAM users Jane", {DG_IAMUSER}, "arn:aws:iam::444455556666:user/Jane", "ses:SendEmail", RES, "", POLICY_ALLOWED,
	    "AuthorizeIAMUser"},
	{"DG IAM users John", {DG_IAMUSER}, JOHN1, "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "AuthorizeIAMUser"},
	{"DG IAM users root", {DG_IAMUSER}, ROOT4, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"DG IAM users other", {DG_IAMUSER}, "arn:aws:iam::444455556666:user/John", "ses:SendEmail", RES, "",
	    POLICY_IMPLICIT_DENY, ""},
	{"DG service", {DG_SERVICE}, "cognito-idp.amazonaws.com", "ses:SendEmail", RES, "", POLICY_ALLOWED, "AuthorizeService"},
	{"DG service other", {DG_SERVICE}, SVC, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"DG org in", {DG_ORG}, ROOT4, "ses:SendEmail", RES, "aws:PrincipalOrgID=o-xxxxxxxxxxx", POLICY_ALLOWED, "AuthorizeOrg"},
	{"DG org out", {DG_ORG}, ROOT4, "ses:SendEmail", RES, "aws:PrincipalOrgID=o-yyyyyyyyyyy", POLICY_IMPLICIT_DENY, ""},
	{"DG org absent", {DG_ORG}, ROOT4, "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"DG from ok", {DG_FROM}, "123456789012", "ses:SendEmail", RES, "ses:FromAddress=sender@example.com", POLICY_ALLOWED,
	    "AuthorizeFromAddress"},
	{"DG from other", {DG_FROM}, "123456789012", "ses:SendEmail", RES, "ses:FromAddress=boss@example.com",
	    POLICY_IMPLICIT_DENY, ""},
	{"DG time inside", {DG_TIME}, "123456789012", "ses:SendEmail", RES, "aws:CurrentTime=2018-09-15T09:30:00Z",
	    POLICY_ALLOWED, "ControlTimePeriod"},
	{"DG time before", {DG_TIME}, "123456789012", "ses:SendEmail", RES, "aws:CurrentTime=2018-08-31T11:00:00Z",
	    POLICY_IMPLICIT_DENY, ""},
	{"DG time after", {DG_TIME}, "123456789012", "ses:SendEmail", RES, "aws:CurrentTime=2018-10-01T12:00:01Z",
	    POLICY_IMPLICIT_DENY, ""},
	{"DG time absent", {DG_TIME}, "123456789012", "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"DG action raw", {DG_ACTION}, "123456789012", "ses:SendRawEmail", RES, "", POLICY_ALLOWED, "ControlAction"},
	{"DG action send", {DG_ACTION}, "123456789012", "ses:SendEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
	{"DG display exact", {DG_DISPLAY}, "123456789012", "ses:SendEmail", RES, "ses:FromDisplayName=Marketing",
	    POLICY_ALLOWED, "AuthorizeFromAddress"},
	{"DG display longer", {DG_DISPLAY}, "123456789012", "ses:SendEmail", RES, "ses:FromDisplayName=Marketing Team",
	    POLICY_IMPLICIT_DENY, ""},
	{"DG multi AWS ok", {DG_MULTI}, "222222222222", "ses:SendEmail", DG_MULTI_RES,
	    "ses:FromAddress=sender@example.com|ses:FeedbackAddress=bounce@example.com", POLICY_ALLOWED, "AuthorizeAWS"},
	{"DG multi AWS feedback", {DG_MULTI}, "111111111111", "ses:SendEmail", DG_MULTI_RES,
	    "ses:FromAddress=sender@example.com|ses:FeedbackAddress=bounce@other.com", POLICY_IMPLICIT_DENY, ""},
	{"DG multi Jane internal", {DG_MULTI}, "arn:aws:iam::333333333333:user/Jane", "ses:SendRawEmail", DG_MULTI_RES,
	    "ses:Recipients=a@example.com|ses:Recipients=b@example.com", POLICY_ALLOWED, "AuthorizeInternal"},
	{"DG multi Jane external", {DG_MULTI}, "arn:aws:iam::333333333333:user/Jane", "ses:SendRawEmail", DG_MULTI_RES,
	    "ses:Recipients=a@example.com|ses:Recipients=b@gmail.com", POLICY_IMPLICIT_DENY, ""},
	{"DG multi other resource", {DG_MULTI}, "111111111111", "ses:SendEmail", RES,
	    "ses:FromAddress=sender@example.com|ses:FeedbackAddress=bounce@example.com", POLICY_IMPLICIT_DENY, ""},
	{"DG cognito ok", {DG_COGNITO}, "email.cognito-idp.amazonaws.com", "ses:SendEmail", RES,
	    "aws:SourceAccount=111122223333|" POOL, POLICY_ALLOWED, "stmnt1234567891234"},
	{"DG cognito wrong account", {DG_COGNITO}, "email.cognito-idp.amazonaws.com", "ses:SendEmail", RES,
	    "aws:SourceAccount=999999999999|" POOL, POLICY_IMPLICIT_DENY, ""},
	{"DG cognito no arn", {DG_COGNITO}, "cognito-idp.amazonaws.com", "ses:SendEmail", RES,
	    "aws:SourceAccount=111122223333", POLICY_IMPLICIT_DENY, ""},
	{"DG cognito other service", {DG_COGNITO}, SVC, "ses:SendEmail", RES, "aws:SourceAccount=111122223333|" POOL,
	    POLICY_IMPLICIT_DENY, ""},
	{"source ip in v4", {DG_SOURCEIP}, "123456789012", "ses:SendRawEmail", RES, "aws:SourceIp=203.0.113.10",
	    POLICY_ALLOWED, "AllowFromOffice"},
	{"source ip in v6", {DG_SOURCEIP}, "123456789012", "ses:SendRawEmail", RES, "aws:SourceIp=2001:db8:1::5",
	    POLICY_ALLOWED, "AllowFromOffice"},
	{"source ip out", {DG_SOURCEIP}, "123456789012", "ses:SendRawEmail", RES, "aws:SourceIp=198.51.100.1",
	    POLICY_IMPLICIT_DENY, ""},
	{"source ip absent", {DG_SOURCEIP}, "123456789012", "ses:SendRawEmail", RES, "", POLICY_IMPLICIT_DENY, ""},
};

static void
test_evaluate(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		const struct eval_case *c = &eval_cases[i];
		struct policy *set[3] = {0};
		size_t n = 0;
		for (; n < 3 && c->docs[n] != NULL; n++)
			set[n] = compile_or_die(c->docs[n], POLICY_AUTO, i);
		struct policy_ctx *ctx = policy_ctx_new();
		fill_ctx(ctx, c->ctx);
		struct policy_request r = {c->principal, c->action, c->resource, ctx};
		struct policy_result res;
		enum policy_decision d = policy_evaluate((const struct policy *const *)set, n, &r, &res);
		char got[512] = "";
		for (size_t k = 0; k < res.nmatched; k++) {
			if (k)
				strncat(got, ",", sizeof(got) - strlen(got) - 1);
			strncat(got, res.matched[k].sid, sizeof(got) - strlen(got) - 1);
		}
		if (d != c->want || strcmp(got, c->sids) != 0 || res.total != res.nmatched) {
			print_error("eval row %zu (%s): got %s [%s], want %s [%s]\n", i, c->name,
			    policy_decision_name(d), got, policy_decision_name(c->want), c->sids);
			fail();
		}
		assert_int_equal(res.decision, d);
		for (size_t k = 0; k < n; k++)
			policy_free(set[k]);
		policy_ctx_free(ctx);
		ncases++;
	}
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

struct valid_case {
	const char *doc;
	enum policy_mode mode;
	const char *msg; /* NULL = valid; else the exact message (prefix when it ends in '~') */
};

#define R POLICY_RESOURCE
#define I POLICY_IDENTITY
#define STMT(body) "{'Version':'2012-10-17','Statement':[{" body "}]}"
#define OKSTMT(extra) \
	STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'" RES "'" extra)
#define COND(c) OKSTMT(",'Condition':" c)

static const struct valid_case valid_cases[] = {
	{DG_MARKETER, R, NULL}, {DG_IAMUSER, R, NULL}, {DG_SERVICE, R, NULL}, {DG_ORG, R, NULL},
	{DG_FROM, R, NULL}, {DG_TIME, R, NULL}, {DG_ACTION, R, NULL}, {DG_DISPLAY, R, NULL},
	{DG_MULTI, R, NULL}, {DG_COGNITO, R, NULL}, {DG_SOURCEIP, R, NULL},
	{"{'Version':'2008-10-17','Statement':{'Effect':'Allow','Principal':{'AWS':'" ROOT1 "'},'Action':'ses:SendEmail','Resource':'" RES "'}}", R, NULL},
	/* condition key rule as SES applies it */
	{COND("{'StringEquals':{'AWS:SourceAccount':'111122223333'}}"), R,
	    "Unknown or unapplicable condition field 'AWS:SourceAccount'."},
	{COND("{'StringEquals':{'aws:SourceAccount':'111122223333'}}"), R, NULL},
	{COND("{'StringEquals':{'aws:sourceaccount':'111122223333'}}"), R, NULL},
	{COND("{'StringEquals':{'Ses:FromAddress':'a'}}"), R, "Unknown or unapplicable condition field 'Ses:FromAddress'."},
	{COND("{'StringEquals':{'ses:SourceIp':'a'}}"), R, "Unknown or unapplicable condition field 'ses:SourceIp'."},
	{COND("{'StringEquals':{'ses:Unknown':'a'}}"), R, "Unknown or unapplicable condition field 'ses:Unknown'."},
	{COND("{'StringEquals':{'aws:RequestedRegion':'us-east-1'}}"), R,
	    "Unknown or unapplicable condition field 'aws:RequestedRegion'."},
	{COND("{'StringEquals':{'FromAddress':'a'}}"), R, "Unknown or unapplicable condition field 'FromAddress'."},
	{STMT("'Effect':'Allow','Action':'ses:SendEmail','Resource':'*','Condition':{'StringEquals':{'aws:RequestedRegion':'us-east-1'}}"), I, NULL},
	{STMT("'Effect':'Allow','Action':'ses:SendEmail','Resource':'*','Condition':{'StringEquals':{'norprefix':'x'}}"), I,
	    "Unknown or unapplicable condition field 'norprefix'."},
	/* JSON shape */
	{"{", R, "Policy has invalid JSON: ~"},
	{"{'Statement':[]} x", R, "Policy has invalid JSON: ~"},
	{"[]", R, "Policy document must be a JSON object."},
	{"", R, "Policy document is empty."},
	{"{'Id':'\xff','Statement':[]}", R, "Policy document is not valid UTF-8."},
	{"{'Id':'\xc0\x80','Statement':[]}", R, "Policy document is not valid UTF-8."},
	{"{'Id':'\xed\xa0\x80','Statement':[]}", R, "Policy document is not valid UTF-8."},
	{"{'Id':'a\\u0000b'," "'Statement':[]}", R, "Policy has invalid JSON: ~"},
	{"{'Id':'a','Id':'b','Statement':[]}", R, "Policy has invalid JSON: ~"},
	{"{'Foo':1,'Statement':[]}", R, "Unknown field 'Foo' in policy."},
	{"{'version':'2012-10-17','Statement':[]}", R, "Unknown field 'version' in policy."},
	{"{'Version':'2020-01-01','Statement':[]}", R, "Invalid policy version '2020-01-01': use 2012-10-17 or 2008-10-17."},
	{"{'Version':1,'Statement':[]}", R, "Invalid policy version '(not a string)': use 2012-10-17 or 2008-10-17."},
	{"{'Id':5,'Statement':[]}", R, "Id must be a string of at most 1024 characters."},
	{"{'Version':'2012-10-17'}", R, "Missing required field Statement."},
	{"{'Statement':[]}", R, "Policy must contain at least one statement."},
	{"{'Statement':'x'}", R, "Statement must be an object or a list of objects."},
	{"{'Statement':[1]}", R, "Each statement must be a JSON object."},
	{"{'Statement':{'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'*'}}", R, NULL},
	/* statement elements */
	{STMT("'Principal':'*','Action':'ses:SendEmail','Resource':'*'"), R, "Missing required field Effect."},
	{STMT("'Effect':'allow','Principal':'*','Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid effect 'allow': Effect must be Allow or Deny."},
	{STMT("'Effect':true,'Principal':'*','Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid effect '(not a string)': Effect must be Allow or Deny."},
	{STMT("'Effect':'Allow','Action':'ses:SendEmail','Resource':'*'"), R, "Missing required field Principal."},
	{STMT("'Effect':'Allow','Principal':'*','NotPrincipal':'*','Action':'ses:SendEmail','Resource':'*'"), R,
	    "Statement cannot contain both Principal and NotPrincipal."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'*'"), I,
	    "Policy document should not specify a principal."},
	{STMT("'Effect':'Allow','NotPrincipal':{'AWS':'111122223333'},'Action':'ses:SendEmail','Resource':'*'"), I,
	    "Policy document should not specify a principal."},
	{STMT("'Effect':'Allow','Principal':'foo','Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: Principal must be \"*\" or an object."},
	{STMT("'Effect':'Allow','Principal':{},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: Principal must be \"*\" or an object."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'12345'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"AWS\":\"12345\"."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:group/x'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:group/x\"."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::11112222333:root'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"AWS\":\"arn:aws:iam::11112222333:root\"."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:user/'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:user/\"."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:user/a*'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:user/a*\"."},
	{STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:role/app'},'Action':'ses:SendEmail','Resource':'*'"), R, NULL},
	{STMT("'Effect':'Allow','Principal':{'AWS':[]},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Principal AWS must not be an empty list."},
	{STMT("'Effect':'Allow','Principal':{'AWS':5},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Principal AWS must be a string or a list of strings."},
	{STMT("'Effect':'Allow','Principal':{'Federated':'x'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: unsupported principal type 'Federated'."},
	{STMT("'Effect':'Allow','Principal':{'Service':'nodot'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"Service\":\"nodot\"."},
	{STMT("'Effect':'Allow','Principal':{'Service':'a b.com'},'Action':'ses:SendEmail','Resource':'*'"), R,
	    "Invalid principal in policy: \"Service\":\"a b.com\"."},
	{STMT("'Effect':'Allow','Principal':'*','Resource':'*'"), R, "Missing required field Action."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','NotAction':'ses:SendRawEmail','Resource':'*'"), R,
	    "Statement cannot contain both Action and NotAction."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'*'"), R,
	    "Invalid action 's3:GetObject': actions must be ses:<Action> (wildcards allowed) or *."},
	{STMT("'Effect':'Allow','Action':'s3:GetObject','Resource':'*'"), I, NULL},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses','Resource':'*'"), R,
	    "Invalid action 'ses': actions must be ses:<Action> (wildcards allowed) or *."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:Send Email','Resource':'*'"), R,
	    "Invalid action 'ses:Send Email': actions must be ses:<Action> (wildcards allowed) or *."},
	{STMT("'Effect':'Allow','Principal':'*','Action':[],'Resource':'*'"), R, "Action must not be an empty list."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'SES:Send*','Resource':'*'"), R, NULL},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail'"), R, "Missing required field Resource."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'*','NotResource':'*'"), R,
	    "Statement cannot contain both Resource and NotResource."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'arn:aws:s3:::bucket'"), R,
	    "Invalid resource 'arn:aws:s3:::bucket': the resource must be an SES identity ARN (arn:aws:ses:<region>:<account>:identity/<identity>)."},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'arn:aws:ses:us-east-1:888888888888:configuration-set/x'"), R,
	    "Invalid resource 'arn:aws:ses:us-east-1:888888888888:configuration-set/x': ~"},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'arn:aws:ses:us-east-1:888888888888:identity/'"), R,
	    "Invalid resource ~"},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'arn:aws:ses:*:*:identity/*'"), R, NULL},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':'arn:aws:ses:*:*:*'"), R, NULL},
	{STMT("'Effect':'Allow','Principal':'*','Action':'ses:SendEmail','Resource':''"), R,
	    "Invalid resource '': resources must not be empty."},
	{STMT("'Effect':'Allow','Action':'ses:SendEmail','Resource':'arn:aws:s3:::bucket'"), I, NULL},
	{OKSTMT(",'Effects':'Allow'"), R, "Unknown field 'Effects' in statement."},
	{OKSTMT(",'Sid':5"), R, "Sid must be a string."},
	/* conditions */
	{COND("'x'"), R, "Condition must be an object."},
	{COND("{'StringEquals':{}}"), R, "Condition operator 'StringEquals' must map condition keys to values."},
	{COND("{'StringEqual':{'ses:FromAddress':'a'}}"), R, "Invalid condition operator 'StringEqual'."},
	{COND("{'stringequals':{'ses:FromAddress':'a'}}"), R, "Invalid condition operator 'stringequals'."},
	{COND("{'ForEachValue:StringLike':{'ses:FromAddress':'a'}}"), R, "Invalid condition operator 'ForEachValue:StringLike'."},
	{COND("{'ForAllValues:StringLike':{'ses:Recipients':'a'}}"), R, NULL},
	{COND("{'ForAnyValue:StringNotEqualsIgnoreCaseIfExists':{'ses:Recipients':'a'}}"), R, NULL},
	{COND("{'IfExists':{'ses:Recipients':'a'}}"), R, "Invalid condition operator 'IfExists'."},
	{COND("{'NullIfExists':{'ses:FromAddress':'true'}}"), R,
	    "Invalid condition operator 'NullIfExists': Null takes neither IfExists nor ForAllValues/ForAnyValue."},
	{COND("{'ForAnyValue:Null':{'ses:FromAddress':'true'}}"), R,
	    "Invalid condition operator 'ForAnyValue:Null': Null takes neither IfExists nor ForAllValues/ForAnyValue."},
	{COND("{'NumericEquals':{'ses:ApiVersion':'abc'}}"), R, "Invalid numeric value 'abc' for condition key 'ses:ApiVersion'."},
	{COND("{'NumericEquals':{'ses:ApiVersion':'0x10'}}"), R, "Invalid numeric value '0x10' for condition key 'ses:ApiVersion'."},
	{COND("{'NumericEquals':{'ses:ApiVersion':'1.'}}"), R, "Invalid numeric value '1.' for condition key 'ses:ApiVersion'."},
	{COND("{'NumericEquals':{'ses:ApiVersion':'nan'}}"), R, "Invalid numeric value 'nan' for condition key 'ses:ApiVersion'."},
	{COND("{'DateLessThan':{'aws:CurrentTime':'2020-13-01'}}"), R,
	    "Invalid date value '2020-13-01' for condition key 'aws:CurrentTime': use ISO 8601 (2018-08-31T12:00:00Z) or epoch seconds."},
	{COND("{'DateLessThan':{'aws:CurrentTime':'2019-02-29'}}"), R, "Invalid date value '2019-02-29' ~"},
	{COND("{'DateLessThan':{'aws:CurrentTime':'2020-02-29'}}"), R, NULL},
	{COND("{'DateLessThan':{'aws:CurrentTime':'2020-01-01T25:00:00Z'}}"), R, "Invalid date value ~"},
	{COND("{'DateLessThan':{'aws:CurrentTime':'yesterday'}}"), R, "Invalid date value ~"},
	{COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/33'}}"), R, "Invalid IP address or CIDR '10.0.0.0/33' for condition key 'aws:SourceIp'."},
	{COND("{'IpAddress':{'aws:SourceIp':'300.1.1.1'}}"), R, "Invalid IP address or CIDR '300.1.1.1' ~"},
	{COND("{'IpAddress':{'aws:SourceIp':'2001:db8::/129'}}"), R, "Invalid IP address or CIDR ~"},
	{COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/'}}"), R, "Invalid IP address or CIDR ~"},
	{COND("{'NotIpAddress':{'aws:SourceIp':'2001:db8::/128'}}"), R, NULL},
	{COND("{'Bool':{'aws:SecureTransport':'yes'}}"), R,
	    "Invalid Bool value 'yes' for condition key 'aws:SecureTransport': use true or false."},
	{COND("{'Null':{'ses:FromAddress':'maybe'}}"), R, "Invalid Null value 'maybe' ~"},
	{COND("{'BinaryEquals':{'ses:FromAddress':'!!!'}}"), R, "Invalid base64 value '!!!' for condition key 'ses:FromAddress'."},
	{COND("{'StringEquals':{'ses:FromAddress':[]}}"), R, "Condition key 'ses:FromAddress' must not be an empty list."},
	{COND("{'StringEquals':{'ses:FromAddress':{}}}"), R,
	    "Condition key 'ses:FromAddress' must be a string, number, boolean or a list of them."},
	{COND("{'StringEquals':{'ses:FromAddress':null}}"), R, "Condition key 'ses:FromAddress' must be ~"},
};

static void
check_valid(const char *doc, size_t len, enum policy_mode mode, const char *want, size_t row)
{
	struct policy *p = (struct policy *)0x1;
	struct err e;
	err_clear(&e);
	int rc = policy_compile(doc, len, mode, &p, &e);
	if (want == NULL) {
		if (rc != 0) {
			print_error("valid row %zu: unexpected error: %s\n  doc: %.300s\n", row, e.message, doc);
			fail();
		}
		assert_non_null(p);
		policy_free(p);
		return;
	}
	if (rc == 0) {
		print_error("valid row %zu: compiled, want error \"%s\"\n  doc: %.300s\n", row, want, doc);
		fail();
	}
	assert_null(p);
	assert_string_equal(e.code, "InvalidPolicy");
	assert_int_equal(e.http, 400);
	size_t wl = strlen(want);
	bool prefix = wl > 0 && want[wl - 1] == '~';
	if (prefix ? strncmp(e.message, want, wl - 1) != 0 : strcmp(e.message, want) != 0) {
		print_error("valid row %zu: message \"%s\", want \"%s\"\n", row, e.message, want);
		fail();
	}
}

static void
test_validation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		char *doc = dq(valid_cases[i].doc);
		check_valid(doc, strlen(doc), valid_cases[i].mode, valid_cases[i].msg, i);
		free(doc);
		ncases++;
	}
}

/* A document with n statements / values / condition keys, for the caps. */
static char *
big_doc(int nstmt, int nvals, int nconds, size_t strlen_, size_t pad)
{
	struct buf_s {
		char *p;
		size_t n, cap;
	} b = {xmalloc(1 << 20), 0, 1 << 20};
#define PUT(...) (b.n += (size_t)snprintf(b.p + b.n, b.cap - b.n, __VA_ARGS__))
	PUT("{\"Statement\":[");
	for (int s = 0; s < nstmt; s++) {
		PUT("%s{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\",\"Action\":[", s ? "," : "");
		for (int v = 0; v < nvals; v++)
			PUT("%s\"ses:Send%d\"", v ? "," : "", v);
		PUT("]");
		if (nconds > 0) {
			PUT(",\"Condition\":{");
			for (int c = 0; c < nconds; c++)
				PUT("%s\"StringEquals%s\":{\"ses:FromAddress\":\"a\"}", c ? "," : "",
				    c % 2 ? "IfExists" : "");
			/* only two distinct operators: spread the rest over keys */
			PUT("}");
		}
		PUT("}");
	}
	PUT("]");
	if (strlen_ > 0) {
		PUT(",\"Id\":\"");
		memset(b.p + b.n, 'x', strlen_);
		b.n += strlen_;
		PUT("\"");
	}
	PUT("}");
	memset(b.p + b.n, ' ', pad);
	b.n += pad;
	b.p[b.n] = '\0';
#undef PUT
	return b.p;
}

/* Conditions cap: one operator with n distinct keys (ses:/aws: names repeat
 * with different case, which JSON treats as distinct keys). */
static char *
cond_doc(int n)
{
	static const char *const names[] = {"ses:FromAddress", "ses:FromDisplayName", "ses:Recipients",
	    "ses:FeedbackAddress", "ses:ApiVersion", "aws:SourceAccount", "aws:username", "aws:PrincipalOrgID"};
	char *d = xmalloc(65536);
	size_t len = (size_t)snprintf(d, 65536,
	    "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\","
	    "\"Condition\":{\"StringLike\":{");
	for (int i = 0; i < n; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s", names[i % 8]);
		/* variant v = i / 8 upper-cases the v-th lower-case letter of the
		 * name: JSON sees distinct keys, the policy the same known key */
		for (int k = 4, seen = 0; key[k]; k++)
			if (key[k] >= 'a' && key[k] <= 'z' && ++seen == i / 8)
				key[k] = (char)(key[k] - 32);
		len += (size_t)snprintf(d + len, 65536 - len, "%s\"%s\":\"*\"", i ? "," : "", key);
	}
	snprintf(d + len, 65536 - len, "}}}}");
	return d;
}

static void
test_caps(void **state)
{
	(void)state;
	char *d;
	d = big_doc(100, 1, 0, 0, 0);
	check_valid(d, strlen(d), R, NULL, 0);
	free(d);
	d = big_doc(101, 1, 0, 0, 0);
	check_valid(d, strlen(d), R, "Policy has more than 100 statements.", 1);
	free(d);
	d = big_doc(1, 100, 0, 0, 0);
	check_valid(d, strlen(d), R, NULL, 2);
	free(d);
	d = big_doc(1, 101, 0, 0, 0);
	check_valid(d, strlen(d), R, "Action has more than 100 values.", 3);
	free(d);
	d = big_doc(1, 1, 0, 1024, 0);
	check_valid(d, strlen(d), R, NULL, 4);
	free(d);
	d = big_doc(1, 1, 0, 1025, 0);
	check_valid(d, strlen(d), R, "Id must be a string of at most 1024 characters.", 5);
	free(d);
	/* size: exactly the cap passes, one more byte fails */
	d = big_doc(1, 1, 0, 0, 0);
	size_t base = strlen(d);
	free(d);
	d = big_doc(1, 1, 0, 0, POLICY_MAX_BYTES - base);
	assert_int_equal(strlen(d), POLICY_MAX_BYTES);
	check_valid(d, strlen(d), R, NULL, 6);
	free(d);
	d = big_doc(1, 1, 0, 0, POLICY_MAX_BYTES - base + 1);
	check_valid(d, strlen(d), R, "Policy document is larger than the maximum of 65536 bytes.", 7);
	free(d);
	/* depth: 8 levels pass the depth gate (and fail later on shape), 9 do not */
	static const char d8[] = "{\"Id\":[[[[[[[1]]]]]]],\"Statement\":[]}";
	static const char d9[] = "{\"Id\":[[[[[[[[1]]]]]]]],\"Statement\":[]}";
	static const char dstr[] = "{\"Id\":\"[[[[[[[[[[[[\",\"Statement\":{\"Effect\":\"Allow\","
				   "\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}}";
	check_valid(d8, strlen(d8), R, "Id must be a string of at most 1024 characters.", 8);
	check_valid(d9, strlen(d9), R, "Policy document is nested deeper than 8 levels.", 9);
	check_valid(dstr, strlen(dstr), R, NULL, 10);
	/* condition pairs per statement */
	d = cond_doc(64);
	check_valid(d, strlen(d), R, NULL, 11);
	free(d);
	d = cond_doc(65);
	check_valid(d, strlen(d), R, "Statement has more than 64 conditions.", 12);
	free(d);
	/* one condition string: 1024 ok, 1025 not */
	char *v = xmalloc(1100);
	memset(v, 'a', 1025);
	v[1024] = '\0';
	d = xasprintf("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\","
		      "\"Condition\":{\"StringLike\":{\"ses:FromAddress\":\"%s\"}}}}", v);
	check_valid(d, strlen(d), R, NULL, 13);
	free(d);
	v[1024] = 'a';
	v[1025] = '\0';
	d = xasprintf("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\","
		      "\"Condition\":{\"StringLike\":{\"ses:FromAddress\":\"%s\"}}}}", v);
	check_valid(d, strlen(d), R, "Condition key 'ses:FromAddress' has a value longer than 1024 characters.", 14);
	free(d);
	free(v);
	ncases += 15;
}

static void
test_ctx_caps(void **state)
{
	(void)state;
	struct policy_ctx *c = policy_ctx_new();
	char key[256], *val = xmalloc(POLICY_CTX_MAX_VALUE + 2);

	/* keys: 32 distinct ok, the 33rd refused, the context unchanged */
	for (int i = 0; i < POLICY_CTX_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "x:k%d", i);
		assert_int_equal(policy_ctx_add(c, key, "v"), 0);
	}
	assert_int_equal(policy_ctx_add(c, "x:extra", "v"), -1);
	assert_int_equal(policy_ctx_count(c, "x:extra"), 0);
	assert_int_equal(policy_ctx_add(c, "X:K0", "w"), 0); /* existing key, any case */
	assert_int_equal(policy_ctx_count(c, "x:k0"), 2);
	policy_ctx_reset(c);
	assert_int_equal(policy_ctx_count(c, "x:k0"), 0);
	/* key length 128 ok, 129 not; empty key not */
	memset(key, 'k', 129);
	key[128] = '\0';
	assert_int_equal(policy_ctx_add(c, key, "v"), 0);
	key[128] = 'k';
	key[129] = '\0';
	assert_int_equal(policy_ctx_add(c, key, "v"), -1);
	assert_int_equal(policy_ctx_add(c, "", "v"), -1);
	/* value length 2048 ok, 2049 not */
	memset(val, 'v', POLICY_CTX_MAX_VALUE + 1);
	val[POLICY_CTX_MAX_VALUE] = '\0';
	assert_int_equal(policy_ctx_add(c, "ses:FromAddress", val), 0);
	val[POLICY_CTX_MAX_VALUE] = 'v';
	val[POLICY_CTX_MAX_VALUE + 1] = '\0';
	assert_int_equal(policy_ctx_add(c, "ses:FromAddress", val), -1);
	policy_ctx_reset(c);
	/* total values 1024 ok, 1025 not */
	for (int i = 0; i < POLICY_CTX_MAX_VALUES; i++)
		assert_int_equal(policy_ctx_add(c, "ses:Recipients", "a@x.com"), 0);
	assert_int_equal(policy_ctx_add(c, "ses:Recipients", "a@x.com"), -1);
	assert_int_equal(policy_ctx_count(c, "SES:recipients"), POLICY_CTX_MAX_VALUES);
	policy_ctx_free(c);
	policy_ctx_free(NULL);
	policy_free(NULL);
	free(val);
	ncases += 12;
}

static void
test_check_resource(void **state)
{
	(void)state;
	static const struct {
		const char *doc;
		const char *arn;
		bool ok;
	} rows[] = {
		{DG_FROM, RES, true},
		{DG_MULTI, DG_MULTI_RES, true},
		{DG_FROM, "arn:aws:ses:us-east-1:888888888888:identity/other.com", false},
		{ALLOW_RES("'arn:aws:ses:us-east-1:888888888888:identity/*'"), RES, false},
		{ALLOW_RES("['" RES "','" RES "']"), RES, true},
		{ALLOW_RES("['" RES "','arn:aws:ses:us-east-1:888888888888:identity/b.com']"), RES, false},
		{ALLOW_NRES("'arn:aws:ses:us-east-1:888888888888:identity/b.com'"), RES, false},
		{ALLOW_RES("'*'"), RES, false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct policy *p = compile_or_die(rows[i].doc, POLICY_RESOURCE, i);
		struct err e;
		int rc = policy_check_resource(p, rows[i].arn, &e);
		if ((rc == 0) != rows[i].ok) {
			print_error("check_resource row %zu: rc %d\n", i, rc);
			fail();
		}
		if (!rows[i].ok) {
			char want[512];
			snprintf(want, sizeof(want), "Policy resource must be the identity's ARN: %s.", rows[i].arn);
			assert_string_equal(e.message, want);
			assert_string_equal(e.code, "InvalidPolicy");
		}
		assert_int_equal(policy_mode(p), POLICY_RESOURCE);
		policy_free(p);
		ncases++;
	}
	struct policy *p = compile_or_die(DG_MARKETER, POLICY_AUTO, 99);
	assert_int_equal(policy_mode(p), POLICY_RESOURCE);
	assert_string_equal(policy_id(p), "SampleAuthorizationPolicy");
	assert_int_equal(policy_statement_count(p), 1);
	policy_free(p);
	p = compile_or_die("{'Statement':{'Effect':'Allow','Action':'*','Resource':'*'}}", POLICY_AUTO, 100);
	assert_int_equal(policy_mode(p), POLICY_IDENTITY);
	assert_string_equal(policy_id(p), "");
	policy_free(p);
}

/* ------------------------------------------------------------------ */
/* Low-level parsers and matchers                                      */

static void
test_glob(void **state)
{
	(void)state;
	static const struct {
		const char *p, *s;
		bool icase, want;
	} rows[] = {
		{"", "", false, true}, {"", "a", false, false}, {"*", "", false, true}, {"*", "abc", false, true},
		{"**", "", false, true}, {"**", "x", false, true}, {"?", "", false, false}, {"?", "a", false, true},
		{"?", "ab", false, false}, {"a*", "a", false, true}, {"*a", "ba", false, true}, {"*a", "ab", false, false},
		{"a*b*c", "aXbYc", false, true}, {"a*b*c", "aXbY", false, false}, {"*a*a*a*", "aaa", false, true},
		{"*a*a*a*", "aa", false, false}, {"a?c", "abc", false, true}, {"a?c", "ac", false, false},
		{"ABC", "abc", false, false}, {"abc", "ABC", true, true}, {"a*c", "AXC", true, true},
		{"*@example.com", "x@example.com", false, true}, {"*@example.com", "x@example.co", false, false},
		{"a\\*", "a\\xyz", false, true}, {"***b", "aaab", false, true}, {"*?*", "", false, false},
		{"*?*", "z", false, true}, {"x*x", "x", false, false}, {"x*x", "xx", false, true},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = policy_glob(rows[i].p, strlen(rows[i].p), rows[i].s, strlen(rows[i].s), rows[i].icase);
		if (got != rows[i].want) {
			print_error("glob row %zu: '%s' vs '%s' got %d\n", i, rows[i].p, rows[i].s, got);
			fail();
		}
		ncases++;
	}
}

static void
test_arn_match(void **state)
{
	(void)state;
	static const struct {
		const char *p, *s;
		bool want;
	} rows[] = {
		{"arn:aws:sns:*:*:*", "arn:aws:sns:us-east-1:1:t", true},
		{"arn:aws:sns:*:*:*", "arn:aws:sns:us-east-1:1", false},
		{"arn:aws:sns:us-*:*:*", "arn:aws:sns:eu-west-1:1:t", false},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::c/k", false},
		{"arn:*", "arn:aws:s3:::b", false},
		{"*", "x", true},
		{"arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:user/Jane", true},
		{"arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:root", false},
		{"arn:aws:logs:*:*:log-group:x:*", "arn:aws:logs:r:1:log-group:x:log-stream:y", true},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = policy_arn_match(rows[i].p, strlen(rows[i].p), rows[i].s, strlen(rows[i].s));
		if (got != rows[i].want) {
			print_error("arn row %zu: '%s' vs '%s' got %d\n", i, rows[i].p, rows[i].s, got);
			fail();
		}
		ncases++;
	}
}

static void
test_dates(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
		long long ms;
	} rows[] = {
		{"1970-01-01", true, 0},
		{"1970-01-01T00:00:00Z", true, 0},
		{"2020-01-01T00:00:00Z", true, 1577836800000LL},
		{"2018-08-31T12:00Z", true, 1535716800000LL},
		{"2018-08-31T12:00:00.250Z", true, 1535716800250LL},
		{"2018-08-31T12:00:00.2Z", true, 1535716800200LL},
		{"2018-08-31T12:00:00.123456789Z", true, 1535716800123LL},
		{"2018-08-31T14:00:00+02:00", true, 1535716800000LL},
		{"2018-08-31T07:00:00-0500", true, 1535716800000LL},
		{"2018-08-31T12:00:00+00", true, 1535716800000LL},
		{"2018-08-31t12:00:00z", true, 1535716800000LL},
		{"2018-08-31T12:00:00", true, 1535716800000LL},
		{"2000-02-29", true, 951782400000LL},
		{"1600-03-01", true, -11670912000000LL},
		{"1577836800", true, 1577836800000LL},
		{"-86400", true, -86400000LL},
		{"0", true, 0},
		{"", false, 0},
		{"2020-1-01", false, 0},
		{"2020-01-32", false, 0},
		{"2020-00-10", false, 0},
		{"2100-02-29", false, 0},
		{"2020-01-01T24:00:00Z", false, 0},
		{"2020-01-01T12:60Z", false, 0},
		{"2020-01-01T12", false, 0},
		{"2020-01-01T12:00:00.Z", false, 0},
		{"2020-01-01T12:00:00+25:00", false, 0},
		{"2020-01-01X", false, 0},
		{"1234567890123", false, 0},
		{"12.5", false, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long long ms = -1;
		bool ok = policy_parse_date(rows[i].s, &ms);
		if (ok != rows[i].ok || (ok && ms != rows[i].ms)) {
			print_error("date row %zu: '%s' ok=%d ms=%lld\n", i, rows[i].s, ok, ms);
			fail();
		}
		ncases++;
	}
}

static void
test_numbers_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
		double v;
	} nums[] = {
		{"0", true, 0}, {"-1", true, -1}, {"+2", true, 2}, {"1.5", true, 1.5}, {"1e3", true, 1000},
		{"1E-2", true, 0.01}, {"", false, 0}, {"-", false, 0}, {"1.", false, 0}, {".5", false, 0},
		{"0x10", false, 0}, {"inf", false, 0}, {"nan", false, 0}, {"1 ", false, 0}, {"1e", false, 0},
		{"1e999", false, 0},
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v = -99;
		bool ok = policy_parse_number(nums[i].s, &v);
		if (ok != nums[i].ok || (ok && v != nums[i].v)) {
			print_error("number row %zu: '%s'\n", i, nums[i].s);
			fail();
		}
		ncases++;
	}
	/* CIDRs: tests/unit/test_cidr.c (core/cidr.c) */
	static const struct {
		const char *s;
		bool ok;
	} u8[] = {
		{"plain", true}, {"caf\xc3\xa9", true}, {"\xe2\x82\xac", true}, {"\xf0\x9f\x98\x80", true},
		{"\xc3", false}, {"\xc0\xaf", false}, {"\xe0\x80\xaf", false}, {"\xed\xa0\x80", false},
		{"\xf4\x90\x80\x80", false}, {"\xff", false}, {"\x80", false}, {"\xe2\x82", false},
	};
	for (size_t i = 0; i < sizeof(u8) / sizeof(u8[0]); i++) {
		if (utf8_valid(u8[i].s, strlen(u8[i].s)) != u8[i].ok) {
			print_error("utf8 row %zu\n", i);
			fail();
		}
		ncases++;
	}
}

/* ------------------------------------------------------------------ */
/* CLI                                                                 */

static char tmpdir[64];

static char *
write_tmp(const char *name, const char *content_sq)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	char *content = dq(content_sq);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(content);
	return path;
}

struct run {
	int rc;
	char *out, *err;
};

static struct run
run_cli(const char *input, int argc, ...)
{
	char *argv[32];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	struct run r;
	size_t ol, el;
	FILE *in = (input == NULL || *input == '\0') ? fopen("/dev/null", "r")
						      : fmemopen((void *)input, strlen(input), "r");
	assert_non_null(in);
	FILE *out = open_memstream(&r.out, &ol), *err = open_memstream(&r.err, &el);
	r.rc = cli_policy_run(argc, argv, in, out, err);
	fclose(in);
	fclose(out);
	fclose(err);
	return r;
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void
test_cli(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_policy.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char *good = write_tmp("good.json", DG_TIME);
	char *bad = write_tmp("bad.json", COND("{'StringEquals':{'AWS:SourceAccount':'1'}}"));
	char *deny = write_tmp("deny.json",
	    "{'Statement':{'Sid':'NoJohn','Effect':'Deny','Principal':{'AWS':'" JOHN1 "'},'Action':'ses:*','Resource':'*'}}");
	char *user = write_tmp("user.json", "{'Statement':{'Sid':'U','Effect':'Allow','Action':'ses:Send*','Resource':'*'}}");
	char *multi = write_tmp("multi.json", DG_MULTI);
	struct run r;

	r = run_cli(NULL, 3, "policy", "check", good);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\"Valid\": true}\n");
	assert_string_equal(r.err, "");
	run_free(&r);

	r = run_cli(NULL, 3, "policy", "check", bad);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "{\"Valid\": false, \"Error\": {\"Code\": \"InvalidPolicy\", \"Message\": "
				   "\"Unknown or unapplicable condition field 'AWS:SourceAccount'.\"}}\n");
	assert_string_equal(r.err, "Unknown or unapplicable condition field 'AWS:SourceAccount'.\n");
	run_free(&r);

	/* check is the SES identity-policy rule: a user policy lacks Principal */
	r = run_cli(NULL, 3, "policy", "check", user);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "Missing required field Principal.\n");
	run_free(&r);

	r = run_cli(DG_FROM, 3, "policy", "check", "-");
	assert_int_equal(r.rc, 1); /* single quotes are not JSON */
	assert_non_null(strstr(r.out, "Policy has invalid JSON"));
	run_free(&r);

	r = run_cli(NULL, 3, "policy", "check", "/nonexistent/p.json");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "cannot read /nonexistent/p.json"));
	run_free(&r);

	r = run_cli(NULL, 2, "policy", "check");
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = run_cli(NULL, 2, "policy", "frobnicate");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unknown subcommand 'frobnicate'"));
	run_free(&r);
	r = run_cli(NULL, 1, "policy");
	assert_int_equal(r.rc, 2);
	run_free(&r);

	char *pol_good = xasprintf("--policy=%s", good);
	r = run_cli(NULL, 11, "policy", "simulate", pol_good, "--principal", "123456789012", "--action",
	    "ses:SendRawEmail", "--resource", RES, "--context", "aws:CurrentTime=2018-09-15T00:00:00Z");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\"EvalDecision\": \"allowed\", \"MatchedStatements\": [\"ControlTimePeriod\"]}\n");
	run_free(&r);

	r = run_cli(NULL, 9, "policy", "simulate", pol_good, "--principal", "123456789012", "--action",
	    "ses:SendRawEmail", "--resource", RES);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\"EvalDecision\": \"implicitDeny\", \"MatchedStatements\": []}\n");
	run_free(&r);

	r = run_cli(NULL, 12, "policy", "simulate", "--policy", user, "--policy", deny, "--principal", JOHN1,
	    "--action", "ses:SendEmail", "--resource", RES);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\"EvalDecision\": \"explicitDeny\", \"MatchedStatements\": [\"NoJohn\"]}\n");
	run_free(&r);

	r = run_cli(NULL, 12, "policy", "simulate", "--policy", user, "--policy", deny, "--principal", JANE1,
	    "--action", "ses:SendEmail", "--resource", RES);
	assert_string_equal(r.out, "{\"EvalDecision\": \"allowed\", \"MatchedStatements\": [\"U\"]}\n");
	run_free(&r);

	/* repeated --context adds values to a multi-valued key */
	r = run_cli(NULL, 14, "policy", "simulate", "--policy", multi, "--principal",
	    "arn:aws:iam::333333333333:user/Jane", "--action", "ses:SendEmail", "--resource", DG_MULTI_RES,
	    "--context", "ses:Recipients=a@example.com", "--context", "ses:Recipients=b@gmail.com");
	assert_string_equal(r.out, "{\"EvalDecision\": \"implicitDeny\", \"MatchedStatements\": []}\n");
	run_free(&r);
	r = run_cli(NULL, 14, "policy", "simulate", "--policy", multi, "--principal",
	    "arn:aws:iam::333333333333:user/Jane", "--action", "ses:SendEmail", "--resource", DG_MULTI_RES,
	    "--context", "ses:Recipients=a@example.com", "--context", "ses:Recipients=b@example.com");
	assert_string_equal(r.out, "{\"EvalDecision\": \"allowed\", \"MatchedStatements\": [\"AuthorizeInternal\"]}\n");
	run_free(&r);

	/* simulate errors */
	r = run_cli(NULL, 10, "policy", "simulate", "--policy", bad, "--principal", ROOT1, "--action", "ses:SendEmail",
	    "--resource", RES);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "Unknown or unapplicable condition field 'AWS:SourceAccount'."));
	run_free(&r);
	r = run_cli(NULL, 8, "policy", "simulate", "--policy", good, "--principal", ROOT1, "--action", "ses:SendEmail");
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = run_cli(NULL, 12, "policy", "simulate", "--policy", good, "--principal", ROOT1, "--action", "ses:SendEmail",
	    "--resource", RES, "--context", "novalue");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--context takes KEY=VALUE"));
	run_free(&r);
	r = run_cli(NULL, 4, "policy", "simulate", "--bogus", "x");
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = run_cli(NULL, 5, "policy", "simulate", "--batch", "--policy", good);
	assert_int_equal(r.rc, 2);
	run_free(&r);

	/* batch: one decision or error per line, blank lines skipped */
	const char *batch =
	    "{\"policies\": [{\"Statement\": {\"Sid\": \"A\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"111122223333\"}, "
	    "\"Action\": \"ses:Send*\", \"Resource\": \"" RES "\"}}], \"principal\": \"" JANE1 "\", \"action\": \"ses:SendRawEmail\", "
	    "\"resource\": \"" RES "\"}\n"
	    "{\"policies\": [\"{\\\"Statement\\\": {\\\"Effect\\\": \\\"Allow\\\", \\\"Principal\\\": \\\"*\\\", \\\"Action\\\": \\\"*\\\", "
	    "\\\"Resource\\\": \\\"*\\\", \\\"Condition\\\": {\\\"ForAllValues:StringLike\\\": {\\\"ses:Recipients\\\": \\\"*@x.com\\\"}}}}\"], "
	    "\"principal\": \"" SVC "\", \"action\": \"ses:SendEmail\", \"resource\": \"" RES "\", "
	    "\"context\": {\"ses:Recipients\": [\"a@x.com\", \"b@y.com\"]}}\n"
	    "{\"policies\": [{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"*\", \"Resource\": \"*\", "
	    "\"Condition\": {\"StringEquals\": {\"AWS:SourceAccount\": \"1\"}}}}], \"principal\": \"x\", \"action\": \"y\", \"resource\": \"z\"}\n"
	    "\n"
	    "not json\n"
	    "{\"policies\": [], \"principal\": 5, \"action\": \"y\", \"resource\": \"z\"}\n"
	    "{\"policies\": [{\"Statement\": {\"Sid\": \"D\", \"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"*\", \"Resource\": \"*\"}}], "
	    "\"principal\": \"1\", \"action\": \"y\", \"resource\": \"z\", \"context\": {\"aws:SourceIp\": \"10.0.0.1\"}}";
	r = run_cli(batch, 3, "policy", "simulate", "--batch");
	assert_int_equal(r.rc, 0);
	/* line by line (the JSON parser's own text is not pinned) */
	char *save = NULL, *line;
	const char *want[] = {
	    "{\"EvalDecision\": \"allowed\", \"MatchedStatements\": [\"A\"]}",
	    "{\"EvalDecision\": \"implicitDeny\", \"MatchedStatements\": []}",
	    "{\"Error\": {\"Code\": \"InvalidPolicy\", \"Message\": \"Unknown or unapplicable condition field 'AWS:SourceAccount'.\"}}",
	    "{\"Error\": {\"Code\": \"InvalidInput\", \"Message\": \"Request line is not a JSON object: ",
	    "{\"Error\": {\"Code\": \"InvalidInput\", \"Message\": \"Field 'principal' must be a string.\"}}",
	    "{\"EvalDecision\": \"explicitDeny\", \"MatchedStatements\": [\"D\"]}",
	};
	size_t k = 0;
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
		assert_true(k < 6);
		assert_memory_equal(line, want[k], strlen(want[k]));
		if (k != 3)
			assert_string_equal(line, want[k]);
	}
	assert_int_equal(k, 6);
	run_free(&r);

	/* an over-long batch line is one InvalidInput, and the next line still runs */
	size_t biglen = POLICY_MAX_BYTES * 4 + 10;
	char *big = xmalloc(biglen + 200);
	memset(big, ' ', biglen);
	snprintf(big + biglen, 200, "\n{\"policies\": [], \"principal\": \"a\", \"action\": \"b\", \"resource\": \"c\"}\n");
	r = run_cli(big, 3, "policy", "simulate", "--batch");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
	    "{\"Error\": {\"Code\": \"InvalidInput\", \"Message\": \"Request line is longer than 262144 bytes.\"}}\n"
	    "{\"EvalDecision\": \"implicitDeny\", \"MatchedStatements\": []}\n");
	run_free(&r);
	free(big);

	unlink(good);
	unlink(bad);
	unlink(deny);
	unlink(user);
	unlink(multi);
	rmdir(tmpdir);
	free(good);
	free(bad);
	free(deny);
	free(user);
	free(multi);
	free(pol_good);
	ncases += 24;
}

static int
report(void **state)
{
	(void)state;
	printf("[ policy ] %zu table cases\n", ncases);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_ctx_caps),
		cmocka_unit_test(test_check_resource),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_arn_match),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_numbers_utf8),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, report);
}
