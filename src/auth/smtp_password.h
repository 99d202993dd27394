/*
 * smtp_password.h — SES-style SMTP passwords derived from a secret access key
 * (spec §5.2). The SMTP user name is the access key id; the password is
 * base64(version byte || HMAC chain), 44 characters. Part of src/auth/
 * (credentials): the SMTP front end checks passwords through
 * credentials_lookup, the admin CLI derives them for `key create`.
 */
#ifndef SESAME_AUTH_SMTP_PASSWORD_H
#define SESAME_AUTH_SMTP_PASSWORD_H

#include <stdbool.h>

/* Base64 length of a password plus NUL. */
#define SMTP_PASSWORD_LEN 45
/* Longest password text smtp_password_check will look at. */
#define SMTP_PASSWORD_MAX_INPUT 128

/* Version 4 (current): region-specific; out is NUL-terminated, starts 'B'. */
void smtp_password_v4(const char *secret, const char *region, char out[SMTP_PASSWORD_LEN]);

/* Version 2 (legacy, pre-2019 credentials): region-independent, starts 'A'. */
void smtp_password_v2(const char *secret, char out[SMTP_PASSWORD_LEN]);

/* True if `password` (as typed by the client, base64) is the v4 password of
 * `secret` for `region`, or its v2 password. The comparison of the decoded
 * bytes (version byte included) is constant-time; malformed, overlong or
 * wrongly-versioned input is simply false. */
bool smtp_password_check(const char *secret, const char *region, const char *password);

#endif
