/* test_cidr.c — table-driven tests for src/core/cidr.c: parsing, masking,
 * matching, client addresses (IPv4-mapped IPv6) and the --admin-allow list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/cidr.h"

static void
test_parse(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		int fam, prefix;
		const char *masked; /* the network, as cidr_parse of it with no host bits */
	} rows[] = {
	    {"10.0.0.0/8", true, 4, 8, "10.0.0.0/8"},
	    {"10.1.2.3/8", true, 4, 8, "10.0.0.0/8"},
	    {"10.0.0.1", true, 4, 32, "10.0.0.1/32"},
	    {"0.0.0.0/0", true, 4, 0, "0.0.0.0/0"},
	    {"192.168.1.255/23", true, 4, 23, "192.168.0.0/23"},
	    {"::1", true, 6, 128, "::1/128"},
	    {"2001:db8::/32", true, 6, 32, "2001:db8::/32"},
	    {"2001:db8:ffff::1/33", true, 6, 33, "2001:db8:8000::/33"},
	    {"::ffff:1.2.3.4/128", true, 6, 128, "::ffff:1.2.3.4/128"}, /* family kept */
	    {"10.0.0.0/32", true, 4, 32, "10.0.0.0/32"},
	    {"::/128", true, 6, 128, "::/128"},
	    {"10.0.0.0/33", false, 0, 0, NULL},
	    {"::/129", false, 0, 0, NULL},
	    {"10.0.0.0/-1", false, 0, 0, NULL},
	    {"10.0.0/8", false, 0, 0, NULL},
	    {"/8", false, 0, 0, NULL},
	    {"10.0.0.0/", false, 0, 0, NULL},
	    {"10.0.0.0/8/8", false, 0, 0, NULL},
	    {"10.0.0.0/0008", false, 0, 0, NULL},
	    {"10.0.0.0/ 8", false, 0, 0, NULL},
	    {" 10.0.0.1", false, 0, 0, NULL},
	    {"fe80::1%eth0", false, 0, 0, NULL},
	    {"localhost", false, 0, 0, NULL},
	    {"", false, 0, 0, NULL},
	    /* IPv6 written out in full; text past the cap never reaches inet_pton */
	    {"0000:0000:0000:0000:0000:0000:0000:0001/128", true, 6, 128, "::1/128"},
	    {"0000:0000:0000:0000:0000:0000:0000:00000000000000000000000001", false, 0, 0, NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cidr c, m;
		bool ok = cidr_parse(rows[i].s, &c);
		if (ok != rows[i].ok ||
		    (ok && (c.fam != rows[i].fam || c.prefix != rows[i].prefix))) {
			print_error("row %zu: '%s' ok=%d fam=%d prefix=%d\n", i, rows[i].s, ok,
			            ok ? c.fam : 0, ok ? c.prefix : 0);
			fail();
		}
		if (!ok)
			continue;
		assert_true(cidr_parse(rows[i].masked, &m));
		if (memcmp(&c, &m, sizeof(c)) != 0) {
			print_error("row %zu: '%s' is not masked to '%s'\n", i, rows[i].s,
			            rows[i].masked);
			fail();
		}
	}
}

static void
test_contains(void **state)
{
	static const struct {
		const char *net, *addr;
		bool in;
	} rows[] = {
	    {"127.0.0.1/32", "127.0.0.1", true},
	    {"127.0.0.1/32", "127.0.0.2", false},
	    {"127.0.0.0/8", "127.0.0.2", true},
	    {"127.0.0.0/8", "127.255.255.255", true},
	    {"127.0.0.0/8", "128.0.0.0", false},
	    {"10.0.0.0/31", "10.0.0.1", true},
	    {"10.0.0.0/31", "10.0.0.2", false},
	    {"192.168.0.0/23", "192.168.1.7", true},
	    {"192.168.0.0/23", "192.168.2.7", false},
	    {"0.0.0.0/0", "203.0.113.9", true},
	    {"0.0.0.0/0", "::1", false}, /* never across families */
	    {"::/0", "127.0.0.1", false},
	    {"::/0", "2001:db8::1", true},
	    {"::1/128", "::1", true},
	    {"::1/128", "::2", false},
	    {"2001:db8::/33", "2001:db8:7fff::1", true},
	    {"2001:db8::/33", "2001:db8:8000::1", false},
	    {"::ffff:127.0.0.0/104", "::ffff:127.0.0.2", true}, /* as written: IPv6 */
	    {"127.0.0.0/8", "::ffff:127.0.0.2", false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cidr n, a;
		assert_true(cidr_parse(rows[i].net, &n));
		assert_true(cidr_parse(rows[i].addr, &a));
		if (cidr_contains(&n, &a) != rows[i].in) {
			print_error("row %zu: %s in %s should be %d\n", i, rows[i].addr,
			            rows[i].net, rows[i].in);
			fail();
		}
	}
}

static void
test_client(void **state)
{
	struct cidr c, want;
	(void)state;

	/* an IPv4 client of a dual-stack listener is the IPv4 address */
	assert_true(cidr_parse_client("::ffff:127.0.0.2", &c));
	assert_true(cidr_parse("127.0.0.2", &want));
	assert_memory_equal(&c, &want, sizeof(c));
	assert_true(cidr_parse_client("::FFFF:10.1.2.3", &c));
	assert_int_equal(c.fam, 4);
	/* other IPv6 addresses stay IPv6; ::127.0.0.2 (IPv4-compatible) is not mapped */
	assert_true(cidr_parse_client("::127.0.0.2", &c));
	assert_int_equal(c.fam, 6);
	assert_true(cidr_parse_client("::1", &c));
	assert_int_equal(c.fam, 6);
	assert_int_equal(c.prefix, 128);
	/* a client is one host, never a block */
	assert_false(cidr_parse_client("127.0.0.0/8", &c));
	assert_false(cidr_parse_client("", &c));
	assert_false(cidr_parse_client("unix:/tmp/s", &c));
}

static void
test_list(void **state)
{
	struct cidr l[CIDR_LIST_MAX + 1];
	size_t n = 99;
	struct err e;
	(void)state;

	/* the default */
	assert_int_equal(cidr_list_parse("127.0.0.1/32,::1/128", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_true(cidr_list_allows(l, n, "127.0.0.1"));
	assert_true(cidr_list_allows(l, n, "::ffff:127.0.0.1"));
	assert_true(cidr_list_allows(l, n, "::1"));
	assert_false(cidr_list_allows(l, n, "127.0.0.2"));
	assert_false(cidr_list_allows(l, n, "::ffff:127.0.0.2"));
	assert_false(cidr_list_allows(l, n, "10.0.0.1"));
	assert_false(cidr_list_allows(l, n, ""));
	assert_false(cidr_list_allows(l, n, NULL));
	assert_false(cidr_list_allows(l, n, "garbage"));

	/* blanks around items; a mapped IPv6 block is the IPv4 block it maps */
	assert_int_equal(
	    cidr_list_parse(" 10.0.0.0/8 , ::ffff:192.168.0.0/112", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(l[1].fam, 4);
	assert_int_equal(l[1].prefix, 16);
	assert_true(cidr_list_allows(l, n, "192.168.4.5"));
	assert_true(cidr_list_allows(l, n, "::ffff:192.168.4.5"));
	assert_false(cidr_list_allows(l, n, "192.169.0.1"));
	assert_true(cidr_list_allows(l, n, "10.9.9.9"));
	/* a mapped block shorter than /96 reaches beyond IPv4: it stays IPv6 */
	assert_int_equal(cidr_list_parse("::ffff:0:0/95", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(l[0].fam, 6);

	/* the empty list contains nobody */
	assert_int_equal(cidr_list_parse("", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_false(cidr_list_allows(l, n, "127.0.0.1"));
	assert_int_equal(cidr_list_parse("  ", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(n, 0);

	/* everyone */
	assert_int_equal(cidr_list_parse("0.0.0.0/0,::/0", l, CIDR_LIST_MAX, &n, &e), 0);
	assert_true(cidr_list_allows(l, n, "203.0.113.7"));
	assert_true(cidr_list_allows(l, n, "2001:db8::7"));

	/* errors name the item */
	static const struct {
		const char *list, *msg;
	} bad[] = {
	    {"127.0.0.1/33", "bad CIDR '127.0.0.1/33' in '127.0.0.1/33'"},
	    {"127.0.0.1,", "bad CIDR '' in '127.0.0.1,'"},
	    {",127.0.0.1", "bad CIDR '' in ',127.0.0.1'"},
	    {"127.0.0.1,,::1", "bad CIDR '' in '127.0.0.1,,::1'"},
	    {"127.0.0.1 ::1", "bad CIDR '127.0.0.1 ::1' in '127.0.0.1 ::1'"},
	    {"localhost", "bad CIDR 'localhost' in 'localhost'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cidr_list_parse(bad[i].list, l, CIDR_LIST_MAX, &n, &e), -1);
		assert_string_equal(e.message, bad[i].msg);
		assert_int_equal(n, 0);
	}

	/* the cap on items: CIDR_LIST_MAX fit, one more does not */
	char big[CIDR_LIST_MAX * 16 + 16];
	size_t off = 0;
	for (int i = 0; i <= CIDR_LIST_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%s10.0.%d.0/24",
		                        i ? "," : "", i);
	assert_int_equal(cidr_list_parse(big, l, CIDR_LIST_MAX + 1, &n, &e), 0);
	assert_int_equal(n, CIDR_LIST_MAX + 1);
	assert_int_equal(cidr_list_parse(big, l, CIDR_LIST_MAX, &n, &e), -1);
	assert_non_null(strstr(e.message, "more than 32 CIDRs"));
	*strrchr(big, ',') = '\0';
	assert_int_equal(cidr_list_parse(big, l, CIDR_LIST_MAX, &n, &e), 0);
	assert_int_equal(n, CIDR_LIST_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_client),
	    cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
