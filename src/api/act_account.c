/*
 * act_account.c — account-level actions: quota, statistics, the sending
 * switch. Everything is the *caller's* account: a delegate sees its own
 * quota and statistics, never the identity owner's.
 */
#include <stdio.h>

#include "api/act.h"
#include "api/xml.h"
#include "store/store.h"

#define DAY (24 * 60 * 60)
#define TWO_WEEKS (14 * DAY)


int
act_account_sent_24h(struct api_ctx *ctx, int64_t *sent_out, struct err *e)
{
	*sent_out = 0;
	return ctx->store->ops->event_sum(ctx->store, ctx->account.id, "accept",
					  (int64_t)ctx->now - DAY, sent_out, e) != 0 ? -1 : 0;
}

int
act_get_send_quota(struct api_ctx *ctx, struct err *e)
{
	const struct account *a = &ctx->account;
	int64_t sent = 0;

	if (act_account_sent_24h(ctx, &sent, e) != 0)
		return -1;
	if (xml_elem_f1(ctx->out, "Max24HourSend", (double)a->max_24h) != 0 ||
	    xml_elem_f1(ctx->out, "MaxSendRate", a->max_rate) != 0 ||
	    xml_elem_f1(ctx->out, "SentLast24Hours", (double)sent) != 0)
		return err_set(e, 500, "InternalFailure", "The response could not be written.");
	return 0;
}

static int
write_point(void *arg, const struct send_bucket *b)
{
	struct api_ctx *ctx = arg;
	char ts[32];

	api_timestamp((time_t)b->start, ts);
	xml_open(ctx->out, "member");
	xml_elem(ctx->out, "Timestamp", ts);
	xml_elem_i64(ctx->out, "DeliveryAttempts", b->attempts);
	xml_elem_i64(ctx->out, "Bounces", b->bounces);
	xml_elem_i64(ctx->out, "Complaints", b->complaints);
	xml_elem_i64(ctx->out, "Rejects", b->rejects);
	xml_close(ctx->out, "member");
	return 0;
}

int
act_get_send_statistics(struct api_ctx *ctx, struct err *e)
{
	xml_open(ctx->out, "SendDataPoints");
	if (ctx->store->ops->event_buckets(ctx->store, ctx->caller.account_id,
					   (int64_t)ctx->now - TWO_WEEKS, write_point, ctx, e) != 0)
		return -1;
	xml_close(ctx->out, "SendDataPoints");
	return 0;
}

int
act_get_account_sending_enabled(struct api_ctx *ctx, struct err *e)
{
	/* the account's own switch and no reputation pause (DESIGN.md) */
	bool on = ctx->account.sending_enabled && ctx->account.paused_reason[0] == '\0';
	return xml_elem(ctx->out, "Enabled", on ? "true" : "false");
}

int
act_update_account_sending_enabled(struct api_ctx *ctx, struct err *e)
{
	bool enabled = false;

	/* The model makes Enabled optional; absent means false, as in SES. */
	if (api_param_bool(ctx, "Enabled", false, &enabled, e) != 0)
		return -1;
	return ctx->store->ops->account_set_sending(ctx->store, ctx->caller.account_id, enabled, e) < 0
		       ? -1
		       : 0;
}
