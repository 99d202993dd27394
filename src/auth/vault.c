/*
 * vault.c — sealing secrets at rest (vault.h; src/auth/). Owns the master key: 32 random
 * bytes in a file readable by its owner only, either DATA_DIR/master.key
 * (the default, made on first use) or the file named by --master-key /
 * $SESAME_MASTER_KEY_FILE (never made here).
 *
 * Why an explicit key file is never created: it is how an operator keeps
 * the key away from the data (a systemd credential, a mounted secret, a
 * file on another disk). A mistyped path or a credential that did not
 * mount would otherwise mint a fresh key silently, and every secret sealed
 * under the real one would stop opening; refusing to start says so at
 * once. The default key beside the data is the convenient `make run` case.
 *
 * Creating the default key file is race-free between processes: the bytes
 * are written to a private temporary file (O_CREAT|O_EXCL, 0600), fsync'ed,
 * then hard-linked to master.key; link() fails with EEXIST when another
 * process won, in which case we use its key. A file at master.key is
 * therefore always complete. A key file with group/other permission bits,
 * of the wrong size, or not a regular file is refused rather than silently
 * "fixed". The default path is opened without following a symlink; an
 * explicit one may be a symlink (Kubernetes mounts secrets as symlinks),
 * and the checks apply to its target.
 *
 * Sealed blob: 0x01 | nonce[12] | ciphertext | tag[16]; the version byte is
 * authenticated as AAD. Each seal draws a fresh random nonce (2^-32 collision
 * odds after 2^32 seals of one key are far beyond our volumes).
 * Plaintext copies made here are wiped with OPENSSL_cleanse; nothing here logs.
 */
#include "auth/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define VERSION 1
#define OVERHEAD (1 + NONCE_LEN + TAG_LEN)
#define MAX_PLAIN (16u << 20) /* secrets are small; DKIM key bundles < 16 KiB */

struct vault {
	unsigned char key[KEY_LEN];
	/* fetched once: an implicit fetch (EVP_aes_256_gcm()) on every seal or
	 * unseal takes the provider store's lock, which every API thread then
	 * contends for on every request */
	EVP_CIPHER *cipher;
};

static int
fail(struct err *e, const char *fmt, const char *path, int errnum)
{
	return err_set(e, 500, "InternalFailure", fmt, path, strerror(errnum));
}

/* Read and check an existing key file. 1 loaded, 0 absent, -1 refused. */
static int
load_key(const char *path, bool follow, unsigned char *key, struct err *e)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(e, "cannot open master key %s: %s", path, errno);
	}
	if (fstat(fd, &st) != 0) {
		fail(e, "cannot stat master key %s: %s", path, errno);
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, 500, "InternalFailure", "master key %s is not a regular file", path);
		goto bad;
	}
	if ((st.st_mode & 077) != 0) {
		err_set(e, 500, "InternalFailure",
			"master key %s has mode %03o; it must be readable by its owner only "
			"(chmod 600 %s)",
			path, (unsigned)(st.st_mode & 0777), path);
		goto bad;
	}
	if (st.st_size != KEY_LEN) {
		err_set(e, 500, "InternalFailure", "master key %s has %lld bytes; expected %d",
			path, (long long)st.st_size, KEY_LEN);
		goto bad;
	}
	do
		n = read(fd, key, KEY_LEN);
	while (n < 0 && errno == EINTR);
	if (n != KEY_LEN) {
		err_set(e, 500, "InternalFailure", "cannot read master key %s", path);
		goto bad;
	}
	close(fd);
	return 1;
bad:
	OPENSSL_cleanse(key, KEY_LEN);
	close(fd);
	return -1;
}

/* Create the key file atomically; 0 when a key file now exists (ours or a
 * concurrent creator's: the caller loads it), -1 on failure. */
static int
create_key(const char *dir, const char *path, struct err *e)
{
	unsigned char key[KEY_LEN];
	char tmp[PATH_MAX];
	unsigned char rnd[8];
	char hex[17];
	int fd, rc = -1;

	random_bytes(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.master.key.%s", dir, hex) >= sizeof(tmp))
		return err_set(e, 500, "InternalFailure", "data directory path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(e, "cannot create master key %s: %s", tmp, errno);
	random_bytes(key, sizeof(key));
	/* the umask may have cleared bits, never added them; make the mode exact */
	if (fchmod(fd, 0600) != 0 || write(fd, key, KEY_LEN) != KEY_LEN || fsync(fd) != 0) {
		fail(e, "cannot write master key %s: %s", tmp, errno);
		close(fd);
		goto out;
	}
	close(fd);
	if (link(tmp, path) != 0 && errno != EEXIST) {
		fail(e, "cannot install master key %s: %s", path, errno);
		goto out;
	}
	/* persist the new directory entry */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	unlink(tmp);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

struct vault *
vault_open(const char *data_dir, const char *key_file, struct err *e)
{
	struct vault *v;
	char path[PATH_MAX];
	bool explicit = key_file != NULL && key_file[0] != '\0';
	int r;

	if (explicit) {
		if ((size_t)snprintf(path, sizeof(path), "%s", key_file) >= sizeof(path)) {
			err_set(e, 500, "InternalFailure", "master key path too long");
			return NULL;
		}
	} else {
		if (data_dir == NULL || data_dir[0] == '\0') {
			err_set(e, 500, "InternalFailure", "no data directory for the master key");
			return NULL;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/master.key", data_dir) >=
		    sizeof(path)) {
			err_set(e, 500, "InternalFailure", "data directory path too long");
			return NULL;
		}
	}
	v = xcalloc(1, sizeof(*v));
	if ((v->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
		free(v);
		err_set(e, 500, "InternalFailure", "AES-256-GCM is not available from OpenSSL");
		return NULL;
	}
	r = load_key(path, explicit, v->key, e);
	if (r == 0 && explicit) {
		r = err_set(e, 500, "InternalFailure",
			    "master key %s does not exist (an explicit --master-key is never "
			    "created; make one with: (umask 077; head -c 32 /dev/urandom > %s))",
			    path, path);
	} else if (r == 0) {
		if (fs_mkdirs(data_dir, 0700, e) != 0 || create_key(data_dir, path, e) != 0)
			r = -1;
		else if ((r = load_key(path, false, v->key, e)) == 0)
			r = err_set(e, 500, "InternalFailure", "master key %s vanished", path);
	}
	if (r < 0) {
		vault_free(v);
		return NULL;
	}
	return v;
}

void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	OPENSSL_cleanse(v->key, sizeof(v->key));
	EVP_CIPHER_free(v->cipher);
	free(v);
}

int
vault_seal(const struct vault *v, const void *plain, size_t n, uint8_t **out, size_t *out_len,
	   struct err *e)
{
	static const unsigned char aad[1] = {VERSION};
	EVP_CIPHER_CTX *ctx;
	uint8_t *b;
	int len, ok;

	*out = NULL;
	*out_len = 0;
	if (n > MAX_PLAIN)
		return err_set(e, 400, "InvalidParameterValue", "secret too large to seal");
	b = xmalloc(n + OVERHEAD);
	b[0] = VERSION;
	random_bytes(b + 1, NONCE_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(b);
		return err_set(e, 500, "InternalFailure", "vault: cannot allocate cipher");
	}
	ok = EVP_EncryptInit_ex2(ctx, v->cipher, v->key, b + 1, NULL) == 1 &&
	     EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) == 1 &&
	     EVP_EncryptUpdate(ctx, b + 1 + NONCE_LEN, &len, plain, (int)n) == 1 &&
	     (size_t)len == n &&
	     EVP_EncryptFinal_ex(ctx, b + 1 + NONCE_LEN + n, &len) == 1 && len == 0 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, b + 1 + NONCE_LEN + n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		free(b);
		return err_set(e, 500, "InternalFailure", "vault: encryption failed");
	}
	*out = b;
	*out_len = n + OVERHEAD;
	return 0;
}

int
vault_unseal(const struct vault *v, const uint8_t *sealed, size_t n, uint8_t **out,
	     size_t *out_len, struct err *e)
{
	static const unsigned char aad[1] = {VERSION};
	EVP_CIPHER_CTX *ctx;
	uint8_t *p;
	size_t clen;
	int len, ok;

	*out = NULL;
	*out_len = 0;
	if (sealed == NULL || n < OVERHEAD || n - OVERHEAD > MAX_PLAIN || sealed[0] != VERSION)
		return err_set(e, 500, "InternalFailure", "vault: sealed secret is malformed");
	clen = n - OVERHEAD;
	p = xmalloc(clen + 1);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(p);
		return err_set(e, 500, "InternalFailure", "vault: cannot allocate cipher");
	}
	/* the tag is a const input; OpenSSL's ctrl takes void * */
	uint8_t tag[TAG_LEN];
	memcpy(tag, sealed + 1 + NONCE_LEN + clen, TAG_LEN);
	ok = EVP_DecryptInit_ex2(ctx, v->cipher, v->key, sealed + 1, NULL) == 1 &&
	     EVP_DecryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) == 1 &&
	     EVP_DecryptUpdate(ctx, p, &len, sealed + 1 + NONCE_LEN, (int)clen) == 1 &&
	     (size_t)len == clen &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
	     EVP_DecryptFinal_ex(ctx, p + clen, &len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(p, clen + 1);
		free(p);
		return err_set(e, 500, "InternalFailure",
			       "vault: sealed secret failed authentication (wrong master key or "
			       "corrupted data)");
	}
	p[clen] = '\0';
	*out = p;
	*out_len = clen;
	return 0;
}
