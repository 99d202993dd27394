/* test_address.c — table-driven tests for src/core/address.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/address.h"
#include "util/buf.h"
#include "util/err.h"

int punycode_encode(const uint32_t *in, size_t n, char *out, size_t cap, size_t *len_out);

/* ---- single mailboxes ----------------------------------------------------- */

struct mcase {
	const char *in;
	const char *name; /* expected display name, or NULL when an error is expected */
	const char *spec; /* expected spec, or the expected error message */
};

static const struct mcase mailbox_cases[] = {
	/* forms */
	{"a@b.com", "", "a@b.com"},
	{"<a@b.com>", "", "a@b.com"},
	{"  <a@b.com>  ", "", "a@b.com"},
	{"John Doe <john@example.com>", "John Doe", "john@example.com"},
	{"\"John Doe\" <john@example.com>", "John Doe", "john@example.com"},
	{"\"Doe, John\" <john@example.com>", "Doe, John", "john@example.com"},
	{"Doe, John <john@example.com>", "Doe, John", "john@example.com"},
	{"  John   Doe   <john@example.com>  ", "John Doe", "john@example.com"},
	{"\"John \\\"JD\\\" Doe\" <j@x.com>", "John \"JD\" Doe", "j@x.com"},
	{"\"  spaced  out \" <j@x.com>", "spaced  out", "j@x.com"},
	{"John Q. Public <jqp@example.com>", "John Q. Public", "jqp@example.com"},
	{"john@example.com <john@example.com>", "john@example.com", "john@example.com"},
	{"Jörg <j@x.com>", "Jörg", "j@x.com"},
	{"John<j@x.com>", "John", "j@x.com"},
	{"\"J\"\"D\" <j@x.com>", "JD", "j@x.com"},
	/* comments */
	{"a@b.com (John)", "", "a@b.com"},
	{"(lead) a@b.com", "", "a@b.com"},
	{"John (the man) Doe <j@x.com>", "John Doe", "j@x.com"},
	{"a@b.com (x (y) z)", "", "a@b.com"},
	{"a@b.com (a \\) paren)", "", "a@b.com"},
	{"\"(not a comment)\" <j@x.com>", "(not a comment)", "j@x.com"},
	/* RFC 2047 */
	{"=?UTF-8?B?SsO2cmc=?= <j@x.com>", "Jörg", "j@x.com"},
	{"=?UTF-8?B?SsO2cmc?= <j@x.com>", "Jörg", "j@x.com"},
	{"=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@x.com>", "Jörg Müller", "j@x.com"},
	{"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "André Pirard",
	 "PIRARD@vm1.ulg.ac.be"},
	{"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore", "moore@cs.utk.edu"},
	{"=?UTF-8?B?5pel5pys?= =?UTF-8?B?6Kqe?= <a@b.com>", "日本語", "a@b.com"},
	{"=?UTF-8?B?ww==?= =?UTF-8?B?tg==?= <a@b.com>", "ö", "a@b.com"},
	{"=?UTF-8?Q?a?= b <a@b.com>", "a b", "a@b.com"},
	{"a =?UTF-8?Q?b?= <a@b.com>", "a b", "a@b.com"},
	{"=?ISO-8859-1?Q?a?= =?UTF-8?Q?b?= <a@b.com>", "ab", "a@b.com"},
	{"=?windows-1252?Q?=80uro?= <a@b.com>", "€uro", "a@b.com"},
	{"=?ISO-8859-2?Q?=A3ukasz?= <a@b.com>", "Łukasz", "a@b.com"},
	{"=?UTF-8*en?Q?Hi?= <a@b.com>", "Hi", "a@b.com"},
	{"=?bogus-charset?Q?x?= <a@b.com>", "=?bogus-charset?Q?x?=", "a@b.com"},
	{"=?UTF-8?B?!!!?= <a@b.com>", "=?UTF-8?B?!!!?=", "a@b.com"},
	{"=?UTF-8?Q?bad=ZZ?= <a@b.com>", "=?UTF-8?Q?bad=ZZ?=", "a@b.com"},
	{"=?UTF-8?X?abc?= <a@b.com>", "=?UTF-8?X?abc?=", "a@b.com"},
	{"=?UTF-8?B?/w==?= <a@b.com>", "=?UTF-8?B?/w==?=", "a@b.com"},
	{"\"=?UTF-8?B?SsO2cmc=?=\" <j@x.com>", "Jörg", "j@x.com"},
	{"=?UTF-8?Q?a=0Db?= <a@b.com>", NULL, "Display name contains control character"},
	{"=?UTF-8?Q?a=09b?= <a@b.com>", "a b", "a@b.com"},
	{"J\xffrg <a@b.com>", NULL, "Display name contains invalid UTF-8"},
	/* local parts */
	{"\"quoted local\"@example.com", "", "\"quoted local\"@example.com"},
	{"\"john\"@example.com", "", "john@example.com"},
	{"\"a\\\"b\"@example.com", "", "\"a\\\"b\"@example.com"},
	{"\"a\\b\"@example.com", "", "ab@example.com"},
	{"\"a@b\"@example.com", "", "\"a@b\"@example.com"},
	{"\"a..b\"@example.com", "", "\"a..b\"@example.com"},
	{"user+tag@example.com", "", "user+tag@example.com"},
	{"o'brien@example.com", "", "o'brien@example.com"},
	{"!#$%&'*+-/=?^_`{|}~@example.com", "", "!#$%&'*+-/=?^_`{|}~@example.com"},
	{"a.b.c@example.com", "", "a.b.c@example.com"},
	{"CaseKept@Example.COM", "", "CaseKept@Example.COM"},
	{"a@localhost", "", "a@localhost"},
	{"a@b.c0m", "", "a@b.c0m"},
	/* IDN */
	{"a@münchen.de", "", "a@xn--mnchen-3ya.de"},
	{"a@Bücher.example", "", "a@xn--bcher-kva.example"},
	{"a@ドメイン.テスト", "", "a@xn--eckwd4c7c.xn--zckzah"},
	{"a@xn--mnchen-3ya.de", "", "a@xn--mnchen-3ya.de"},
	{"a@ex\xe2\x80\x8b" "ample.com", NULL, "Domain contains control or whitespace"},
	{"a@ex\xc3" "ample.com", NULL, "Domain contains illegal character"},
	{"a@ex\xee\x80\x80.com", NULL, "Domain contains illegal character"},
	{"a@a\xe3\x80\x82" "com", NULL, "Domain contains illegal character"},
	{"dån@example.com", NULL, "Local address contains control or whitespace"},
	{"\"dån\"@example.com", NULL, "Local address contains control or whitespace"},
	/* errors in SES's words */
	{"", NULL, "Empty address"},
	{"   ", NULL, "Empty address"},
	{"<>", NULL, "Empty address"},
	{"example.com", NULL, "Missing final '@domain'"},
	{"John Doe", NULL, "Missing final '@domain'"},
	{"@example.com", NULL, "Missing local name"},
	{"\"\"@example.com", NULL, "Missing local name"},
	{"a@", NULL, "Missing domain"},
	{"a b@example.com", NULL, "Local address contains control or whitespace"},
	{"John a@b.com", NULL, "Local address contains control or whitespace"},
	{"a,b@example.com", NULL, "Local address contains illegal character"},
	{"a(b)c@example.com", NULL, "Local address contains control or whitespace"},
	{"a\\b@example.com", NULL, "Local address contains illegal character"},
	{"\"a\"b@example.com", NULL, "Local address contains illegal character"},
	{"\"a\tb\"@x.com", NULL, "Local address contains control or whitespace"},
	{".a@example.com", NULL, "Local address starts with dot"},
	{"a.@example.com", NULL, "Local address ends with dot"},
	{"a..b@example.com", NULL, "Local address contains dot-dot"},
	{"a@b@c.com", NULL, "Domain contains illegal character"},
	{"a@exa_mple.com", NULL, "Domain contains illegal character"},
	{"a@exa mple.com", NULL, "Domain contains control or whitespace"},
	{"a@example.com.", NULL, "Domain ends with dot"},
	{"a@.example.com", NULL, "Domain starts with dot"},
	{"a@example..com", NULL, "Domain contains dot-dot"},
	{"a@[192.0.2.1]", NULL, "Domain contains illegal character"},
	{"a@192.0.2.1", NULL, "Domain must not be an IP address"},
	{"a@-example.com", NULL, "Domain label starts or ends with hyphen"},
	{"a@example-.com", NULL, "Domain label starts or ends with hyphen"},
	{"John <a@b.com", NULL, "Missing '>'"},
	{"John a@b.com>", NULL, "Missing '<'"},
	{"<a@b.com> extra", NULL, "Unexpected text after '>'"},
	{"<@route:a@b.com>", NULL, "Illegal route-addr"},
	{"<<a@b.com>>", NULL, "Unexpected text after '>'"},
	{"<a<b@c.com>", NULL, "Extra route-addr"},
	{"\"unterminated <a@b.com>", NULL, "Missing '\"'"},
	{"(unterminated a@b.com", NULL, "Missing ')'"},
	{"a@b.com)", NULL, "Missing '('"},
	{"John\r\n <a@b.com>", NULL, "Local address contains control or whitespace"},
	{"a\r\n@example.com", NULL, "Local address contains control or whitespace"},
	{"a@exa\nmple.com", NULL, "Domain contains control or whitespace"},
	{"a@example.com\x7f", NULL, "Domain contains control or whitespace"},
	{"a@b.com (1(2(3(4(5(6(7(8(9(10(11(12(13(14(15(16(17)))))))))))))))))", NULL,
	 "Comments nested too deeply"},
	{"a@b.com (1(2(3(4(5(6(7(8(9(10(11(12(13(14(15(16))))))))))))))))", "", "a@b.com"},
};

static void
check_mailbox(const struct mcase *c, size_t n)
{
	struct address a;
	struct err e;

	err_clear(&e);
	int rc = address_parse(c->in, n, &a, &e);
	if (c->name != NULL) {
		if (rc != 0)
			fail_msg("'%s': unexpected error %s: %s", c->in, e.code, e.message);
		if (strcmp(a.name, c->name) != 0 || strcmp(a.spec, c->spec) != 0)
			fail_msg("'%s': got name '%s' spec '%s', want '%s' '%s'", c->in, a.name,
				 a.spec, c->name, c->spec);
		/* the parts add up to the spec */
		char joined[600];
		snprintf(joined, sizeof(joined), "%s@%s", a.local, a.domain);
		assert_string_equal(joined, a.spec);
	} else {
		if (rc != -1)
			fail_msg("'%s': accepted as '%s', want error '%s'", c->in, a.spec, c->spec);
		assert_string_equal(e.code, "InvalidParameterValue");
		assert_int_equal(e.http, 400);
		if (strcmp(e.message, c->spec) != 0)
			fail_msg("'%s': error '%s', want '%s'", c->in, e.message, c->spec);
	}
}

static void
test_mailboxes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mailbox_cases) / sizeof(mailbox_cases[0]); i++)
		check_mailbox(&mailbox_cases[i], strlen(mailbox_cases[i].in));
}

static void
test_embedded_nul(void **state)
{
	(void)state;
	struct mcase c1 = {"a@b\0.com", NULL, "Domain contains control or whitespace"};
	struct mcase c2 = {"a\0b@b.com", NULL, "Local address contains control or whitespace"};
	check_mailbox(&c1, 8);
	check_mailbox(&c2, 9);
	/* n is honoured: trailing bytes beyond n are not read */
	struct mcase c3 = {"a@b.comXXXX", "", "a@b.com"};
	check_mailbox(&c3, 7);
}

static void
test_idn_flag(void **state)
{
	struct address a;
	(void)state;
	assert_int_equal(address_parse("a@münchen.de", strlen("a@münchen.de"), &a, NULL), 0);
	assert_true(a.idn);
	assert_string_equal(a.domain, "xn--mnchen-3ya.de");
	assert_string_equal(a.local, "a");
	assert_int_equal(address_parse("a@mnchen.de", 11, &a, NULL), 0);
	assert_false(a.idn);
}

/* ---- limits: limit-1, limit, limit+1 ---------------------------------------- */

static char *
rep(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static int
parse_str(const char *s, struct address *a, struct err *e)
{
	err_clear(e);
	return address_parse(s, strlen(s), a, e);
}

static void
test_local_limit(void **state)
{
	struct address a;
	struct err e;
	char buf[400];
	(void)state;

	for (size_t n = 63; n <= 65; n++) {
		char *l = rep('x', n);
		snprintf(buf, sizeof(buf), "%s@example.com", l);
		int rc = parse_str(buf, &a, &e);
		if (n <= 64) {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(a.local), n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Local address too long");
		}
		/* quoted: the quotes count (RFC 5321 measures the local part as sent) */
		char *q = rep(' ', n - 2);
		snprintf(buf, sizeof(buf), "\"%s\"@example.com", q);
		rc = parse_str(buf, &a, &e);
		if (n <= 64) {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(a.local), n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Local address too long");
		}
		free(l);
		free(q);
	}
}

static void
test_label_limit(void **state)
{
	struct address a;
	struct err e;
	char buf[400];
	(void)state;

	for (size_t n = 62; n <= 64; n++) {
		char *l = rep('d', n);
		snprintf(buf, sizeof(buf), "a@%s.com", l);
		int rc = parse_str(buf, &a, &e);
		if (n <= 63) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Domain label too long");
		}
		free(l);
	}
	/* IDN: the A-label counts. "ü" + k ASCII letters -> "xn--" + k + "-" + 3 */
	for (size_t k = 54; k <= 56; k++) {
		char *l = rep('b', k);
		snprintf(buf, sizeof(buf), "a@\xc3\xbc%s.com", l);
		int rc = parse_str(buf, &a, &e);
		size_t alabel = 4 + k + 1 + 3;
		if (rc == 0) {
			assert_true(alabel <= 63);
			assert_int_equal(strlen(a.domain), alabel + 4);
		} else {
			assert_true(alabel > 63);
			assert_string_equal(e.message, "Domain label too long");
		}
		free(l);
	}
}

/* a domain of exactly n bytes made of 49-byte labels */
static void
make_domain(char *out, size_t n)
{
	size_t o = 0;
	while (o < n) {
		size_t left = n - o;
		size_t lab = left > 50 ? 49 : left;
		if (o > 0) {
			out[o++] = '.';
			left--;
			lab = left > 50 ? 49 : left;
		}
		memset(out + o, 'a' + (char)(o % 26), lab);
		o += lab;
	}
	out[n] = '\0';
}

static void
test_total_limits(void **state)
{
	struct address a;
	struct err e;
	char dom[300], buf[600];
	(void)state;

	/* spec <= 254: 1-byte local + '@' + 252-byte domain */
	make_domain(dom, 252);
	snprintf(buf, sizeof(buf), "a@%s", dom);
	assert_int_equal(parse_str(buf, &a, &e), 0);
	assert_int_equal(strlen(a.spec), 254);
	snprintf(buf, sizeof(buf), "ab@%s", dom);
	assert_int_equal(parse_str(buf, &a, &e), -1);
	assert_string_equal(e.message, "Address too long");
	make_domain(dom, 251);
	snprintf(buf, sizeof(buf), "a@%s", dom);
	assert_int_equal(parse_str(buf, &a, &e), 0);
	/* domain <= 253 */
	make_domain(dom, 254);
	snprintf(buf, sizeof(buf), "a@%s", dom);
	assert_int_equal(parse_str(buf, &a, &e), -1);
	assert_string_equal(e.message, "Domain too long");

	/* input cap */
	char *big = rep(' ', ADDRESS_INPUT_MAX + 1);
	memcpy(big, "a@b.com", 7);
	assert_int_equal(address_parse(big, ADDRESS_INPUT_MAX, &a, &e), 0);
	assert_int_equal(address_parse(big, ADDRESS_INPUT_MAX + 1, &a, &e), -1);
	assert_string_equal(e.message, "Address too long");
	free(big);
}

static void
test_name_limit(void **state)
{
	struct address a;
	struct err e;
	char buf[1200];
	(void)state;

	for (size_t n = ADDRESS_NAME_MAX - 1; n <= ADDRESS_NAME_MAX + 1; n++) {
		char *nm = rep('n', n);
		snprintf(buf, sizeof(buf), "%s <a@b.com>", nm);
		int rc = parse_str(buf, &a, &e);
		if (n <= ADDRESS_NAME_MAX) {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(a.name), n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Display name too long");
		}
		free(nm);
	}
}

/* ---- addr-spec only ------------------------------------------------------------ */

static void
test_spec_only(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* spec, or error message when ok == 0 */
		int ok;
	} cases[] = {
		{"a@b.com", "a@b.com", 1},
		{"\"x\"@b.com", "x@b.com", 1},
		{"a@münchen.de", "a@xn--mnchen-3ya.de", 1},
		{"<a@b.com>", "Local address contains illegal character", 0},
		{"John <a@b.com>", "Local address contains control or whitespace", 0},
		{" a@b.com", "Local address contains control or whitespace", 0},
		{"a@b.com ", "Domain contains control or whitespace", 0},
		{"a@b.com (c)", "Domain contains control or whitespace", 0},
		{"", "Empty address", 0},
		{"nodomain", "Missing final '@domain'", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct address a;
		struct err e;
		err_clear(&e);
		int rc = address_parse_spec(cases[i].in, strlen(cases[i].in), &a, &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s': %s", cases[i].in, e.message);
			assert_string_equal(a.spec, cases[i].want);
			assert_string_equal(a.name, "");
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted", cases[i].in);
			assert_string_equal(e.message, cases[i].want);
		}
	}
}

/* ---- lists --------------------------------------------------------------------- */

struct lcase {
	const char *in;
	size_t cap;
	int rc;
	const char *want; /* "spec|name;spec|name;..." or the error message */
};

static const struct lcase list_cases[] = {
	{"a@b.com", 10, 0, "a@b.com|"},
	{"a@b.com, \"C, D\" <c@d.com>", 10, 0, "a@b.com|;c@d.com|C, D"},
	{"Team: a@x.com, b@y.com;, c@z.com", 10, 0, "a@x.com|;b@y.com|;c@z.com|"},
	{"\"Team: A\": a@x.com;", 10, 0, "a@x.com|"},
	{"undisclosed-recipients:;", 10, 0, ""},
	{"undisclosed-recipients: ;", 10, 0, ""},
	{"", 10, 0, ""},
	{" , ,", 10, 0, ""},
	{"a@b.com,,c@d.com", 10, 0, "a@b.com|;c@d.com|"},
	{"a@b.com,\r\n c@d.com", 10, 0, "a@b.com|;c@d.com|"},
	{"John\r\n\tDoe <j@x.com>", 10, 0, "j@x.com|John Doe"},
	{"=?UTF-8?B?w7Y=?= <a@b.com>, x@y.com", 10, 0, "a@b.com|ö;x@y.com|"},
	{"a@b.com (comment, with comma), c@d.com", 10, 0, "a@b.com|;c@d.com|"},
	{"\"a,b\"@x.com, c@d.com", 10, 0, "\"a,b\"@x.com|;c@d.com|"},
	{"G: a@b.com; H: c@d.com;", 10, 0, "a@b.com|;c@d.com|"},
	{"a@b.com, b@b.com", 2, 0, "a@b.com|;b@b.com|"},
	{"a@b.com, b@b.com, c@b.com", 2, -1, "Too many addresses (limit 2)"},
	{"a@b.com, b@b.com", 1, -1, "Too many addresses (limit 1)"},
	{"a@b.com,\nc@d.com", 10, -1, "Local address contains control or whitespace"},
	{"a@b.com\r\n", 10, -1, "Domain contains control or whitespace"},
	{"A: B: c@d.com;;", 10, -1, "Nested group"},
	{"a@b.com; c@d.com", 10, -1, "Illegal semicolon, not in group"},
	{"G: a@b.com", 10, -1, "Missing ';' at end of group"},
	{"a@b.com G: c@d.com;", 10, -1, "Illegal group name"},
	{"<a@b.com>, <@x:c@d.com>", 10, -1, "Illegal route-addr"},
	{"Doe, John <j@x.com>", 10, -1, "Missing final '@domain'"},
	{"a@b.com, bad", 10, -1, "Missing final '@domain'"},
	{"\"open, a@b.com", 10, -1, "Missing '\"'"},
};

static void
test_lists(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct lcase *c = &list_cases[i];
		struct address out[10];
		struct err e;
		size_t n = 99;
		err_clear(&e);
		int rc = address_parse_list(c->in, strlen(c->in), out, c->cap, &n, &e);
		if (rc != c->rc)
			fail_msg("'%s': rc %d (%s), want %d", c->in, rc, e.message, c->rc);
		if (rc < 0) {
			assert_string_equal(e.code, "InvalidParameterValue");
			if (strcmp(e.message, c->want) != 0)
				fail_msg("'%s': error '%s', want '%s'", c->in, e.message, c->want);
			assert_int_equal(n, 0);
			continue;
		}
		char got[2000] = "";
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(got);
			snprintf(got + l, sizeof(got) - l, "%s%s|%s", k ? ";" : "", out[k].spec,
				 out[k].name);
		}
		if (strcmp(got, c->want) != 0)
			fail_msg("'%s': got '%s', want '%s'", c->in, got, c->want);
	}
}

static void
test_list_limits(void **state)
{
	struct address *out = calloc(60, sizeof(*out));
	struct err e;
	size_t n;
	struct buf b;
	(void)state;

	/* 50 addresses at cap 49, 50, 51 */
	buf_init(&b, 0);
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "%su%d@example.com", i ? ", " : "", i);
	assert_int_equal(address_parse_list(b.data, b.len, out, 49, &n, &e), -1);
	assert_int_equal(address_parse_list(b.data, b.len, out, 50, &n, &e), 0);
	assert_int_equal(n, 50);
	assert_string_equal(out[49].spec, "u49@example.com");
	assert_int_equal(address_parse_list(b.data, b.len, out, 51, &n, &e), 0);
	assert_int_equal(n, 50);
	/* input cap */
	buf_reset(&b);
	while (b.len < ADDRESS_LIST_INPUT_MAX + 1)
		buf_putc(&b, ' ');
	memcpy(b.data, "a@b.com", 7);
	assert_int_equal(address_parse_list(b.data, ADDRESS_LIST_INPUT_MAX, out, 1, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(address_parse_list(b.data, ADDRESS_LIST_INPUT_MAX + 1, out, 1, &n, &e),
			 -1);
	assert_string_equal(e.message, "Address list too long");
	buf_free(&b);
	free(out);
}

/* ---- domain_validate -------------------------------------------------------------- */

static void
test_domain_validate(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* normalised, or error message */
		int ok;
	} cases[] = {
		{"example.com", "example.com", 1},
		{"Example.COM", "example.com", 1},
		{"example.com.", "example.com", 1},
		{"mail.Sub.example.com", "mail.sub.example.com", 1},
		{"münchen.de", "xn--mnchen-3ya.de", 1},
		{"ドメイン.テスト", "xn--eckwd4c7c.xn--zckzah", 1},
		{"XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de", 1},
		{"1example.com", "1example.com", 1},
		{"", "Missing domain", 0},
		{"com", "Domain must have at least two labels", 0},
		{"com.", "Domain must have at least two labels", 0},
		{"example.com..", "Domain contains dot-dot", 0},
		{".example.com", "Domain starts with dot", 0},
		{"a..b.com", "Domain contains dot-dot", 0},
		{"192.0.2.1", "Domain must not be an IP address", 0},
		{"[192.0.2.1]", "Domain contains illegal character", 0},
		{"ex_ample.com", "Domain contains illegal character", 0},
		{"a@example.com", "Domain contains illegal character", 0},
		{"ex ample.com", "Domain contains control or whitespace", 0},
		{"-ex.com", "Domain label starts or ends with hyphen", 0},
		{"exa\tmple.com", "Domain contains control or whitespace", 0},
	};
	char out[ADDRESS_DOMAIN_MAX + 1];
	struct err e;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&e);
		int rc = domain_validate(cases[i].in, out, sizeof(out), &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s': %s", cases[i].in, e.message);
			assert_string_equal(out, cases[i].want);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted as '%s'", cases[i].in, out);
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_string_equal(e.message, cases[i].want);
		}
	}
	/* 252, 253, 254 bytes; with and without a trailing dot */
	char d[300];
	for (size_t n = 252; n <= 254; n++) {
		make_domain(d, n);
		int rc = domain_validate(d, out, sizeof(out), &e);
		assert_int_equal(rc, n <= 253 ? 0 : -1);
		if (rc == 0)
			assert_int_equal(strlen(out), n);
		else
			assert_string_equal(e.message, "Domain too long");
		size_t dl = strlen(d);
		d[dl] = '.';
		d[dl + 1] = '\0';
		assert_int_equal(domain_validate(d, out, sizeof(out), &e), n <= 253 ? 0 : -1);
	}
	/* label 63 / 64 */
	char lab[80];
	memset(lab, 'q', 63);
	memcpy(lab + 63, ".com", 5);
	assert_int_equal(domain_validate(lab, out, sizeof(out), &e), 0);
	memset(lab, 'q', 64);
	memcpy(lab + 64, ".com", 5);
	assert_int_equal(domain_validate(lab, out, sizeof(out), &e), -1);
	assert_string_equal(e.message, "Domain label too long");
	/* a small out buffer is refused, not overrun */
	assert_int_equal(domain_validate("example.com", out, 11, &e), -1);
	assert_int_equal(domain_validate("example.com", out, 12, &e), 0);
}

/* ---- punycode (RFC 3492 section 7.1) ------------------------------------------------- */

static void
test_punycode(void **state)
{
	static const struct {
		uint32_t cp[40];
		size_t n;
		const char *want;
	} cases[] = {
		{{0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644, 0x0645,
		  0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A, 0x061F},
		 17,
		 "egbpdaj6bu4bxfgehfvwxn"},
		{{0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587},
		 9,
		 "ihqwcrb4cv8a8dqg056pqjye"},
		{{0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F},
		 8,
		 "3B-ww4c5e180e575a65lsy2b"},
		{{0x5B89, 0x5BA4, 0x5948, 0x7F8E, 0x6075, 0x002D, 0x0077, 0x0069, 0x0074, 0x0068,
		  0x002D, 0x0053, 0x0055, 0x0050, 0x0045, 0x0052, 0x002D, 0x004D, 0x004F, 0x004E,
		  0x004B, 0x0045, 0x0059, 0x0053},
		 24,
		 "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"},
		{{0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067}, 7, "d9juau41awczczp"},
		{{0x002D, 0x003E, 0x0020, 0x0024, 0x0031, 0x002E, 0x0030, 0x0030, 0x0020, 0x003C,
		  0x002D},
		 11,
		 "-> $1.00 <--"},
		{{'m', 0xfc, 'n', 'c', 'h', 'e', 'n'}, 7, "mnchen-3ya"},
		{{0x10FFFF, 0x10FFFE}, 2, NULL}, /* encodes; just must not overflow */
	};
	char out[128];
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(punycode_encode(cases[i].cp, cases[i].n, out, sizeof(out), &len), 0);
		assert_int_equal(strlen(out), len);
		if (cases[i].want != NULL)
			assert_string_equal(out, cases[i].want);
	}
	/* output cap honoured */
	assert_int_equal(punycode_encode(cases[0].cp, cases[0].n, out, 22, &len), -1);
	assert_int_equal(punycode_encode(cases[0].cp, cases[0].n, out, 23, &len), 0);
}

/* ---- formatting round trip ---------------------------------------------------------- */

static void
test_format(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{"a@b.com", "a@b.com"},
		{"John Doe <j@x.com>", "John Doe <j@x.com>"},
		{"\"Doe, John\" <j@x.com>", "\"Doe, John\" <j@x.com>"},
		{"\"a \\\"q\\\" b\" <j@x.com>", "\"a \\\"q\\\" b\" <j@x.com>"},
		{"\"two  spaces\" <j@x.com>", "\"two  spaces\" <j@x.com>"},
		{"Jörg <j@x.com>", "=?UTF-8?B?SsO2cmc=?= <j@x.com>"},
		{"\"=?x?\" <j@x.com>", "=?UTF-8?B?PT94Pw==?= <j@x.com>"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct address a, b2;
		struct buf b;
		assert_int_equal(address_parse(cases[i].in, strlen(cases[i].in), &a, NULL), 0);
		buf_init(&b, 4096);
		assert_int_equal(address_format(&a, &b), 0);
		assert_string_equal(b.data, cases[i].want);
		assert_int_equal(address_parse(b.data, b.len, &b2, NULL), 0);
		assert_string_equal(b2.name, a.name);
		assert_string_equal(b2.spec, a.spec);
		buf_free(&b);
	}
	/* a long non-ASCII name splits into several words, each <= 75 chars */
	struct address a, a2;
	struct buf b;
	memset(&a, 0, sizeof(a));
	snprintf(a.spec, sizeof(a.spec), "a@b.com");
	for (int i = 0; i < 60; i++)
		memcpy(a.name + 2 * i, "é", 2);
	buf_init(&b, 4096);
	assert_int_equal(address_format(&a, &b), 0);
	for (const char *w = b.data; *w != '\0';) {
		size_t wl = strcspn(w, " ");
		assert_true(wl <= 75);
		w += wl + (w[wl] == ' ');
	}
	buf_reset(&b);
	address_format(&a, &b);
	assert_int_equal(address_parse(b.data, b.len, &a2, NULL), 0);
	assert_string_equal(a2.name, a.name);
	/* the cap is honoured */
	struct buf small;
	buf_init(&small, 10);
	assert_int_equal(address_format(&a, &small), -1);
	buf_free(&small);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailboxes),   cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_idn_flag),    cmocka_unit_test(test_local_limit),
		cmocka_unit_test(test_label_limit), cmocka_unit_test(test_total_limits),
		cmocka_unit_test(test_name_limit),  cmocka_unit_test(test_spec_only),
		cmocka_unit_test(test_lists),       cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_domain_validate), cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
