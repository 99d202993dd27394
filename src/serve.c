/*
 * serve.c — `sesame serve`: lock the data directory, open the vault and
 * the store (running migrations), start the listeners, print where they
 * are and how to start, then wait for SIGINT/SIGTERM and shut down cleanly.
 *
 * One serve per data directory: DATA/serve.lock is flock'ed before the
 * store is opened and held until exit, so a second serve on the same
 * directory stops at once with the holder's pid instead of sharing the
 * queue and its claims. Admin commands do not take the lock: they share
 * the store with a running server by design. One serve per listen address
 * is the listeners' business (util/net.h: exclusive binds).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "send/limits.h"
#include "send/send.h"
#include "api/server.h"
#include "queue/queue.h"
#include "conf/conf.h"
#include "serve.h"
#include "smtp/server.h"
#include "sns/deliver.h"
#include "store/store.h"
#include "auth/dkim_keys.h"
#include "auth/vault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/workers.h"
#include "util/xalloc.h"
#include "verify/verify.h"

static int
parse_level(const char *s)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* What is listening where: for a person at a terminal, the banner and a
 * quickstart on stdout; for a log collector (--log-format json), one event. */
static void
banner(const struct conf *c)
{
	if (strcmp(c->log_format, "json") == 0) {
		struct log_field f[] = {LOG_S("regions", c->regions), LOG_S("data", c->data),
					LOG_S("http", c->http), LOG_S("smtp", c->smtp),
					LOG_S("smtps", c->smtps), LOG_S("feedback", c->feedback)};
		log_fields(LOG_INFO, "serve: ready", f, sizeof(f) / sizeof(f[0]));
		return;
	}
	printf("sesame: serving regions %s with data in %s\n"
	       "  SES API   http://%s   (aws --endpoint-url http://%s ses ...)\n"
	       "  inbox     http://%s/_sesame/\n"
	       "  SMTP      %s (STARTTLS), %s (implicit TLS), region %s\n"
	       "  feedback  %s (inbound DSN and ARF reports, bounce domain %s)\n"
	       "quickstart:\n"
	       "  ./build/sesame account create --data %s --name myteam\n"
	       "  ./build/sesame key create --data %s --account <AccountId>\n"
	       "  AWS_ACCESS_KEY_ID=<AccessKeyId> AWS_SECRET_ACCESS_KEY=<SecretAccessKey> \\\n"
	       "    aws ses get-send-quota --endpoint-url http://%s --region %s\n",
	       c->regions, c->data, c->http, c->http, c->http,
	       c->smtp[0] ? c->smtp : "off", c->smtps[0] ? c->smtps : "off", c->region[0],
	       c->feedback[0] ? c->feedback : "off", c->bounce_domain, c->data,
	       c->data, c->http, c->region[0]);
	fflush(stdout);
}

int
serve_main(const struct conf *c)
{
	struct err e = {0};
	struct vault *v = NULL;
	struct store *s = NULL;
	struct http_server *http = NULL;
	struct smtp_server *smtp = NULL;
	struct limits *lim = NULL;
	struct workers *w = NULL;
	struct dkim_keys_cache *keys = NULL;
	struct send_shared shared;
	struct queue *q = NULL;
	struct verify *checker = NULL;
	struct sns_deliverer *sns = NULL;
	sigset_t set;
	int sig, lvl, lock_fd = -1;
	long holder;
	char *lock_path = NULL;

	if ((lvl = parse_level(c->log_level)) < 0) {
		fprintf(stderr, "sesame: --log-level must be debug, info, warn or error\n");
		return 2;
	}
	log_set_level((enum log_level)lvl);
	log_set_json(strcmp(c->log_format, "json") == 0);

	/* Block the signals in every thread; this one waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (fs_mkdirs(c->data, 0700, &e) != 0)
		goto fail;
	lock_path = xasprintf("%s/serve.lock", c->data);
	if (fs_lock(lock_path, &lock_fd, &holder, &e) != 0) {
		if (holder >= 0)
			err_set(&e, 500, "InternalFailure",
				"data directory %s is in use by another sesame serve (pid %ld)",
				c->data, holder);
		goto fail;
	}
	if ((v = vault_open(c->data, c->master_key, &e)) == NULL)
		goto fail;
	/* Open once here so migrations run before any listener starts. */
	if ((s = store_open(c->db, c->data, &e)) == NULL)
		goto fail;
	store_close(s);
	store_checkpoint_thread(true);
	/* The queue before the listeners (it delivers what a previous run left
	 * queued) and freed after them: their loops submit to it. */
	if ((q = queue_start(c, &e)) == NULL)
		goto fail;
	/* one set of rate buckets for both front ends: a send is charged the
	 * same whether it came over HTTP or SMTP */
	lim = limits_new();
	/* DKIM signing and other CPU work, off the loops */
	w = workers_start(0, 0);
	keys = dkim_keys_cache_new(v);
	shared = (struct send_shared){.queue = q, .limits = lim, .workers = w, .dkim_keys = keys};
	/* SMTP first: once the HTTP health check answers, every listener is up */
	if ((smtp = smtp_server_start(c, v, &shared, &e)) == NULL)
		goto fail;
	if ((http = http_server_start(c, v, &shared, &e)) == NULL) {
		smtp_server_stop(smtp);
		goto fail;
	}
	/* SNS deliveries from the outbox (makes the signing key on first run) */
	if ((sns = sns_deliver_start(c, v, &e)) == NULL) {
		smtp_server_stop(smtp);
		http_server_stop(http);
		goto fail;
	}
	/* the DNS checker for pending domains, DKIM and MAIL FROM (--dns) */
	if ((checker = verify_start(c, v, &e)) == NULL) {
		sns_deliver_stop(sns);
		smtp_server_stop(smtp);
		http_server_stop(http);
		goto fail;
	}

	banner(c);

	sigwait(&set, &sig);
	log_info("serve: signal %d, shutting down", sig);
	verify_stop(checker);
	/* Stop taking new work, answer every accepted message while the loops
	 * still run, then stop the loops, then free the queue they submitted
	 * to: no answer is ever scheduled on a loop that will not run it. */
	smtp_server_drain(smtp);
	http_server_drain(http);
	/* signatures in flight finish (and reach the queue) or are answered
	 * with a temporary error on their loops, which still run */
	workers_stop(w);
	queue_stop(q);
	sns_deliver_stop(sns);
	smtp_server_stop(smtp);
	http_server_stop(http);
	queue_free(q);
	store_checkpoint_thread(false);
	limits_free(lim);
	dkim_keys_cache_free(keys);
	vault_free(v);
	close(lock_fd);
	free(lock_path);
	return 0;
fail:
	/* the one line DESIGN.md pins ("sesame: … is already in use"), in
	 * either log format: the process ends here */
	fprintf(stderr, "sesame: %s\n", e.message);
	workers_stop(w);
	queue_free(q);
	store_checkpoint_thread(false);
	limits_free(lim);
	dkim_keys_cache_free(keys);
	vault_free(v);
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock_path);
	return 1;
}
