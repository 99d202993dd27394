/*
 * policy_eval.c — how long one sending-authorization decision takes.
 *
 * Builds a realistic identity: 20 policies x 5 statements, each with
 * conditions (From address pattern, recipients domain, source CIDR, time
 * window, TLS), one Deny for a blocked account. Then evaluates a fixed
 * rotation of requests (allowed late in the set, explicitly denied,
 * implicitly denied) in batches of 1000 decisions timed with
 * CLOCK_MONOTONIC, for at most BENCH_MAX_BATCHES batches or BENCH_MAX_SECONDS.
 * Prints median and p99 ns per decision and decisions per second on one
 * core, next to the ceiling: the same loop with an empty body; then the
 * median of each request kind alone. On a loaded machine p99 mostly shows
 * preemption (one time slice inside a 1000-decision batch).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/policy.h"
#include "util/err.h"
#include "util/xalloc.h"

#define NPOL 20
#define NSTMT 5
#define BATCH 1000
#define BENCH_MAX_BATCHES 3000
#define BENCH_MAX_SECONDS 2.0

#define RES "arn:aws:ses:us-east-1:888888888888:identity/example.com"

static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct req {
	const char *name;
	struct policy_request r;
	enum policy_decision want;
};

/* Policy i, statement j grants account 2<ii><jj>0000000 and the IAM user
 * arn:aws:iam::3<ii><jj>0000000:user/app, for team<i> From addresses;
 * statement 0 of policy 7 is a Deny instead (the blocked account). */
static char *
make_policy(int i)
{
	char *doc = xmalloc(8192);
	size_t n = 0;
	n += (size_t)snprintf(doc + n, 8192 - n, "{\"Version\":\"2012-10-17\",\"Id\":\"p%d\",\"Statement\":[", i);
	for (int j = 0; j < NSTMT; j++) {
		bool deny = i == 7 && j == 0;
		n += (size_t)snprintf(doc + n, 8192 - n,
		    "%s{\"Sid\":\"%s%d_%d\",\"Effect\":\"%s\",\"Principal\":{\"AWS\":[\"2%02d%02d0000000\","
		    "\"arn:aws:iam::3%02d%02d0000000:user/app\"]},"
		    "\"Action\":[\"ses:SendEmail\",\"ses:SendRawEmail\"],\"Resource\":\"" RES "\","
		    "\"Condition\":{\"StringLike\":{\"ses:FromAddress\":\"team%d-*@example.com\"},"
		    "\"ForAllValues:StringLike\":{\"ses:Recipients\":[\"*@example.com\",\"*@partner%d.com\"]},"
		    "\"IpAddress\":{\"aws:SourceIp\":[\"10.%d.0.0/16\",\"2001:db8:%d::/48\"]},"
		    "\"DateGreaterThan\":{\"aws:CurrentTime\":\"2024-01-01T00:00:00Z\"},"
		    "\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"},"
		    "\"Bool\":{\"aws:SecureTransport\":\"true\"}}}",
		    j ? "," : "", deny ? "Block" : "Grant", i, j, deny ? "Deny" : "Allow", i, j, i, j, i, i,
		    i, i);
	}
	snprintf(doc + n, 8192 - n, "]}");
	return doc;
}

int
main(void)
{
	struct policy *pol[NPOL];
	struct err e;

	for (int i = 0; i < NPOL; i++) {
		char *doc = make_policy(i);
		if (policy_compile(doc, strlen(doc), POLICY_RESOURCE, &pol[i], &e) != 0) {
			fprintf(stderr, "bench: policy %d: %s\n", i, e.message);
			return 1;
		}
		free(doc);
	}
	const struct policy *const *set = (const struct policy *const *)pol;

	struct policy_ctx *ok = policy_ctx_new(), *bad = policy_ctx_new();
	/* a send from team19 by the account granted in the last policy */
	policy_ctx_add(ok, "ses:FromAddress", "team19-alerts@example.com");
	policy_ctx_add(ok, "ses:Recipients", "a@example.com");
	policy_ctx_add(ok, "ses:Recipients", "b@partner19.com");
	policy_ctx_add(ok, "ses:Recipients", "c@example.com");
	policy_ctx_add(ok, "aws:SourceIp", "10.19.4.5");
	policy_ctx_add(ok, "aws:CurrentTime", "2026-03-01T10:00:00Z");
	policy_ctx_add(ok, "aws:SecureTransport", "true");
	policy_ctx_add(ok, "ses:ApiVersion", "1");
	/* same, but one recipient outside the allowed domains */
	policy_ctx_add(bad, "ses:FromAddress", "team19-alerts@example.com");
	policy_ctx_add(bad, "ses:Recipients", "a@example.com");
	policy_ctx_add(bad, "ses:Recipients", "x@elsewhere.org");
	policy_ctx_add(bad, "aws:SourceIp", "10.19.4.5");
	policy_ctx_add(bad, "aws:CurrentTime", "2026-03-01T10:00:00Z");
	policy_ctx_add(bad, "aws:SecureTransport", "true");

	/* a send by the blocked account, meeting policy 7's conditions */
	struct policy_ctx *deny_ctx = policy_ctx_new();
	policy_ctx_add(deny_ctx, "ses:FromAddress", "team7-x@example.com");
	policy_ctx_add(deny_ctx, "ses:Recipients", "a@example.com");
	policy_ctx_add(deny_ctx, "aws:SourceIp", "10.7.0.1");
	policy_ctx_add(deny_ctx, "aws:CurrentTime", "2026-03-01T10:00:00Z");
	policy_ctx_add(deny_ctx, "aws:SecureTransport", "true");

	struct req reqs[] = {
		{"allowed (last policy)", {"arn:aws:iam::219040000000:root", "ses:SendRawEmail", RES, ok}, POLICY_ALLOWED},
		{"allowed (IAM user)", {"arn:aws:iam::319040000000:user/app", "ses:SendEmail", RES, ok}, POLICY_ALLOWED},
		{"explicit deny", {"207000000000", "ses:SendEmail", RES, deny_ctx}, POLICY_EXPLICIT_DENY},
		{"implicit (recipient)", {"219040000000", "ses:SendEmail", RES, bad}, POLICY_IMPLICIT_DENY},
		{"implicit (stranger)", {"arn:aws:iam::999999999999:root", "ses:SendEmail", RES, ok}, POLICY_IMPLICIT_DENY},
		{"implicit (action)", {"219040000000", "ses:VerifyEmailIdentity", RES, ok}, POLICY_IMPLICIT_DENY},
	};
	const size_t nreq = sizeof(reqs) / sizeof(reqs[0]);

	for (size_t i = 0; i < nreq; i++) {
		struct policy_result res;
		enum policy_decision d = policy_evaluate(set, NPOL, &reqs[i].r, &res);
		if (d != reqs[i].want) {
			fprintf(stderr, "bench: request '%s' gave %s, want %s\n", reqs[i].name,
			    policy_decision_name(d), policy_decision_name(reqs[i].want));
			return 1;
		}
	}

	static double per_eval[BENCH_MAX_BATCHES], per_empty[BENCH_MAX_BATCHES];
	volatile unsigned sink = 0;
	size_t nb = 0;
	double t_start = now_ns();
	while (nb < BENCH_MAX_BATCHES && now_ns() - t_start < BENCH_MAX_SECONDS * 1e9) {
		double t0 = now_ns();
		for (unsigned k = 0; k < BATCH; k++) {
			const struct req *q = &reqs[k % nreq];
			sink += (unsigned)policy_evaluate(set, NPOL, &q->r, NULL);
		}
		double t1 = now_ns();
		for (unsigned k = 0; k < BATCH; k++) {
			const struct req *q = &reqs[k % nreq];
			sink += (unsigned)(q->want);
		}
		double t2 = now_ns();
		per_eval[nb] = (t1 - t0) / BATCH;
		per_empty[nb] = (t2 - t1) / BATCH;
		nb++;
	}
	double total_eval = 0;
	for (size_t i = 0; i < nb; i++)
		total_eval += per_eval[i] * BATCH;
	qsort(per_eval, nb, sizeof(double), cmp_double);
	qsort(per_empty, nb, sizeof(double), cmp_double);
	double med = per_eval[nb / 2], p99 = per_eval[(nb * 99) / 100];
	double dps = (double)(nb * BATCH) / (total_eval / 1e9);

	printf("policy_eval: %d policies x %d statements, %zu request kinds, %zu batches of %d\n", NPOL,
	    NSTMT, nreq, nb, BATCH);
	printf("policy_eval: median %.0f ns/decision, p99 %.0f ns/decision, %.0f decisions/s on one core\n",
	    med, p99, dps);
	printf("ceiling: empty loop %.1f ns/iteration (median, same run)\n", per_empty[nb / 2]);

	/* each request kind alone: 200 batches at most, 0.3 s at most */
	for (size_t q = 0; q < nreq; q++) {
		size_t kb = 0;
		double t_kind = now_ns();
		while (kb < 200 && now_ns() - t_kind < 0.3e9) {
			double t0 = now_ns();
			for (unsigned k = 0; k < BATCH; k++)
				sink += (unsigned)policy_evaluate(set, NPOL, &reqs[q].r, NULL);
			per_eval[kb++] = (now_ns() - t0) / BATCH;
		}
		qsort(per_eval, kb, sizeof(double), cmp_double);
		printf("  %-22s %-13s median %.0f ns\n", reqs[q].name, policy_decision_name(reqs[q].want),
		    per_eval[kb / 2]);
	}
	(void)sink;

	policy_ctx_free(ok);
	policy_ctx_free(bad);
	policy_ctx_free(deny_ctx);
	for (int i = 0; i < NPOL; i++)
		policy_free(pol[i]);
	return 0;
}
