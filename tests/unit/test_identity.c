/* test_identity.c — table-driven tests for src/core/identity.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/identity.h"

static void
test_kind_and_normalise(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *want; /* normal form or error message */
		enum identity_type type;
	} cases[] = {
		{"Bob@Example.COM", 1, "Bob@example.com", IDENTITY_EMAIL},
		{"bob@example.com", 1, "bob@example.com", IDENTITY_EMAIL},
		{"\"bob\"@Example.com", 1, "bob@example.com", IDENTITY_EMAIL},
		{"\"b o b\"@example.com", 1, "\"b o b\"@example.com", IDENTITY_EMAIL},
		{"a@MÜnchen.de", 1, NULL, IDENTITY_EMAIL}, /* accepted; see docs on case mapping */
		{"a@münchen.de", 1, "a@xn--mnchen-3ya.de", IDENTITY_EMAIL},
		{"Example.COM", 1, "example.com", IDENTITY_DOMAIN},
		{"example.com.", 1, "example.com", IDENTITY_DOMAIN},
		{"Mail.Example.com", 1, "mail.example.com", IDENTITY_DOMAIN},
		{"münchen.de", 1, "xn--mnchen-3ya.de", IDENTITY_DOMAIN},
		{"", 0, "Identity must not be empty", IDENTITY_DOMAIN},
		{"com", 0, "Domain must have at least two labels", IDENTITY_DOMAIN},
		{"192.0.2.1", 0, "Domain must not be an IP address", IDENTITY_DOMAIN},
		{"a@", 0, "Missing domain", IDENTITY_EMAIL},
		{"Bob <bob@example.com>", 0, "Local address contains control or whitespace",
		 IDENTITY_EMAIL},
		{"bob@exa_mple.com", 0, "Domain contains illegal character", IDENTITY_EMAIL},
	};
	char out[IDENTITY_NAME_MAX + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum identity_type t = 99;
		struct err e;
		err_clear(&e);
		assert_int_equal(identity_kind(cases[i].in), cases[i].type);
		int rc = identity_normalise(cases[i].in, out, sizeof(out), &t, &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s': %s", cases[i].in, e.message);
			assert_int_equal(t, cases[i].type);
			if (cases[i].want != NULL)
				assert_string_equal(out, cases[i].want);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted as '%s'", cases[i].in, out);
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_string_equal(e.message, cases[i].want);
		}
	}
	/* normal forms are fixed points */
	const char *fixed[] = {"Bob@example.com", "example.com", "xn--mnchen-3ya.de",
			       "\"a b\"@x.org"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(identity_normalise(fixed[i], out, sizeof(out), NULL, NULL), 0);
		assert_string_equal(out, fixed[i]);
	}
	/* small output buffers are refused */
	assert_int_equal(identity_normalise("bob@example.com", out, 15, NULL, NULL), -1);
	assert_int_equal(identity_normalise("bob@example.com", out, 16, NULL, NULL), 0);
}

static void
test_covers(void **state)
{
	static const struct {
		const char *identity;
		enum identity_type type;
		const char *address;
		bool want;
	} cases[] = {
		/* address identities: local part case-sensitive, domain not */
		{"bob@example.com", IDENTITY_EMAIL, "bob@example.com", true},
		{"bob@example.com", IDENTITY_EMAIL, "bob@EXAMPLE.com", true},
		{"bob@example.com", IDENTITY_EMAIL, "Bob@example.com", false},
		{"Bob@example.com", IDENTITY_EMAIL, "bob@example.com", false},
		{"bob@example.com", IDENTITY_EMAIL, "bob@mail.example.com", false},
		{"bob@example.com", IDENTITY_EMAIL, "bobby@example.com", false},
		{"bob@example.com", IDENTITY_EMAIL, "ob@example.com", false},
		{"bob@example.com", IDENTITY_EMAIL, "bob@example.co", false},
		{"\"a@b\"@example.com", IDENTITY_EMAIL, "\"a@b\"@example.com", true},
		{"\"a@b\"@example.com", IDENTITY_EMAIL, "b\"@example.com", false},
		/* domain identities: the domain and every subdomain, label-aligned */
		{"example.com", IDENTITY_DOMAIN, "a@example.com", true},
		{"example.com", IDENTITY_DOMAIN, "a@EXAMPLE.COM", true},
		{"example.com", IDENTITY_DOMAIN, "a@mail.example.com", true},
		{"example.com", IDENTITY_DOMAIN, "a@x.y.z.example.com", true},
		{"example.com", IDENTITY_DOMAIN, "a@notexample.com", false},
		{"example.com", IDENTITY_DOMAIN, "a@example.com.evil.org", false},
		{"example.com", IDENTITY_DOMAIN, "a@example.co", false},
		{"example.com", IDENTITY_DOMAIN, "a@com", false},
		{"example.com", IDENTITY_DOMAIN, "a@.example.com", false}, /* empty label */
		{"mail.example.com", IDENTITY_DOMAIN, "a@example.com", false},
		{"mail.example.com", IDENTITY_DOMAIN, "a@mail.example.com", true},
		{"mail.example.com", IDENTITY_DOMAIN, "a@eu.mail.example.com", true},
		{"example.com", IDENTITY_DOMAIN, "\"x@example.com\"@evil.org", false},
		{"evil.org", IDENTITY_DOMAIN, "\"x@example.com\"@evil.org", true},
		/* degenerate inputs never cover */
		{"example.com", IDENTITY_DOMAIN, "example.com", false},
		{"example.com", IDENTITY_DOMAIN, "a@", false},
		{"", IDENTITY_DOMAIN, "a@example.com", false},
		{"", IDENTITY_EMAIL, "a@example.com", false},
		{"example.com", IDENTITY_EMAIL, "a@example.com", false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = identity_covers(cases[i].identity, cases[i].type, cases[i].address);
		if (got != cases[i].want)
			fail_msg("covers('%s', %d, '%s') = %d, want %d", cases[i].identity,
				 cases[i].type, cases[i].address, got, cases[i].want);
	}
}

static void
test_candidates(void **state)
{
	static const struct {
		const char *address;
		const char *want; /* names joined by ' ' (E: email, D: domain) */
	} cases[] = {
		{"bob@example.com", "E:bob@example.com D:example.com"},
		{"Bob@Mail.Example.COM", "E:Bob@mail.example.com D:mail.example.com D:example.com"},
		{"a@x.y.z.example.co.uk",
		 "E:a@x.y.z.example.co.uk D:x.y.z.example.co.uk D:y.z.example.co.uk "
		 "D:z.example.co.uk D:example.co.uk D:co.uk"},
		{"a@localhost", "E:a@localhost D:localhost"},
		{"a@münchen.de", "E:a@xn--mnchen-3ya.de D:xn--mnchen-3ya.de"},
		{"\"x y\"@b.example.com", "E:\"x y\"@b.example.com D:b.example.com D:example.com"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct identity_candidates c;
		struct err e;
		char got[1000] = "";
		assert_int_equal(identity_candidates(cases[i].address, &c, &e), 0);
		for (size_t k = 0; k < c.n; k++) {
			size_t l = strlen(got);
			snprintf(got + l, sizeof(got) - l, "%s%c:%s", k ? " " : "",
				 c.type[k] == IDENTITY_EMAIL ? 'E' : 'D', c.name[k]);
			/* every candidate covers the address */
			assert_true(identity_covers(c.name[k], c.type[k], c.buf));
		}
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].address, got, cases[i].want);
	}
	/* bad addresses */
	struct identity_candidates c;
	struct err e;
	assert_int_equal(identity_candidates("example.com", &c, &e), -1);
	assert_string_equal(e.message, "Missing final '@domain'");
	assert_int_equal(c.n, 0);
	assert_int_equal(identity_candidates("a b@example.com", &c, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");

	/* a deep address fits the table: 126 one-letter labels (domain 251 bytes) */
	char addr[300] = "a@";
	size_t o = 2;
	for (int i = 0; i < 125; i++) {
		addr[o++] = 'x';
		addr[o++] = '.';
	}
	addr[o++] = 'y';
	addr[o] = '\0';
	assert_int_equal(strlen(addr), 253);
	assert_int_equal(identity_candidates(addr, &c, &e), 0);
	assert_int_equal(c.n, 1 + 125);
	assert_true(c.n <= IDENTITY_CANDIDATES_MAX);
	assert_string_equal(c.name[c.n - 1], "x.y");
}

/* most-specific-first precedence, as the send path uses it */
static void
test_precedence(void **state)
{
	/* verified identities of one owner */
	static const struct {
		const char *name;
		enum identity_type type;
	} verified[] = {
		{"example.com", IDENTITY_DOMAIN},
		{"eu.example.com", IDENTITY_DOMAIN},
		{"ceo@example.com", IDENTITY_EMAIL},
	};
	static const struct {
		const char *address;
		const char *want; /* the identity the send uses, or "" */
	} cases[] = {
		{"ceo@example.com", "ceo@example.com"},
		{"CEO@example.com", "example.com"},
		{"sales@example.com", "example.com"},
		{"a@eu.example.com", "eu.example.com"},
		{"a@x.eu.example.com", "eu.example.com"},
		{"a@us.example.com", "example.com"},
		{"a@example.org", ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct identity_candidates c;
		const char *got = "";
		assert_int_equal(identity_candidates(cases[i].address, &c, NULL), 0);
		for (size_t k = 0; k < c.n && *got == '\0'; k++)
			for (size_t v = 0; v < sizeof(verified) / sizeof(verified[0]); v++)
				if (strcmp(verified[v].name, c.name[k]) == 0 &&
				    verified[v].type == c.type[k]) {
					got = verified[v].name;
					break;
				}
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s': picked '%s', want '%s'", cases[i].address, got,
				 cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_and_normalise),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
