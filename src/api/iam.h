/*
 * iam.h — the caller's own IAM side of a non-send action. An account's root
 * key may do everything to its own account; an IAM user needs an Allow for
 * ses:<Action> in its own user policy (on the identity's ARN for identity
 * actions, on "*" for account-level ones); a service principal's key only
 * sends (core/authz decides sends, user policy included).
 */
#ifndef SESAME_API_IAM_H
#define SESAME_API_IAM_H

#include "api/api.h"

/* 0 allowed; -1 with AccessDenied (403) in IAM's words, or a temporary
 * error when the user's policy cannot be read (fail closed). */
int iam_check(struct api_ctx *ctx, struct err *e);

#endif
