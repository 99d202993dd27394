/*
 * cidr.h — IPv4/IPv6 addresses and CIDR blocks, parsed once into bytes and
 * matched without allocating. Used by policy conditions (IpAddress,
 * NotIpAddress on aws:SourceIp) and by the --admin-allow list that guards
 * the operator endpoints. Pure.
 */
#ifndef SESAME_CORE_CIDR_H
#define SESAME_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CIDR_TEXT_MAX 63 /* longest item accepted: an IPv6 address + "/128" fits */
#define CIDR_LIST_MAX 32 /* items in one list (--admin-allow) */

struct cidr {
	unsigned char ip[16]; /* network order; IPv4 in ip[0..3]; host bits zero */
	unsigned char fam;    /* 4 or 6 */
	unsigned char prefix; /* 0..32 or 0..128 */
};

/* "ADDR" or "ADDR/PREFIX": a dotted-quad IPv4 or an IPv6 address (no zone),
 * the prefix 1 to 3 decimal digits, at most 32 / 128. An address without a
 * prefix is one host (/32, /128). Host bits are masked off. The family is
 * kept as written (an IPv4-mapped IPv6 address stays IPv6): policies
 * compare per family. false, `out` undefined, for anything else. */
bool cidr_parse(const char *s, struct cidr *out);

/* true when the address of `addr` (its prefix is ignored) lies in `net`;
 * never across families. */
bool cidr_contains(const struct cidr *net, const struct cidr *addr);

/* A client's address as a peer reports it: one host, and an IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d, an IPv4 client of a dual-stack listener)
 * is the IPv4 address. false when `ip` is not an address. */
bool cidr_parse_client(const char *ip, struct cidr *out);

/* A comma-separated list of CIDRs (blanks around items allowed; "" is the
 * empty list, which contains nothing) into out[0..cap). IPv4-mapped IPv6
 * blocks of prefix >= 96 become the IPv4 blocks they map, as clients do.
 * Returns 0 with *n_out set, or -1 with `e` naming the bad item. */
int cidr_list_parse(const char *list, struct cidr *out, size_t cap, size_t *n_out, struct err *e);

/* true when the client address `ip` (cidr_parse_client) lies in one of
 * list[0..n); false for an address that does not parse. */
bool cidr_list_allows(const struct cidr *list, size_t n, const char *ip);

#endif
