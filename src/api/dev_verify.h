/*
 * dev_verify.h — GET /_sesame/verify?token=… on the API listener: the link
 * a verification mail carries (verify_mail_link builds it). No SigV4: the
 * token is the credential.
 */
#ifndef SESAME_API_DEV_VERIFY_H
#define SESAME_API_DEV_VERIFY_H

struct httpd_req;
struct api_thread;

/* The route handler (a row of dev.c's table). Answers an HTML page:
 * 200 verified, 404 unknown or malformed token, 409 already used,
 * 410 expired (the identity is then Failed). */
void dev_verify(struct httpd_req *r, struct api_thread *t, const char *rest);

#endif
