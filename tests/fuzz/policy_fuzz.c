/*
 * policy_fuzz.c — libFuzzer target for core/policy.
 *
 * The input is compiled as a policy in every mode; whatever compiles is
 * evaluated against a few requests whose principal, action, resource and
 * context values are slices of the input itself (so the fuzzer can steer
 * them toward the policy's own strings). The value parsers and the glob
 * matcher get the input directly as well. Anything but a clean return is
 * a bug: inputs never abort.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/policy.h"
#include "util/err.h"

bool policy_glob(const char *p, size_t pl, const char *s, size_t sl, bool icase);
bool policy_arn_match(const char *p, size_t pl, const char *s, size_t sl);
bool policy_parse_date(const char *s, long long *ms_out);
bool policy_parse_number(const char *s, double *out);

static const char *const keys[] = {
	"ses:FromAddress", "ses:FromDisplayName", "ses:Recipients", "ses:FeedbackAddress",
	"ses:ApiVersion", "aws:SourceIp", "aws:CurrentTime", "aws:EpochTime",
	"aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:PrincipalOrgID",
	"aws:UserAgent", "aws:username", "x:custom",
};
static const char *const fixed_values[] = {
	"a@example.com", "10.1.2.3", "2001:db8::1", "2018-09-15T00:00:00Z", "1600000000",
	"true", "false", "111122223333", "arn:aws:sns:us-east-1:111122223333:t", "1", "",
};
static const char *const principals[] = {
	"arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/Jane", "123456789012",
	"notifications.example.internal", "*", "",
};

/* The n-th NUL-free slice of the input, at most 64 bytes, into out. */
static const char *
slice(const uint8_t *d, size_t size, unsigned n, char out[65])
{
	size_t start = size ? (n * 37u) % size : 0, len = 0;
	while (start + len < size && len < 64 && d[start + len] != 0)
		len++;
	memcpy(out, d + start, len);
	out[len] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum policy_mode modes[] = {POLICY_RESOURCE, POLICY_IDENTITY, POLICY_AUTO};
	struct policy *pol[3] = {0};
	size_t npol = 0;
	struct err e;
	char a[65], b[65], c[65];

	if (size > POLICY_MAX_BYTES + 16)
		return 0;
	for (size_t m = 0; m < 3; m++) {
		struct policy *p = NULL;
		if (policy_compile((const char *)data, size, modes[m], &p, &e) == 0) {
			(void)policy_check_resource(p,
			    "arn:aws:ses:us-east-1:888888888888:identity/example.com", &e);
			pol[npol++] = p;
		} else if (p != NULL || e.code[0] == '\0') {
			abort(); /* a failure must leave no policy and say why */
		}
	}

	/* parsers and matchers on raw slices */
	slice(data, size, 0, a);
	slice(data, size, 1, b);
	long long ms;
	double num;
	struct cidr net;
	(void)policy_parse_date(a, &ms);
	(void)policy_parse_number(a, &num);
	(void)cidr_parse(a, &net);
	(void)cidr_parse_client(a, &net);
	(void)policy_glob(a, strlen(a), b, strlen(b), size & 1);
	(void)policy_arn_match(a, strlen(a), b, strlen(b));

	if (npol == 0)
		return 0;
	struct policy_ctx *ctx = policy_ctx_new();
	for (unsigned round = 0; round < 4; round++) {
		policy_ctx_reset(ctx);
		unsigned h = round * 2654435761u;
		for (size_t i = 0; i < size && i < 16; i++)
			h = h * 31 + data[i];
		for (unsigned k = 0; k < 6; k++) {
			const char *key = keys[(h >> (k * 3)) % (sizeof(keys) / sizeof(keys[0]))];
			const char *val = (h >> k) & 1 ? slice(data, size, round * 7 + k, c)
			    : fixed_values[(h >> (k * 2)) % (sizeof(fixed_values) / sizeof(fixed_values[0]))];
			(void)policy_ctx_add(ctx, key, val);
		}
		struct policy_request r = {
			.principal = round == 3 ? slice(data, size, 5, a)
			    : principals[h % (sizeof(principals) / sizeof(principals[0]))],
			.action = round & 1 ? "ses:SendRawEmail" : slice(data, size, 3, b),
			.resource = round & 2 ? "arn:aws:ses:us-east-1:888888888888:identity/example.com"
			    : slice(data, size, 4, c),
			.ctx = round == 2 ? NULL : ctx,
		};
		struct policy_result res;
		enum policy_decision d = policy_evaluate((const struct policy *const *)pol, npol, &r, &res);
		if (d != res.decision || res.nmatched > POLICY_MAX_MATCHES || res.nmatched > res.total ||
		    (d == POLICY_IMPLICIT_DENY && res.total != 0) || (d != POLICY_IMPLICIT_DENY && res.total == 0))
			abort();
		for (size_t i = 0; i < res.nmatched; i++)
			if (res.matched[i].sid == NULL || res.matched[i].policy >= npol)
				abort();
	}
	policy_ctx_free(ctx);
	for (size_t i = 0; i < npol; i++)
		policy_free(pol[i]);
	return 0;
}
