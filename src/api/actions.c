/*
 * actions.c — the Query API dispatch table (STYLE §11) and the small
 * parameter helpers every handler shares. One row per SES action; the
 * handlers live in act_<family>.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/act.h"
#include "api/api.h"
#include "api/form.h"

static const struct api_action actions[] = {
	/* account (act_account.c) */
	{"GetSendQuota", act_get_send_quota, true},
	{"GetSendStatistics", act_get_send_statistics, true},
	{"GetAccountSendingEnabled", act_get_account_sending_enabled, true},
	{"UpdateAccountSendingEnabled", act_update_account_sending_enabled, false},
	/* identities (act_identity.c) */
	{"ListIdentities", act_list_identities, true},
};

const struct api_action *
api_action_find(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

const char *
api_param_opt(struct api_ctx *ctx, const char *name)
{
	return form_get(ctx->form, name);
}

const char *
api_param(struct api_ctx *ctx, const char *name, struct err *e)
{
	const char *v = form_get(ctx->form, name);

	if (v == NULL) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter %s.", name);
		return NULL;
	}
	return v;
}

int
api_param_bool(struct api_ctx *ctx, const char *name, bool required, bool *out, struct err *e)
{
	const char *v = form_get(ctx->form, name);

	if (v == NULL) {
		if (required)
			return err_set(e, 400, "MissingParameter",
				       "The request must contain the parameter %s.", name);
		return 0;
	}
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return err_set(e, 400, "InvalidParameterValue",
			       "Value %.32s for parameter %s is invalid. Expected true or false.", v,
			       name);
	return 0;
}

void
api_timestamp(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}
