/*
 * vault.h — the one door to secrets at rest (src/auth/, with the
 * credentials lookup and the DKIM key storage that use it). Secret access keys and DKIM
 * private keys are sealed with AES-256-GCM under a 32-byte master key kept in
 * DATA_DIR/master.key (created with mode 0600 on first use) or in the file
 * named by --master-key / $SESAME_MASTER_KEY_FILE (which must exist).
 * Sealed format: 1 version byte (1) | 12-byte nonce | ciphertext | 16-byte tag.
 */
#ifndef SESAME_AUTH_VAULT_H
#define SESAME_AUTH_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct vault;

/* Load the master key: from `key_file` when it is neither NULL nor "" (it
 * must exist: an explicit key file is never created), else from
 * DATA_DIR/master.key, created when absent. Either file must be a regular
 * file of 32 bytes with no group/other permission bits. NULL with `e`
 * filled (naming the file) on failure. */
struct vault *vault_open(const char *data_dir, const char *key_file, struct err *e);
void vault_free(struct vault *v);

/* Seal n bytes; *out is malloc'd (caller frees). */
int vault_seal(const struct vault *v, const void *plain, size_t n, uint8_t **out,
	       size_t *out_len, struct err *e);
/* Open a sealed blob; *out is malloc'd, NUL-terminated, and must be wiped
 * (OPENSSL_cleanse) and freed by the caller as soon as it is used. */
int vault_unseal(const struct vault *v, const uint8_t *sealed, size_t n, uint8_t **out,
		 size_t *out_len, struct err *e);

#endif
