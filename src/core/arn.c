/*
 * arn.c — parsing and formatting of SES identity ARNs and IAM principal
 * ARNs; see arn.h. Pure. Every error names the offending ARN (printable
 * ASCII only, truncated) in SES's words: `Invalid ARN <x>.`
 */
#include "core/arn.h"

#include <stdio.h>
#include <string.h>

#define ARN_SHOW_MAX 200

enum { A_ARN, A_PARTITION, A_SERVICE, A_REGION, A_ACCOUNT, A_RESOURCE };

static int
bad_arn(struct err *e, const char *s, size_t n, const char *why)
{
	char show[ARN_SHOW_MAX + 4];
	size_t o = 0;

	for (size_t i = 0; i < n && o < ARN_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		show[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n > ARN_SHOW_MAX) {
		memcpy(show + o, "...", 3);
		o += 3;
	}
	show[o] = '\0';
	return err_set(e, 400, "InvalidParameterValue", "Invalid ARN <%s>.%s%s", show,
		       why != NULL ? " " : "", why != NULL ? why : "");
}

bool
arn_is_account_id(const char *s, size_t n)
{
	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
arn_split(const char *s, size_t n, struct arn_parts *out)
{
	size_t start = 0, k = 0;

	if (n < 4 || memcmp(s, "arn:", 4) != 0)
		return -1;
	for (size_t i = 0; i < n && k < 5; i++) {
		if (s[i] == ':') {
			out->part[k] = s + start;
			out->len[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	if (k < 5)
		return -1;
	out->part[5] = s + start;
	out->len[5] = n - start;
	return 0;
}

/* lower-case letters, digits and '-', 1..max bytes */
static bool
token_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool
has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int
arn_identity_parse(const char *s, size_t n, struct arn_identity *out, struct err *e)
{
	struct arn_parts p;
	char id[IDENTITY_NAME_MAX * 2 + 1];

	memset(out, 0, sizeof(*out));
	if (n > ARN_MAX)
		return bad_arn(e, s, n, "ARN too long.");
	if (n == 0 || has_nul(s, n) || arn_split(s, n, &p) < 0)
		return bad_arn(e, s, n, NULL);
	if (!token_ok(p.part[A_PARTITION], p.len[A_PARTITION], ARN_PARTITION_MAX) ||
	    p.len[A_PARTITION] < 3 || memcmp(p.part[A_PARTITION], "aws", 3) != 0)
		return bad_arn(e, s, n, NULL);
	if (p.len[A_SERVICE] != 3 || memcmp(p.part[A_SERVICE], "ses", 3) != 0)
		return bad_arn(e, s, n, "Not an SES identity ARN.");
	if (p.len[A_REGION] == 1 && p.part[A_REGION][0] == '*')
		return bad_arn(e, s, n, "Global endpoints (region '*') are not supported.");
	if (!token_ok(p.part[A_REGION], p.len[A_REGION], ARN_REGION_MAX))
		return bad_arn(e, s, n, NULL);
	if (!arn_is_account_id(p.part[A_ACCOUNT], p.len[A_ACCOUNT]))
		return bad_arn(e, s, n, NULL);
	if (p.len[A_RESOURCE] <= 9 || memcmp(p.part[A_RESOURCE], "identity/", 9) != 0)
		return bad_arn(e, s, n, "Not an SES identity ARN.");
	size_t il = p.len[A_RESOURCE] - 9;
	if (il >= sizeof(id))
		return bad_arn(e, s, n, NULL);
	memcpy(id, p.part[A_RESOURCE] + 9, il);
	id[il] = '\0';
	if (identity_normalise(id, out->identity, sizeof(out->identity), &out->type, NULL) < 0)
		return bad_arn(e, s, n, NULL);
	memcpy(out->partition, p.part[A_PARTITION], p.len[A_PARTITION]);
	memcpy(out->region, p.part[A_REGION], p.len[A_REGION]);
	memcpy(out->account, p.part[A_ACCOUNT], 12);
	return 0;
}

static int
fit(int r, char *out, size_t cap)
{
	if (r < 0 || (size_t)r >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
arn_identity_format(const char *region, const char *account, const char *identity, char *out,
		    size_t cap)
{
	return fit(snprintf(out, cap, "arn:aws:ses:%s:%s:identity/%s", region, account, identity),
		   out, cap);
}

int
arn_root_format(const char *account, char *out, size_t cap)
{
	return fit(snprintf(out, cap, "arn:aws:iam::%s:root", account), out, cap);
}

int
arn_user_format(const char *account, const char *path, const char *name, char *out, size_t cap)
{
	if (path == NULL || *path == '\0')
		path = "/";
	return fit(snprintf(out, cap, "arn:aws:iam::%s:user%s%s", account, path, name), out, cap);
}

/* IAM user/role name characters: [A-Za-z0-9+=,.@_-] */
static bool
iam_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > ARN_IAM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("+=,.@_-", c) != NULL))
			return false;
	}
	return true;
}

int
arn_principal_parse(const char *s, size_t n, struct arn_principal *out, struct err *e)
{
	struct arn_parts p;
	const char *r;
	size_t rl, skip;

	memset(out, 0, sizeof(*out));
	if (n > ARN_MAX)
		return bad_arn(e, s, n, "ARN too long.");
	if (n == 0 || has_nul(s, n) || arn_split(s, n, &p) < 0)
		return bad_arn(e, s, n, NULL);
	if (!token_ok(p.part[A_PARTITION], p.len[A_PARTITION], ARN_PARTITION_MAX) ||
	    p.len[A_PARTITION] < 3 || memcmp(p.part[A_PARTITION], "aws", 3) != 0 ||
	    p.len[A_SERVICE] != 3 || memcmp(p.part[A_SERVICE], "iam", 3) != 0 ||
	    p.len[A_REGION] != 0 || !arn_is_account_id(p.part[A_ACCOUNT], p.len[A_ACCOUNT]))
		return bad_arn(e, s, n, NULL);
	r = p.part[A_RESOURCE];
	rl = p.len[A_RESOURCE];
	if (rl == 4 && memcmp(r, "root", 4) == 0) {
		out->kind = ARN_PRINCIPAL_ROOT;
	} else {
		if (rl > 5 && memcmp(r, "user/", 5) == 0) {
			out->kind = ARN_PRINCIPAL_USER;
			skip = 4;
		} else if (rl > 5 && memcmp(r, "role/", 5) == 0) {
			out->kind = ARN_PRINCIPAL_ROLE;
			skip = 4;
		} else {
			return bad_arn(e, s, n, NULL);
		}
		/* path is "/" ... up to and including the last '/', the name follows */
		const char *path = r + skip;
		size_t rest = rl - skip, last = 0;
		for (size_t i = 0; i < rest; i++)
			if (path[i] == '/')
				last = i;
		size_t pl = last + 1, nl = rest - pl;
		if (pl > ARN_IAM_PATH_MAX || !iam_name_ok(path + pl, nl))
			return bad_arn(e, s, n, NULL);
		for (size_t i = 0; i < pl; i++)
			if (path[i] < 0x21 || path[i] > 0x7e || (i > 0 && path[i] == '/' &&
								 path[i - 1] == '/'))
				return bad_arn(e, s, n, NULL);
		memcpy(out->path, path, pl);
		memcpy(out->name, path + pl, nl);
	}
	memcpy(out->partition, p.part[A_PARTITION], p.len[A_PARTITION]);
	memcpy(out->account, p.part[A_ACCOUNT], 12);
	return 0;
}
