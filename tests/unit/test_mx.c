/*
 * test_mx.c — src/delivery/mx.c against a real dnsmasq on a loopback port
 * (started and killed here, as test_dns.c does), a UDP socket that never
 * answers (DNS timeout) and a closed port (DNS down).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
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

#include "delivery/mx.h"
#include "dns/dns.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define PORT    2525

static pid_t dnsmasq_pid = -1;
static int dnsmasq_port;
static char server[64];

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
	    DNSMASQ,
	    "--no-daemon",
	    port_arg,
	    "--listen-address=127.0.0.1",
	    "--bind-interfaces",
	    "--no-resolv",
	    "--no-hosts",
	    "--conf-file=/dev/null",
	    "--pid-file=",
	    "--local=/test/",
	    /* preferences: mxa (10) before mxb (20) */
	    "--mx-host=pref.test,mxb.pref.test,20",
	    "--mx-host=pref.test,mxa.pref.test,10",
	    "--host-record=mxa.pref.test,192.0.2.1,2001:db8::1",
	    "--host-record=mxb.pref.test,192.0.2.2",
	    /* two at 10 in random order, one at 20 always last */
	    "--mx-host=eq.test,e1.eq.test,10",
	    "--mx-host=eq.test,e2.eq.test,10",
	    "--mx-host=eq.test,e3.eq.test,20",
	    "--host-record=e1.eq.test,192.0.2.11",
	    "--host-record=e2.eq.test,192.0.2.12",
	    "--host-record=e3.eq.test,192.0.2.13",
	    /* no MX: the domain's own address */
	    "--host-record=amx.test,192.0.2.30,2001:db8::30",
	    /* null MX (RFC 7505): preference 0, the root name */
	    "--dns-rr=nullmx.test,15,000000",
	    /* a null MX beside a real one */
	    "--dns-rr=mix.test,15,000000",
	    "--mx-host=mix.test,real.mix.test,10",
	    "--host-record=real.mix.test,192.0.2.40",
	    /* MX hosts without addresses */
	    "--mx-host=ghost.test,nothere.ghost.test,10",
	    "--mx-host=half.test,nothere.half.test,5",
	    "--mx-host=half.test,there.half.test,10",
	    "--host-record=there.half.test,192.0.2.50",
	    "--host-record=relay.test,192.0.2.60,2001:db8::60",
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
	int calls;
	bool in_submit;
	enum mx_status st;
	int code;
	char enhanced[16];
	char text[SMTPC_TEXT_MAX];
	bool implicit;
	size_t n;
	char list[1024]; /* "host=addr:port|…" */
};

static void
on_mx_done(void *arg, const struct mx_result *r)
{
	struct answer *a = arg;
	assert_false(a->in_submit);
	a->calls++;
	a->st = r->status;
	a->code = r->code;
	snprintf(a->enhanced, sizeof(a->enhanced), "%s", r->enhanced);
	snprintf(a->text, sizeof(a->text), "%s", r->text);
	a->implicit = r->implicit;
	a->n = r->n;
	a->list[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		const struct smtpc_target *t = &r->targets[i];
		char ip[INET6_ADDRSTRLEN];
		unsigned port;
		if (t->addr.ss_family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)&t->addr;
			inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
			port = ntohs(s->sin_port);
		} else {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&t->addr;
			inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
			port = ntohs(s->sin6_port);
		}
		size_t l = strlen(a->list);
		snprintf(a->list + l, sizeof(a->list) - l, "%s%s=%s:%u", i ? "|" : "",
		         t->host ? t->host : "", ip, port);
	}
}

static void
run(struct event_base *base, struct answer **as, size_t n, long ms)
{
	long deadline = now_ms() + ms;
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && as[i]->calls > 0;
		if (all || now_ms() > deadline)
			return;
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
resolve(struct event_base *base, struct mx *m, const char *domain, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->in_submit = true;
	assert_non_null(mx_resolve(m, domain, on_mx_done, a));
	a->in_submit = false;
	run(base, &a, 1, 8000);
	if (a->calls != 1)
		fail_msg("%s: %d calls", domain, a->calls);
}

struct fixture {
	struct event_base *base;
	struct dns *dns;
	struct mx *mx;
};

static void
fixture_open(struct fixture *f, const char *srv, int timeout_ms, const struct mx_conf *conf)
{
	struct mx_conf def = {.port = PORT};
	f->base = event_base_new();
	f->dns = dns_new_opts(f->base, srv, timeout_ms, 2, NULL);
	assert_non_null(f->dns);
	f->mx = mx_new(f->base, f->dns, conf != NULL ? conf : &def);
}

static void
fixture_close(struct fixture *f)
{
	mx_free(f->mx);
	dns_free(f->dns);
	event_base_free(f->base);
}

/* ---- tests ------------------------------------------------------------------- */

static void
test_preference_order(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct fixture f;
	struct answer a;
	fixture_open(&f, server, 1000, NULL);
	resolve(f.base, f.mx, "pref.test", &a);
	assert_int_equal(a.st, MX_OK);
	assert_false(a.implicit);
	assert_string_equal(a.list, "mxa.pref.test=192.0.2.1:2525|mxa.pref.test=2001:db8::1:2525|"
	                            "mxb.pref.test=192.0.2.2:2525");
	/* trailing dot and case do not matter */
	resolve(f.base, f.mx, "PREF.test.", &a);
	assert_int_equal(a.n, 3);
	fixture_close(&f);
}

static void
test_equal_preferences_random(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct fixture f;
	struct answer a;
	int first_e1 = 0, first_e2 = 0;
	fixture_open(&f, server, 1000, NULL);
	for (int i = 0; i < 50; i++) {
		resolve(f.base, f.mx, "eq.test", &a);
		assert_int_equal(a.st, MX_OK);
		if (strcmp(a.list, "e1.eq.test=192.0.2.11:2525|e2.eq.test=192.0.2.12:2525|"
		                   "e3.eq.test=192.0.2.13:2525") == 0)
			first_e1++;
		else if (strcmp(a.list, "e2.eq.test=192.0.2.12:2525|e1.eq.test=192.0.2.11:2525|"
		                        "e3.eq.test=192.0.2.13:2525") == 0)
			first_e2++;
		else
			fail_msg("unexpected order %s", a.list);
	}
	print_message("e1 first %d times, e2 first %d times of 50\n", first_e1, first_e2);
	assert_true(first_e1 > 0 && first_e2 > 0);
	fixture_close(&f);
}

/* An injected random source makes the order reproducible. */
static uint32_t
always_zero(void *arg, uint32_t upper)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_injected_random(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	int calls = 0;
	struct mx_conf conf = {.port = 25, .rand_uniform = always_zero, .rand_arg = &calls};
	struct fixture f;
	struct answer a;
	fixture_open(&f, server, 1000, &conf);
	for (int i = 0; i < 5; i++) {
		resolve(f.base, f.mx, "eq.test", &a);
		/* Fisher-Yates with k = 0 always swaps the two equals */
		assert_string_equal(a.list, "e2.eq.test=192.0.2.12:25|e1.eq.test=192.0.2.11:25|"
		                            "e3.eq.test=192.0.2.13:25");
	}
	assert_int_equal(calls, 5);
	fixture_close(&f);
}

static void
test_failures_and_fallbacks(void **state)
{
	static const struct {
		const char *domain;
		enum mx_status st;
		int code;
		const char *enhanced;
		const char *text;
		const char *list;
		bool implicit;
	} cases[] = {
	    {"amx.test", MX_OK, 0, "", "", "amx.test=192.0.2.30:2525|amx.test=2001:db8::30:2525",
	     true},
	    {"nope.test", MX_PERMFAIL, 550, "5.1.2", "5.1.2 host not found", "", false},
	    {"nullmx.test", MX_PERMFAIL, 556, "5.1.10", NULL, "", false},
	    {"mix.test", MX_OK, 0, "", "", "real.mix.test=192.0.2.40:2525", false},
	    {"ghost.test", MX_PERMFAIL, 550, "5.1.2", "5.1.2 host not found", "", false},
	    {"half.test", MX_OK, 0, "", "", "there.half.test=192.0.2.50:2525", false},
	    {"outside.other", MX_TEMPFAIL, 451, "4.4.3", NULL, "", false}, /* REFUSED */
	    {"bad name.test", MX_PERMFAIL, 550, "5.1.2", "5.1.2 host not found", "", false},
	    {"", MX_PERMFAIL, 550, "5.1.2", "5.1.2 host not found", "", false},
	    {"[192.0.2.99]", MX_OK, 0, "", "", "[192.0.2.99]=192.0.2.99:2525", false},
	    {"[IPv6:2001:db8::9]", MX_OK, 0, "", "", "[IPv6:2001:db8::9]=2001:db8::9:2525", false},
	    {"[2001:db8::9]", MX_PERMFAIL, 550, "5.1.2", NULL, "", false},
	    {"[IPv6:192.0.2.1]", MX_PERMFAIL, 550, "5.1.2", NULL, "", false},
	    {"[not an ip]", MX_PERMFAIL, 550, "5.1.2", NULL, "", false},
	};
	(void)state;
	NEED_DNSMASQ();
	struct fixture f;
	fixture_open(&f, server, 1000, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct answer a;
		resolve(f.base, f.mx, cases[i].domain, &a);
		if (a.st != cases[i].st || strcmp(a.list, cases[i].list) != 0 ||
		    a.implicit != cases[i].implicit)
			fail_msg("%s: %s '%s' (%s), want %s '%s'", cases[i].domain,
			         mx_status_str(a.st), a.list, a.text, mx_status_str(cases[i].st),
			         cases[i].list);
		if (a.st == MX_OK)
			continue;
		assert_int_equal(a.code, cases[i].code);
		assert_string_equal(a.enhanced, cases[i].enhanced);
		if (cases[i].text != NULL)
			assert_string_equal(a.text, cases[i].text);
		/* the text starts with the enhanced code, as a server's would */
		assert_memory_equal(a.text, a.enhanced, strlen(a.enhanced));
		assert_int_equal(a.n, 0);
	}
	fixture_close(&f);
}

/* DNS down or silent: temporary failures, in bounded time. */
static void
test_dns_down(void **state)
{
	(void)state;
	char srv[64];
	struct fixture f;
	struct answer a;

	snprintf(srv, sizeof(srv), "127.0.0.1:%d", free_port());
	fixture_open(&f, srv, 200, NULL);
	resolve(f.base, f.mx, "pref.test", &a);
	assert_int_equal(a.st, MX_TEMPFAIL);
	assert_int_equal(a.code, 451);
	assert_string_equal(a.enhanced, "4.4.3");
	fixture_close(&f);

	int silent = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(silent, (struct sockaddr *)&sa, &sl);
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", ntohs(sa.sin_port));
	fixture_open(&f, srv, 100, NULL);
	long start = now_ms();
	resolve(f.base, f.mx, "pref.test", &a);
	print_message("DNS timeout reported after %ld ms\n", now_ms() - start);
	assert_int_equal(a.st, MX_TEMPFAIL);
	assert_string_equal(a.enhanced, "4.4.3");
	/* the relay helper: temporary too */
	struct answer r = {0}, *rp = &r;
	mx_relay(f.mx, "relay.test", 2525, on_mx_done, &r);
	run(f.base, &rp, 1, 5000);
	assert_int_equal(r.st, MX_TEMPFAIL);
	fixture_close(&f);
	close(silent);
}

static void
test_relay(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct fixture f;
	struct answer a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
	struct answer *all[] = {&a, &b, &c, &d, &e};
	fixture_open(&f, server, 1000, NULL);
	a.in_submit = b.in_submit = c.in_submit = d.in_submit = e.in_submit = true;
	mx_relay(f.mx, "127.0.0.1", 2526, on_mx_done, &a);
	mx_relay(f.mx, "relay.test", 587, on_mx_done, &b);
	mx_relay(f.mx, "nope.test", 25, on_mx_done, &c);
	mx_relay(f.mx, "::1", 25, on_mx_done, &d);
	mx_relay(f.mx, "127.0.0.1", 0, on_mx_done, &e);
	a.in_submit = b.in_submit = c.in_submit = d.in_submit = e.in_submit = false;
	assert_int_equal(a.calls, 0); /* even an IP literal is answered from the loop */
	run(f.base, all, 5, 5000);
	assert_int_equal(a.st, MX_OK);
	assert_string_equal(a.list, "127.0.0.1=127.0.0.1:2526");
	assert_int_equal(b.st, MX_OK);
	assert_string_equal(b.list, "relay.test=192.0.2.60:587|relay.test=2001:db8::60:587");
	/* a smarthost that does not resolve never bounces mail */
	assert_int_equal(c.st, MX_TEMPFAIL);
	assert_string_equal(c.enhanced, "4.4.4");
	assert_int_equal(d.st, MX_OK);
	assert_string_equal(d.list, "::1=::1:25");
	assert_int_equal(e.st, MX_TEMPFAIL);
	fixture_close(&f);
}

static void
test_cancel_and_free(void **state)
{
	(void)state;
	NEED_DNSMASQ();
	struct fixture f;
	struct answer c1 = {0}, c2 = {0}, keep = {0}, p1 = {0}, p2 = {0};
	fixture_open(&f, server, 1000, NULL);
	mx_cancel(mx_resolve(f.mx, "pref.test", on_mx_done, &c1));
	mx_cancel(mx_resolve(f.mx, "[192.0.2.1]", on_mx_done, &c2)); /* already answered */
	mx_cancel(NULL);
	struct answer *kp = &keep;
	mx_resolve(f.mx, "eq.test", on_mx_done, &keep);
	run(f.base, &kp, 1, 5000);
	assert_int_equal(keep.st, MX_OK);
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	assert_int_equal(c1.calls + c2.calls, 0);

	/* outstanding at mx_free: one callback each, temporary */
	mx_resolve(f.mx, "pref.test", on_mx_done, &p1);
	mx_relay(f.mx, "127.0.0.1", 25, on_mx_done, &p2);
	mx_free(f.mx);
	assert_int_equal(p1.calls, 1);
	assert_int_equal(p1.st, MX_TEMPFAIL);
	assert_string_equal(p1.text, "4.3.2 shutting down");
	assert_int_equal(p2.calls, 1);
	assert_int_equal(p2.st, MX_OK); /* it was already answered: that answer stands */
	f.mx = NULL;
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	assert_int_equal(p1.calls + p2.calls, 2);
	fixture_close(&f);
}

static void
test_parse_hostport(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *host;
		unsigned port;
	} cases[] = {
	    {"smtp.example.com:587", 0, "smtp.example.com", 587},
	    {"127.0.0.1:2525", 0, "127.0.0.1", 2525},
	    {"[::1]:25", 0, "::1", 25},
	    {"[2001:db8::1]:65535", 0, "2001:db8::1", 65535},
	    {"host:0", -1, "", 0},
	    {"host:65536", -1, "", 0},
	    {"host:", -1, "", 0},
	    {"host", -1, "", 0},
	    {":25", -1, "", 0},
	    {"::1:25", -1, "", 0},
	    {"[::1]", -1, "", 0},
	    {"[::1]25", -1, "", 0},
	    {"[host]:25", -1, "", 0},
	    {"ho st:25", -1, "", 0},
	    {"host:25x", -1, "", 0},
	    {"host:-1", -1, "", 0},
	    {"host:+25", -1, "", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[256] = "";
		unsigned port = 0;
		struct err e;
		int rc = mx_parse_hostport(cases[i].in, host, sizeof(host), &port, &e);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		} else {
			assert_string_equal(e.code, "InvalidConfiguration");
		}
	}
	assert_string_equal(mx_status_str(MX_PERMFAIL), "permanent failure");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preference_order),
	    cmocka_unit_test(test_equal_preferences_random),
	    cmocka_unit_test(test_injected_random),
	    cmocka_unit_test(test_failures_and_fallbacks),
	    cmocka_unit_test(test_dns_down),
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_cancel_and_free),
	    cmocka_unit_test(test_parse_hostport),
	};
	return cmocka_run_group_tests(tests, start_dnsmasq, stop_dnsmasq);
}
