/*
 * address_fuzz.c — libFuzzer target for src/core/address.c, identity.c and
 * arn.c. Besides "no crash, no leak, no UB" it checks properties:
 *  - a parsed mailbox has spec == local "@" domain, ASCII, within limits;
 *    the name is valid UTF-8 without control bytes;
 *  - format-then-parse gives back the same name and spec;
 *  - identity normal forms are fixed points, and every candidate covers
 *    the address it came from;
 *  - domain_validate is idempotent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/address.h"
#include "core/arn.h"
#include "core/identity.h"
#include "util/buf.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void
check_address(const struct address *a)
{
	size_t ln = strlen(a->local), dn = strlen(a->domain), sn = strlen(a->spec);

	CHECK(ln >= 1 && ln <= ADDRESS_LOCAL_MAX);
	CHECK(dn >= 1 && dn <= ADDRESS_DOMAIN_MAX);
	CHECK(sn == ln + 1 + dn && sn <= ADDRESS_SPEC_MAX);
	CHECK(memcmp(a->spec, a->local, ln) == 0 && a->spec[ln] == '@');
	CHECK(strcmp(a->spec + ln + 1, a->domain) == 0);
	for (size_t i = 0; i < sn; i++)
		CHECK((unsigned char)a->spec[i] > 0x1f && (unsigned char)a->spec[i] < 0x7f);
	for (size_t i = 0; a->name[i] != '\0'; i++)
		CHECK((unsigned char)a->name[i] >= 0x20 && a->name[i] != 0x7f);
}

static void
roundtrip(const struct address *a)
{
	struct buf b;
	struct address again;

	buf_init(&b, 8192);
	CHECK(address_format(a, &b) == 0);
	CHECK(address_parse(b.data, b.len, &again, NULL) == 0);
	CHECK(strcmp(again.name, a->name) == 0);
	CHECK(strcmp(again.spec, a->spec) == 0);
	buf_free(&b);
}

static void
identities(const char *spec)
{
	char norm[IDENTITY_NAME_MAX + 1], again[IDENTITY_NAME_MAX + 1];
	enum identity_type t;
	struct identity_candidates c;

	if (identity_normalise(spec, norm, sizeof(norm), &t, NULL) != 0)
		return;
	CHECK(identity_normalise(norm, again, sizeof(again), NULL, NULL) == 0);
	CHECK(strcmp(norm, again) == 0);
	if (t != IDENTITY_EMAIL)
		return;
	CHECK(identity_candidates(spec, &c, NULL) == 0);
	CHECK(c.n >= 2 && c.n <= IDENTITY_CANDIDATES_MAX);
	for (size_t i = 0; i < c.n; i++)
		CHECK(identity_covers(c.name[i], c.type[i], spec));
	/* and the ARN of the identity parses back to it */
	char arn[400];
	struct arn_identity ai;
	CHECK(arn_identity_format("us-east-1", "123456789012", norm, arn, sizeof(arn)) == 0);
	CHECK(arn_identity_parse(arn, strlen(arn), &ai, NULL) == 0);
	CHECK(strcmp(ai.identity, norm) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct address a;
	static struct address list[50];
	size_t n;
	char *z;

	if (address_parse(s, size, &a, NULL) == 0) {
		check_address(&a);
		roundtrip(&a);
	}
	if (address_parse_spec(s, size, &a, NULL) == 0) {
		check_address(&a);
		CHECK(a.name[0] == '\0');
		identities(a.spec);
	}
	if (address_parse_list(s, size, list, 50, &n, NULL) == 0) {
		CHECK(n <= 50);
		for (size_t i = 0; i < n; i++)
			check_address(&list[i]);
	}

	z = malloc(size + 1);
	memcpy(z, data, size);
	z[size] = '\0';
	char d1[ADDRESS_DOMAIN_MAX + 1], d2[ADDRESS_DOMAIN_MAX + 1];
	if (domain_validate(z, d1, sizeof(d1), NULL) == 0) {
		CHECK(domain_validate(d1, d2, sizeof(d2), NULL) == 0);
		CHECK(strcmp(d1, d2) == 0);
		CHECK(identity_kind(d1) == IDENTITY_DOMAIN);
	}
	struct arn_identity ai;
	struct arn_principal ap;
	arn_identity_parse(s, size, &ai, NULL);
	arn_principal_parse(s, size, &ap, NULL);
	free(z);
	return 0;
}
