/*
 * arn.h — the ARNs sesame reads and writes:
 *  - SES identity ARNs `arn:<partition>:ses:<region>:<account>:identity/<identity>`
 *    (SourceArn, FromArn, ReturnPathArn, X-SES-*-ARN, policy Resource);
 *  - IAM principal ARNs `arn:<partition>:iam::<account>:root`,
 *    `...:user/<path/>name` and `...:role/<path/>name` (callers, policy Principal).
 * Pure. Errors are InvalidParameterValue with SES's wording `Invalid ARN <x>.`
 */
#ifndef SESAME_CORE_ARN_H
#define SESAME_CORE_ARN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/identity.h"
#include "util/err.h"

#define ARN_MAX 2048          /* input cap for any ARN */
#define ARN_PARTITION_MAX 31
#define ARN_REGION_MAX 31
#define ARN_IAM_NAME_MAX 64   /* IAM user and role names */
#define ARN_IAM_PATH_MAX 512

struct arn_identity {
	char partition[ARN_PARTITION_MAX + 1]; /* "aws", "aws-cn", ... */
	char region[ARN_REGION_MAX + 1];
	char account[13];                      /* 12 digits */
	char identity[IDENTITY_NAME_MAX + 1];  /* normal form (identity_normalise) */
	enum identity_type type;
};

/*
 * Parse an SES identity ARN (n bytes, at most ARN_MAX). The identity is
 * validated and normalised. A region of `*` (SES global endpoints) is
 * refused with a message saying so.
 */
int arn_identity_parse(const char *s, size_t n, struct arn_identity *out, struct err *e);

/*
 * Write `arn:aws:ses:<region>:<account>:identity/<identity>` into out (cap
 * bytes). Returns 0, or -1 when it does not fit (out then holds "").
 */
int arn_identity_format(const char *region, const char *account, const char *identity, char *out,
			size_t cap);

enum arn_principal_kind { ARN_PRINCIPAL_ROOT, ARN_PRINCIPAL_USER, ARN_PRINCIPAL_ROLE };

struct arn_principal {
	char partition[ARN_PARTITION_MAX + 1];
	char account[13];
	enum arn_principal_kind kind;
	char path[ARN_IAM_PATH_MAX + 1];  /* "/" when none; "" for root */
	char name[ARN_IAM_NAME_MAX + 1];  /* "" for root */
};

/* Parse an IAM principal ARN (root, user or role). */
int arn_principal_parse(const char *s, size_t n, struct arn_principal *out, struct err *e);

/* `arn:aws:iam::<account>:root` into out; -1 when it does not fit. */
int arn_root_format(const char *account, char *out, size_t cap);

/* `arn:aws:iam::<account>:user<path><name>`; path NULL or "" means "/". */
int arn_user_format(const char *account, const char *path, const char *name, char *out,
		    size_t cap);

/* Twelve ASCII digits exactly. */
bool arn_is_account_id(const char *s, size_t n);

/*
 * Split any ARN into its six fields (arn, partition, service, region,
 * account, resource) as slices of s; the resource is everything after the
 * fifth ':'. Returns 0, or -1 when s does not start with "arn:" or has
 * fewer than six fields. For policy ArnLike/ArnEquals matching.
 */
struct arn_parts {
	const char *part[6];
	size_t len[6];
};
int arn_split(const char *s, size_t n, struct arn_parts *out);

#endif
