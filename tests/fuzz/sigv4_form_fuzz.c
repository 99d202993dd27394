/*
 * sigv4_form_fuzz.c — libFuzzer target for the pre-authentication parsers:
 * SigV4 (sigv4_parse + sigv4_verify) and form decoding, plus the XML text
 * sanitiser on the same bytes.
 *
 * Input layout: four '\n'-separated fields, then the rest:
 *   Authorization value \n X-Amz-Date or Date value \n query \n body
 * (a date field starting with a letter is sent as Date, otherwise as
 * X-Amz-Date). The clock is fixed at 20261128T101500Z and the key is
 * AKIDEXAMPLE's, so seeds built from real signed requests reach verify.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/form.h"
#include "api/sigv4.h"
#include "api/xml.h"
#include "util/buf.h"

#define NOW 1795860900
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static struct sigv4_cache cache;

/* Next field up to '\n' (NUL-terminated copy), advancing *p. */
static char *
field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

static void
check_xml(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (xml_text(&b, s, n) == 0) {
		/* invariant: no raw markup or forbidden control byte survives */
		for (size_t i = 0; i < b.len; i++) {
			unsigned char c = (unsigned char)b.data[i];
			if (c == '<' || c == '>' || (c < 0x20 && c != '\t' && c != '\n'))
				__builtin_trap();
		}
	}
	buf_free(&b);
}

static const char *
the_secret(void *arg, struct err *e)
{
	(void)arg;
	(void)e;
	return SECRET;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *authz = field(&p, end);
	char *date = field(&p, end);
	char *query = field(&p, end);
	const char *body = (const char *)p;
	size_t body_len = (size_t)(end - p);
	bool http_date = (date[0] >= 'A' && date[0] <= 'Z') || (date[0] >= 'a' && date[0] <= 'z');
	struct sigv4_header h[] = {
		{"Host", "email.us-west-2.amazonaws.com"},
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{http_date ? "Date" : "X-Amz-Date", date},
		{"Authorization", authz},
	};
	struct sigv4_request r = {"POST", "/", query, h, 4, body, body_len};
	struct sigv4_auth a;
	struct err e;
	struct form f;

	if (sigv4_parse(&r, NOW, &a, &e) == 0) {
		static const uint8_t fp[32] = {1};
		uint8_t key[32];
		if (sigv4_cache_key(&cache, &a, fp, the_secret, NULL, key, &e) == 0)
			(void)sigv4_verify(&r, &a, key, &e);
	}

	if (form_parse(&f, body, body_len, &e) == 0) {
		static const char *const lists[] = {"Destinations", "Destination.ToAddresses",
						    "Identities", "Tags"};
		for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
			struct form_list l;
			if (form_list(&f, lists[i], 50, &l, &e) == 0) {
				for (size_t k = 0; k < l.n; k++)
					check_xml(l.values[k], strlen(l.values[k]));
			}
			form_list_free(&l);
			if (form_members(&f, lists[i], 50, &l, &e) == 0 && l.n > 0)
				(void)form_member_get(&f, lists[i], l.index[0], "Name");
			form_list_free(&l);
		}
		(void)form_get(&f, "Action");
	}
	form_free(&f);

	if (form_parse_query(&f, query, strlen(query), &e) == 0)
		(void)form_get(&f, "Action");
	form_free(&f);

	check_xml(body, body_len);
	free(authz);
	free(date);
	free(query);
	return 0;
}
