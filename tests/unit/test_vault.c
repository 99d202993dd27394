/* test_vault.c — src/auth/vault.c: sealing round trips, tamper detection,
 * wrong key, and the master key file's creation and permission checks. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/vault.h"
#include "util/xalloc.h"

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static char *
tmpdir(void)
{
	char *d = xstrdup("/tmp/sesame-vault-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void
rmtree(char *d)
{
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static void
write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_round_trip(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 15, 16, 17, 40, 1000, 5000};
	char *d = tmpdir();
	struct err e;
	struct vault *v = vault_open(d, NULL, &e);
	assert_non_null(v);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *plain = xmalloc(n + 1), *s1, *s2, *back;
		size_t l1, l2, lb;
		for (size_t j = 0; j < n; j++)
			plain[j] = (uint8_t)(j * 7 + i);
		assert_int_equal(vault_seal(v, plain, n, &s1, &l1, &e), 0);
		assert_int_equal(vault_seal(v, plain, n, &s2, &l2, &e), 0);
		assert_int_equal(l1, n + 29);
		assert_int_equal(s1[0], 1);
		/* fresh nonce per seal: same plaintext, different blobs */
		assert_int_equal(l1, l2);
		assert_memory_not_equal(s1, s2, l1);
		assert_int_equal(vault_unseal(v, s1, l1, &back, &lb, &e), 0);
		assert_int_equal(lb, n);
		if (n > 0)
			assert_memory_equal(back, plain, n);
		assert_int_equal(back[n], '\0');
		free(back);
		free(plain);
		free(s1);
		free(s2);
	}
	vault_free(v);
	vault_free(NULL);
	rmtree(d);
}

static void
test_tamper(void **state)
{
	(void)state;
	char *d = tmpdir();
	struct err e;
	struct vault *v = vault_open(d, NULL, &e);
	const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	uint8_t *s, *back = (uint8_t *)"x";
	size_t n, lb = 7;

	assert_non_null(v);
	assert_int_equal(vault_seal(v, secret, strlen(secret), &s, &n, &e), 0);
	/* flip one bit in every byte position: version, nonce, ciphertext, tag */
	for (size_t i = 0; i < n; i++) {
		s[i] ^= 0x01;
		assert_int_equal(vault_unseal(v, s, n, &back, &lb, &e), -1);
		assert_null(back);
		assert_int_equal(lb, 0);
		s[i] ^= 0x01;
	}
	/* truncations, including below the fixed overhead */
	static const size_t cut[] = {0, 1, 13, 28, 29};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		assert_int_equal(vault_unseal(v, s, n > cut[i] ? cut[i] : n - 1, &back, &lb, &e),
				 -1);
	assert_int_equal(vault_unseal(v, s, n - 1, &back, &lb, &e), -1);
	assert_int_equal(vault_unseal(v, NULL, 0, &back, &lb, &e), -1);
	/* intact still opens */
	assert_int_equal(vault_unseal(v, s, n, &back, &lb, &e), 0);
	assert_string_equal((char *)back, secret);
	free(back);
	free(s);
	vault_free(v);
	rmtree(d);
}

static void
test_wrong_key(void **state)
{
	(void)state;
	char *d1 = tmpdir(), *d2 = tmpdir();
	struct err e;
	struct vault *v1 = vault_open(d1, NULL, &e), *v2 = vault_open(d2, NULL, &e), *v1b;
	uint8_t *s, *back;
	size_t n, lb;

	assert_non_null(v1);
	assert_non_null(v2);
	assert_int_equal(vault_seal(v1, "secret", 6, &s, &n, &e), 0);
	assert_int_equal(vault_unseal(v2, s, n, &back, &lb, &e), -1);
	assert_non_null(strstr(e.message, "authentication"));
	/* reopening the same data dir gives the same key */
	v1b = vault_open(d1, NULL, &e);
	assert_non_null(v1b);
	assert_int_equal(vault_unseal(v1b, s, n, &back, &lb, &e), 0);
	assert_memory_equal(back, "secret", 6);
	free(back);
	free(s);
	vault_free(v1);
	vault_free(v1b);
	vault_free(v2);
	rmtree(d1);
	rmtree(d2);
}

static void
test_key_file_created_0600(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *sub = xasprintf("%s/a/b", d), *path = xasprintf("%s/a/b/master.key", d);
	struct err e;
	struct stat st;
	mode_t old = umask(0);  /* even a permissive umask must give 0600 */
	struct vault *v = vault_open(sub, NULL, &e);
	umask(old);

	assert_non_null(v);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* no temporary file left behind */
	char *ls = xasprintf("ls -A %s | grep -c . > %s/count", sub, d);
	assert_int_equal(system(ls), 0);
	free(ls);
	char *cf = xasprintf("%s/count", d);
	FILE *f = fopen(cf, "r");
	int count = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &count), 1);
	fclose(f);
	assert_int_equal(count, 1);
	free(cf);
	vault_free(v);
	free(sub);
	free(path);
	rmtree(d);
}

static void
test_refuses_bad_key_files(void **state)
{
	(void)state;
	static const struct {
		mode_t mode;
		size_t len;
		const char *msg;
	} cases[] = {
		{0644, 32, "chmod 600"},
		{0640, 32, "chmod 600"},
		{0604, 32, "chmod 600"},
		{0600, 31, "expected 32"},
		{0600, 33, "expected 32"},
		{0600, 0, "expected 32"},
		{0400, 32, NULL}, /* owner read-only is fine */
	};
	uint8_t key[33] = {1, 2, 3};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = tmpdir(), *path = xasprintf("%s/master.key", d);
		struct err e = {0};
		write_file(path, key, cases[i].len, cases[i].mode);
		struct vault *v = vault_open(d, NULL, &e);
		if (cases[i].msg == NULL) {
			assert_non_null(v);
		} else {
			assert_null(v);
			assert_non_null(strstr(e.message, cases[i].msg));
		}
		vault_free(v);
		free(path);
		rmtree(d);
	}
}

static void
test_refuses_symlink_and_dir(void **state)
{
	(void)state;
	char *d = tmpdir(), *path = xasprintf("%s/master.key", d), *real = xasprintf("%s/k", d);
	uint8_t key[32] = {0};
	struct err e;

	write_file(real, key, 32, 0600);
	assert_int_equal(symlink(real, path), 0);
	assert_null(vault_open(d, NULL, &e));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(vault_open(d, NULL, &e));
	assert_null(vault_open("", NULL, &e));
	free(path);
	free(real);
	rmtree(d);
}

/* An explicit key file (--master-key): used where it is, never created,
 * checked like the default one, may be a symlink; the data dir is left
 * alone; the default key of that data dir is a different key. */
static void
test_explicit_key_file(void **state)
{
	(void)state;
	char *d = tmpdir(), *keys = tmpdir();
	char *path = xasprintf("%s/sesame.key", keys), *link = xasprintf("%s/link.key", keys);
	char *dflt = xasprintf("%s/master.key", d);
	uint8_t key[32], *s, *back;
	size_t n, lb;
	struct stat st;
	struct err e = {0};

	/* absent: an error naming the file and how to make one; nothing created */
	assert_null(vault_open(d, path, &e));
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "does not exist"));
	assert_non_null(strstr(e.message, "head -c 32 /dev/urandom"));
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(dflt, &st), -1);

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 1);
	write_file(path, key, sizeof(key), 0400); /* a systemd credential is 0400 */
	struct vault *v = vault_open(d, path, &e);
	assert_non_null(v);
	assert_int_equal(stat(dflt, &st), -1); /* no key beside the data */
	assert_int_equal(vault_seal(v, "secret", 6, &s, &n, &e), 0);

	/* the same file through a symlink opens the same key */
	assert_int_equal(symlink(path, link), 0);
	struct vault *vl = vault_open(d, link, &e);
	assert_non_null(vl);
	assert_int_equal(vault_unseal(vl, s, n, &back, &lb, &e), 0);
	assert_memory_equal(back, "secret", 6);
	free(back);

	/* the data dir's default key is another key: the secret does not open */
	struct vault *vd = vault_open(d, NULL, &e);
	assert_non_null(vd);
	assert_int_equal(vault_unseal(vd, s, n, &back, &lb, &e), -1);
	assert_non_null(strstr(e.message, "wrong master key"));
	/* "" is the default as well */
	struct vault *ve = vault_open(d, "", &e);
	assert_non_null(ve);
	assert_int_equal(vault_unseal(ve, s, n, &back, &lb, &e), -1);

	/* the explicit file gets the default's checks */
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(vault_open(d, path, &e));
	assert_non_null(strstr(e.message, "chmod 600"));
	assert_null(vault_open(d, keys, &e)); /* a directory */
	assert_non_null(strstr(e.message, "not a regular file"));

	free(s);
	vault_free(v);
	vault_free(vl);
	vault_free(vd);
	vault_free(ve);
	free(path);
	free(link);
	free(dflt);
	rmtree(d);
	rmtree(keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_key_file_created_0600),
		cmocka_unit_test(test_refuses_bad_key_files),
		cmocka_unit_test(test_refuses_symlink_and_dir),
		cmocka_unit_test(test_explicit_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
