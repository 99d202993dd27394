/*
 * test_dns.c — src/dns/dns.c against a real dnsmasq on a loopback port
 * (started and killed here), a UDP socket that never answers (timeouts)
 * and a closed port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/dns.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

static pid_t dnsmasq_pid = -1;
static int dnsmasq_port;
static char server[64];

/* A loopback port free for both UDP and TCP right now. */
static int
free_port(void)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int port = -1;
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(u, (struct sockaddr *)&sa, &sl) == 0 &&
		    bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = ntohs(sa.sin_port);
		close(u);
		close(t);
		if (port > 0)
			return port;
	}
	return -1;
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
tcp_answers(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

static int
start_dnsmasq(void **state)
{
	(void)state;
	if (access(DNSMASQ, X_OK) != 0)
		return 0; /* tests skip themselves */
	dnsmasq_port = free_port();
	if (dnsmasq_port < 0)
		return -1;
	char port_arg[32];
	snprintf(port_arg, sizeof(port_arg), "--port=%d", dnsmasq_port);
	snprintf(server, sizeof(server), "127.0.0.1:%d", dnsmasq_port);
	char *argv[] = {
		DNSMASQ, "--no-daemon", port_arg, "--listen-address=127.0.0.1", "--bind-interfaces",
		"--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
		"--local=/test/",
		"--txt-record=_amazonses.example.test,tok123",
		"--txt-record=multi.example.test,part1,part2",
		"--txt-record=two.example.test,first",
		"--txt-record=two.example.test,second record",
		"--mx-host=example.test,mx2.example.test,20",
		"--mx-host=example.test,mxb.example.test,10",
		"--mx-host=example.test,mx1.example.test,10",
		"--host-record=mx1.example.test,192.0.2.25,2001:db8::25",
		"--host-record=v4only.example.test,192.0.2.26",
		"--cname=alias.example.test,mx1.example.test",
		"--cname=tok._domainkey.example.test,tok.dkim.amazonses.com",
		NULL,
	};
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(DNSMASQ, argv);
		_exit(127);
	}
	dnsmasq_pid = pid;
	long deadline = now_ms() + 5000;
	while (now_ms() < deadline) {
		if (tcp_answers(dnsmasq_port))
			return 0;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			dnsmasq_pid = -1;
			fprintf(stderr, "dnsmasq exited early\n");
			return -1;
		}
		usleep(20000);
	}
	fprintf(stderr, "dnsmasq did not come up on port %d\n", dnsmasq_port);
	return -1;
}

static int
stop_dnsmasq(void **state)
{
	(void)state;
	if (dnsmasq_pid > 0) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, NULL, 0);
		dnsmasq_pid = -1;
	}
	return 0;
}

#define NEED_DNSMASQ()                                                                             \
	do {                                                                                       \
		if (dnsmasq_pid <= 0) {                                                            \
			print_message("SKIP: %s is absent\n", DNSMASQ);                            \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- collecting answers ----------------------------------------------------- */

struct answer {
	bool done;
	int calls;
	bool in_submit; /* set around dns_* calls: the callback must never see it */
	enum dns_status st;
	char text[2048]; /* results joined with '|' */
	size_t n;
	long at_ms;
};

static void
on_txt(void *arg, enum dns_status st, const struct dns_txt *txt, size_t n)
{
	struct answer *a = arg;
	assert_false(a->in_submit);
	a->calls++;
	a->done = true;
	a->st = st;
	a->n = n;
	a->at_ms = now_ms();
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(a->text);
		assert_int_equal(strlen(txt[i].data), txt[i].len);
		snprintf(a->text + l, sizeof(a->text) - l, "%s%s", i ? "|" : "", txt[i].data);
	}
}

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct answer *a = arg;
	assert_false(a->in_submit);
	a->calls++;
	a->done = true;
	a->st = st;
	a->n = n;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(a->text);
		snprintf(a->text + l, sizeof(a->text) - l, "%s%u %s", i ? "|" : "", mx[i].pref,
			 mx[i].host);
	}
}

static void
on_addr(void *arg, enum dns_status st, const struct dns_addr *ad, size_t n)
{
	struct answer *a = arg;
	assert_false(a->in_submit);
	a->calls++;
	a->done = true;
	a->st = st;
	a->n = n;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(a->text);
		char chk[INET6_ADDRSTRLEN];
		inet_ntop(ad[i].family, &ad[i].u, chk, sizeof(chk));
		assert_string_equal(chk, ad[i].text);
		snprintf(a->text + l, sizeof(a->text) - l, "%s%s", i ? "|" : "", ad[i].text);
	}
}

static void
on_cname(void *arg, enum dns_status st, const char *target)
{
	struct answer *a = arg;
	assert_false(a->in_submit);
	a->calls++;
	a->done = true;
	a->st = st;
	if (target != NULL)
		snprintf(a->text, sizeof(a->text), "%s", target);
}

/* Run the loop until every answer is done or ms pass. */
static void
run(struct event_base *base, struct answer **as, size_t n, long ms)
{
	long deadline = now_ms() + ms;
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && as[i]->done;
		if (all || now_ms() > deadline)
			return;
		struct timeval tv = {0, 20000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* ---- tests ------------------------------------------------------------------- */

static void
test_txt(void **state)
{
	static const struct {
		const char *name;
		enum dns_status st;
		const char *want;
	} cases[] = {
		{"_amazonses.example.test", DNS_OK, "tok123"},
		{"_amazonses.example.test.", DNS_OK, "tok123"},
		{"_AMAZONSES.Example.TEST", DNS_OK, "tok123"},
		{"multi.example.test", DNS_OK, "part1part2"},
		{"nope.example.test", DNS_NXDOMAIN, ""},
		{"mx1.example.test", DNS_NODATA, ""},
		{"outside.other", DNS_TEMPFAIL, ""}, /* dnsmasq REFUSED: no upstream */
		{"bad name.example.test", DNS_BADNAME, ""},
		{"", DNS_BADNAME, ""},
		{"a..b", DNS_BADNAME, ""},
	};
	(void)state;
	NEED_DNSMASQ();
	struct event_base *base = event_base_new();
	struct err e;
	struct dns *d = dns_new(base, server, &e);
	assert_non_null(d);
	struct answer ans[sizeof(cases) / sizeof(cases[0])];
	struct answer *ptr[sizeof(cases) / sizeof(cases[0])];
	memset(ans, 0, sizeof(ans));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ptr[i] = &ans[i];
		ans[i].in_submit = true;
		assert_non_null(dns_txt(d, cases[i].name, on_txt, &ans[i]));
		ans[i].in_submit = false;
	}
	run(base, ptr, sizeof(cases) / sizeof(cases[0]), 5000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ans[i].done || ans[i].st != cases[i].st || strcmp(ans[i].text, cases[i].want))
			fail_msg("TXT %s: done %d st %s '%s', want %s '%s'", cases[i].name,
				 ans[i].done, dns_status_str(ans[i].st), ans[i].text,
				 dns_status_str(cases[i].st), cases[i].want);
		assert_int_equal(ans[i].calls, 1);
	}
	/* two records: order is the server's, so compare as a set */
	struct answer two = {0}, *tp = &two;
	dns_txt(d, "two.example.test", on_txt, &two);
	run(base, &tp, 1, 5000);
	assert_int_equal(two.st, DNS_OK);
	assert_int_equal(two.n, 2);
	assert_true(strcmp(two.text, "first|second record") == 0 ||
		    strcmp(two.text, "second record|first") == 0);
	dns_free(d);
	event_base_free(base);
}

static void
test_mx_a_cname(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct event_base *base = event_base_new();
	struct dns *d = dns_new(base, server, NULL);
	assert_non_null(d);
	struct answer mx = {0}, nomx = {0}, nxmx = {0}, a = {0}, a4 = {0}, nxa = {0}, cn = {0},
		      cn2 = {0}, nocn = {0};
	struct answer *all[] = {&mx, &nomx, &nxmx, &a, &a4, &nxa, &cn, &cn2, &nocn};
	dns_mx(d, "example.test", on_mx, &mx);
	dns_mx(d, "mx1.example.test", on_mx, &nomx);
	dns_mx(d, "nope.example.test", on_mx, &nxmx);
	dns_a(d, "mx1.example.test", on_addr, &a);
	dns_a(d, "v4only.example.test", on_addr, &a4);
	dns_a(d, "nope.example.test", on_addr, &nxa);
	dns_cname(d, "alias.example.test", on_cname, &cn);
	dns_cname(d, "tok._domainkey.example.test", on_cname, &cn2);
	dns_cname(d, "mx1.example.test", on_cname, &nocn);
	run(base, all, sizeof(all) / sizeof(all[0]), 5000);

	assert_int_equal(mx.st, DNS_OK);
	assert_string_equal(mx.text, "10 mx1.example.test|10 mxb.example.test|20 mx2.example.test");
	assert_int_equal(nomx.st, DNS_NODATA);
	assert_int_equal(nomx.n, 0);
	assert_int_equal(nxmx.st, DNS_NXDOMAIN);
	assert_int_equal(a.st, DNS_OK);
	assert_string_equal(a.text, "192.0.2.25|2001:db8::25");
	assert_int_equal(a4.st, DNS_OK);
	assert_string_equal(a4.text, "192.0.2.26");
	assert_int_equal(nxa.st, DNS_NXDOMAIN);
	assert_int_equal(cn.st, DNS_OK);
	assert_string_equal(cn.text, "mx1.example.test");
	assert_int_equal(cn2.st, DNS_OK);
	assert_string_equal(cn2.text, "tok.dkim.amazonses.com");
	assert_int_equal(nocn.st, DNS_NODATA);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(all[i]->calls, 1);
	dns_free(d);
	event_base_free(base);
}

/* A UDP socket that never answers: every query ends in DNS_TIMEOUT, in bounded time. */
static void
test_timeout(void **state)
{
	(void)state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int silent = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(silent, (struct sockaddr *)&sa, &sl), 0);
	char srv[64];
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", ntohs(sa.sin_port));

	struct event_base *base = event_base_new();
	struct dns *d = dns_new_opts(base, srv, 200, 2, NULL);
	assert_non_null(d);
	struct answer t = {0}, m = {0}, a = {0};
	struct answer *all[] = {&t, &m, &a};
	long start = now_ms();
	dns_txt(d, "_amazonses.example.test", on_txt, &t);
	dns_mx(d, "example.test", on_mx, &m);
	dns_a(d, "example.test", on_addr, &a);
	run(base, all, 3, 5000);
	long took = now_ms() - start;
	print_message("timeouts reported after %ld ms\n", took);
	assert_true(t.done && m.done && a.done);
	assert_int_equal(t.st, DNS_TIMEOUT);
	assert_int_equal(m.st, DNS_TIMEOUT);
	assert_int_equal(a.st, DNS_TIMEOUT);
	assert_true(dns_status_temporary(t.st));
	/* 200 ms then 400 ms: well under two seconds, and not before the first try ended */
	assert_true(took >= 200);
	assert_true(took < 2000);
	dns_free(d);
	event_base_free(base);
	close(silent);
}

/* Nothing listens: a temporary failure, quickly. */
static void
test_refused_port(void **state)
{
	(void)state;
	int port = free_port();
	assert_true(port > 0);
	char srv[64];
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	struct event_base *base = event_base_new();
	struct dns *d = dns_new_opts(base, srv, 300, 2, NULL);
	struct answer t = {0}, *tp = &t;
	long start = now_ms();
	dns_txt(d, "example.test", on_txt, &t);
	run(base, &tp, 1, 5000);
	assert_true(t.done);
	print_message("closed port: %s after %ld ms\n", dns_status_str(t.st), now_ms() - start);
	assert_true(dns_status_temporary(t.st));
	assert_int_not_equal(t.st, DNS_CANCELLED);
	assert_true(now_ms() - start < 2500);
	dns_free(d);
	event_base_free(base);
}

/* dns_cancel silences a query; dns_free answers the rest with DNS_CANCELLED. */
static void
test_cancel_and_free(void **state)
{
	(void)state;
	int silent = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(silent, (struct sockaddr *)&sa, &sl);
	char srv[64];
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", ntohs(sa.sin_port));

	struct event_base *base = event_base_new();
	struct dns *d = dns_new_opts(base, srv, 100, 1, NULL);
	struct answer c1 = {0}, c2 = {0}, bad = {0}, keep = {0};
	struct dns_query *q1 = dns_txt(d, "a.example.test", on_txt, &c1);
	struct dns_query *q2 = dns_a(d, "b.example.test", on_addr, &c2);
	struct dns_query *qb = dns_txt(d, "bad name", on_txt, &bad); /* completes at once */
	dns_cancel(q1);
	dns_cancel(q2);
	dns_cancel(qb);
	dns_cancel(NULL);
	struct answer *kp = &keep;
	dns_txt(d, "c.example.test", on_txt, &keep);
	run(base, &kp, 1, 3000);
	assert_int_equal(keep.st, DNS_TIMEOUT);
	assert_int_equal(c1.calls + c2.calls + bad.calls, 0);

	/* pending at free time: one callback each, DNS_CANCELLED */
	struct answer p1 = {0}, p2 = {0}, p3 = {0};
	dns_txt(d, "p1.example.test", on_txt, &p1);
	dns_mx(d, "p2.example.test", on_mx, &p2);
	dns_txt(d, "bad name", on_txt, &p3); /* delivery event pending, not yet run */
	dns_free(d);
	assert_int_equal(p1.calls, 1);
	assert_int_equal(p1.st, DNS_CANCELLED);
	assert_int_equal(p2.calls, 1);
	assert_int_equal(p2.st, DNS_CANCELLED);
	assert_int_equal(p3.calls, 1);
	assert_int_equal(p3.st, DNS_CANCELLED);
	/* nothing fires afterwards */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(p1.calls + p2.calls + p3.calls, 3);
	dns_free(NULL);
	event_base_free(base);
	close(silent);
}

/* A callback may free the resolver. */
static struct dns *freeing_dns;
static void
on_txt_free(void *arg, enum dns_status st, const struct dns_txt *txt, size_t n)
{
	struct answer *a = arg;
	a->calls++;
	a->done = true;
	a->st = st;
	dns_free(freeing_dns);
	freeing_dns = NULL;
}

static void
test_free_from_callback(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct event_base *base = event_base_new();
	freeing_dns = dns_new(base, server, NULL);
	struct answer a = {0}, b = {0}, *ap = &a;
	dns_txt(freeing_dns, "_amazonses.example.test", on_txt_free, &a);
	dns_txt(freeing_dns, "bad name", on_txt, &b);
	dns_txt(freeing_dns, "nope.example.test", on_txt, &b);
	run(base, &ap, 1, 5000);
	assert_int_equal(a.calls, 1);
	assert_null(freeing_dns);
	/* the bad name is delivered first (at once), then the others; b's second
	 * query is either answered or cancelled by the free, exactly once */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(b.calls, 2);
	event_base_free(base);
}

static void
test_server_syntax(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"127.0.0.1", true},     {"127.0.0.1:5353", true}, {"[::1]:5353", true},
		{"::1", true},           {"[::1]", true},          {"127.0.0.1:65535", true},
		{"localhost:53", false}, {"127.0.0.1:0", false},   {"127.0.0.1:65536", false},
		{"127.0.0.1:", false},   {"127.0.0.1:x", false},   {"[::1", false},
		{"[::1]x", false},       {"", false},              {"1.2.3:53", false},
		{"127.0.0.1:-1", false}, {"[127.0.0.1]:53", false},
	};
	(void)state;
	struct event_base *base = event_base_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e;
		err_clear(&e);
		struct dns *d = dns_new(base, cases[i].s, &e);
		if (cases[i].ok != (d != NULL))
			fail_msg("server '%s': %s (%s)", cases[i].s, d ? "accepted" : "refused",
				 e.message);
		if (d == NULL)
			assert_string_equal(e.code, "InvalidParameterValue");
		dns_free(d);
	}
	struct dns *d = dns_new(base, NULL, NULL);
	assert_non_null(d);
	dns_free(d);
	assert_null(dns_new_opts(base, NULL, 0, 2, NULL));
	assert_null(dns_new_opts(base, NULL, 100, 0, NULL));
	event_base_free(base);
}

static void
test_status_strings(void **state)
{
	(void)state;
	assert_string_equal(dns_status_str(DNS_OK), "ok");
	assert_string_equal(dns_status_str(DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_status_str(DNS_TIMEOUT), "timeout");
	assert_false(dns_status_temporary(DNS_NXDOMAIN));
	assert_false(dns_status_temporary(DNS_NODATA));
	assert_false(dns_status_temporary(DNS_BADNAME));
	assert_true(dns_status_temporary(DNS_TEMPFAIL));
	assert_true(dns_status_temporary(DNS_TIMEOUT));
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_mx_a_cname),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused_port),
		cmocka_unit_test(test_cancel_and_free),
		cmocka_unit_test(test_free_from_callback),
		cmocka_unit_test(test_server_syntax),
		cmocka_unit_test(test_status_strings),
	};
	return cmocka_run_group_tests(tests, start_dnsmasq, stop_dnsmasq);
}
