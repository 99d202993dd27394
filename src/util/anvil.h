/*
 * anvil.h — a bounded table of leaky buckets keyed by string (a client
 * address, an SMTP user name), after Postfix's anvil: each event adds to
 * its key's level, which drains linearly with time. The SMTP listener uses
 * two (failed AUTHs per client address and per user name) to slow and
 * budget password guessing (docs/internals/smtp.md). No I/O, no clock of
 * its own, no locking: one owner thread passes the time in.
 *
 * Bounded: at most `cap` keys; a new key when full takes the place of the
 * one with the lowest level, so a flood of fresh keys evicts the idle
 * ones first, never a key that is hot.
 */
#ifndef SESAME_UTIL_ANVIL_H
#define SESAME_UTIL_ANVIL_H

#include <stddef.h>
#include <stdint.h>

struct anvil;

/* A table of at most cap keys (of up to 255 bytes) whose levels drain by
 * one every drain_ms. */
struct anvil *anvil_new(size_t cap, int64_t drain_ms);
void anvil_free(struct anvil *a);

/* key's level at now_ms (0 for an unknown key). */
double anvil_level(struct anvil *a, const char *key, int64_t now_ms);

/* Add amount to key's level at now_ms; the new level. */
double anvil_add(struct anvil *a, const char *key, int64_t now_ms, double amount);

/* Forget key. */
void anvil_reset(struct anvil *a, const char *key);

#endif
