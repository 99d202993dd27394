/*
 * cidr.c — addresses and CIDR blocks (cidr.h). inet_pton does the address
 * syntax (so no zone ids, no shortened IPv4); this file adds the prefix,
 * the masking and the matching.
 *
 * Invariant: every struct cidr made here has its host bits zero, so two
 * blocks compare equal exactly when they are the same block.
 */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void
mask(struct cidr *c)
{
	int maxp = c->fam == 4 ? 32 : 128;

	for (int bit = c->prefix; bit < maxp; bit++)
		c->ip[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
}

bool
cidr_parse(const char *s, struct cidr *out)
{
	char addr[CIDR_TEXT_MAX + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int maxp, prefix;

	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->ip) == 1) {
		out->fam = 4;
		maxp = 32;
	} else if (inet_pton(AF_INET6, addr, out->ip) == 1) {
		out->fam = 6;
		maxp = 128;
	} else {
		return false;
	}
	prefix = maxp;
	if (slash != NULL) {
		const char *q = slash + 1;
		size_t ql = strlen(q);
		if (ql == 0 || ql > 3 || strspn(q, "0123456789") != ql)
			return false;
		prefix = (int)strtol(q, NULL, 10);
		if (prefix > maxp)
			return false;
	}
	out->prefix = (unsigned char)prefix;
	mask(out);
	return true;
}

bool
cidr_contains(const struct cidr *net, const struct cidr *addr)
{
	int full = net->prefix / 8, rest = net->prefix % 8;

	if (net->fam != addr->fam)
		return false;
	if (memcmp(net->ip, addr->ip, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char m = (unsigned char)(0xff00u >> rest);
	return (net->ip[full] & m) == (addr->ip[full] & m);
}

/* An IPv6 block inside ::ffff:0:0/96 becomes the IPv4 block it maps. */
static void
unmap(struct cidr *c)
{
	if (c->fam != 6 || c->prefix < 96 || memcmp(c->ip, v4mapped, sizeof(v4mapped)) != 0)
		return;
	memmove(c->ip, c->ip + 12, 4);
	memset(c->ip + 4, 0, 12);
	c->fam = 4;
	c->prefix = (unsigned char)(c->prefix - 96);
}

bool
cidr_parse_client(const char *ip, struct cidr *out)
{
	if (strchr(ip, '/') != NULL || !cidr_parse(ip, out))
		return false;
	unmap(out);
	return true;
}

int
cidr_list_parse(const char *list, struct cidr *out, size_t cap, size_t *n_out, struct err *e)
{
	const char *p = list;
	size_t n = 0;

	*n_out = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		char item[CIDR_TEXT_MAX + 1];
		size_t len = strcspn(p, ",");
		const char *next = p[len] == ',' ? p + len + 1 : NULL;

		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(item))
			return err_set(e, 400, "InvalidConfiguration", "bad CIDR '%.*s' in '%s'",
			               (int)(len < sizeof(item) ? len : sizeof(item) - 1), p, list);
		memcpy(item, p, len);
		item[len] = '\0';
		if (n == cap)
			return err_set(e, 400, "InvalidConfiguration",
			               "more than %zu CIDRs in '%s'", cap, list);
		if (!cidr_parse(item, &out[n]))
			return err_set(e, 400, "InvalidConfiguration", "bad CIDR '%s' in '%s'",
			               item, list);
		unmap(&out[n]);
		n++;
		if (next == NULL)
			break;
		p = next;
	}
	*n_out = n;
	return 0;
}

bool
cidr_list_allows(const struct cidr *list, size_t n, const char *ip)
{
	struct cidr a;

	if (ip == NULL || !cidr_parse_client(ip, &a))
		return false;
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&list[i], &a))
			return true;
	return false;
}
