/* test_queue.c — src/queue/queue.c with the capture transport on a real
 * SQLite store in a temp data dir: MessageId shape, group commit from two
 * event-loop threads (every submission answered exactly once, on its own
 * loop, with a distinct id, and stored with its accept event), recovery of
 * messages left queued, shutdown, and injected store failures (a permanent
 * one isolated to its message, a temporary one answered 503 with nothing
 * stored). */
#include <event2/event.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "delivery/capture.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/xalloc.h"

/* TESTABLE internals of queue.c */
void queue_message_id_at(int64_t ms, char out[80]);
void queue_counts(const struct queue *q, uint64_t *batches_out, uint64_t *messages_out);

#define ACCT "111122223333"
#define PER_THREAD 400

struct fx {
	char *dir;
	struct conf c;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	char *argv[] = {"test_queue", NULL}, err[256];

	assert_int_equal(conf_parse_args(&f->c, 1, argv, err, sizeof(err)), 1); /* defaults */
	f->dir = xstrdup("/tmp/sesame-queue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->c.data, sizeof(f->c.data), "%s", f->dir);
	snprintf(f->c.transport, sizeof(f->c.transport), "capture");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f);
	return 0;
}

static struct store *
open_store(struct fx *f)
{
	struct err e;
	struct store *s = store_open(NULL, f->dir, &e);
	assert_non_null(s);
	return s;
}

/* A message with `nrcpt` recipients whose raw text and subject carry `tag`. */
static void
make_msg(struct queue_msg *m, const char *tag, int nrcpt)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->region, sizeof(m->region), "us-east-1");
	snprintf(m->sending_account, sizeof(m->sending_account), ACCT);
	snprintf(m->source_ip, sizeof(m->source_ip), "127.0.0.1");
	m->principal = xasprintf("arn:aws:iam::%s:root", ACCT);
	m->source_arn = xstrdup("arn:aws:ses:us-east-1:" ACCT ":identity/example.com");
	m->source = xstrdup("bounce@example.com");
	m->from_addr = xstrdup("sender@example.com");
	m->subject = xstrdup(tag);
	m->ndestinations = (size_t)nrcpt;
	m->destinations = xcalloc((size_t)nrcpt, sizeof(char *));
	for (int i = 0; i < nrcpt; i++)
		m->destinations[i] = xasprintf("rcpt%d@example.net", i);
	m->raw = (uint8_t *)xasprintf("From: sender@example.com\r\nSubject: %s\r\n\r\nbody %s\r\n",
				      tag, tag);
	m->raw_len = strlen((char *)m->raw);
}

/* ---- MessageId ----------------------------------------------------------- */

static void
test_message_id_shape(void **state)
{
	char a[80], b[80];

	queue_message_id_at(0x0123456789abLL, a);
	assert_int_equal(strlen(a), 60);
	assert_memory_equal(a, "01000123456789ab-", 17);
	assert_string_equal(a + 53, "-000000");
	assert_int_equal(a[25], '-');
	assert_int_equal(a[30], '-');
	assert_int_equal(a[31], '4'); /* UUID v4 */
	assert_true(strchr("89ab", a[36]) != NULL);
	for (const char *p = a; *p; p++)
		assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-');
	queue_message_id_at(0x0123456789abLL, b);
	assert_string_not_equal(a, b);
	queue_message_id(a);
	assert_memory_equal(a, "0100", 4);
	assert_int_equal(strlen(a), 60);
}

/* ---- group commit from two loops ----------------------------------------- */

struct sub;
struct one {
	struct sub *s;
	int i;
	char id[80];
	int answers;
};

struct sub {
	struct queue *q;
	struct event_base *base;
	pthread_t self;
	int tno;
	int done;
	int errors;
	int wrong_thread;
	struct one msgs[PER_THREAD];
};

static void
on_done(void *arg, const char *id, const struct err *e)
{
	struct one *o = arg;
	struct sub *s = o->s;

	if (!pthread_equal(pthread_self(), s->self))
		s->wrong_thread++;
	if (e != NULL || id == NULL)
		s->errors++;
	else
		snprintf(o->id, sizeof(o->id), "%s", id);
	o->answers++;
	if (++s->done == PER_THREAD)
		event_base_loopbreak(s->base);
}

static void
keepalive(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

static void *
submitter(void *arg)
{
	struct sub *s = arg;
	struct timeval second = {1, 0};
	struct event *tick;

	s->self = pthread_self();
	s->base = event_base_new();
	tick = event_new(s->base, -1, EV_PERSIST, keepalive, NULL);
	event_add(tick, &second);
	for (int i = 0; i < PER_THREAD; i++) {
		struct queue_msg m;
		char tag[32];
		snprintf(tag, sizeof(tag), "t%d-%d", s->tno, i);
		make_msg(&m, tag, 1 + i % 3);
		s->msgs[i].s = s;
		s->msgs[i].i = i;
		queue_submit(s->q, &m, s->base, on_done, &s->msgs[i]);
		/* ownership moved: the struct is zeroed */
		if (m.raw != NULL || m.destinations != NULL)
			s->errors++;
	}
	event_base_dispatch(s->base);
	event_free(tick);
	event_base_free(s->base);
	return NULL;
}

static int
count_row(void *arg, const struct store_message *m)
{
	(*(int *)arg)++;
	assert_null(m->raw); /* lists carry no bodies */
	assert_string_equal(m->transport, CAPTURE_NAME);
	assert_string_equal(m->status, STORE_MSG_DELIVERED);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The events of one message, copied out (at most 16). */
struct evs {
	int n;
	char type[16][16], rcpt[16][64], detail[16][512];
};

static int
keep_ev(void *arg, const struct store_event *ev)
{
	struct evs *v = arg;

	if (v->n < 16) {
		snprintf(v->type[v->n], sizeof(v->type[0]), "%s", ev->type);
		snprintf(v->rcpt[v->n], sizeof(v->rcpt[0]), "%s", ev->recipient ? ev->recipient : "");
		snprintf(v->detail[v->n], sizeof(v->detail[0]), "%s", ev->detail ? ev->detail : "");
		v->n++;
	}
	return 0;
}

static void
test_group_commit_two_threads(void **state)
{
	struct fx *f = *state;
	struct sub *subs = xcalloc(2, sizeof(*subs));
	pthread_t th[2];
	struct err e;
	struct queue *q = queue_start(&f->c, &e);
	const char *ids[2 * PER_THREAD];
	uint64_t batches, messages;
	int64_t accepted = 0, expect_rcpts = 0;
	int n = 0;

	assert_non_null(q);
	for (int t = 0; t < 2; t++) {
		subs[t].q = q;
		subs[t].tno = t;
		assert_int_equal(pthread_create(&th[t], NULL, submitter, &subs[t]), 0);
	}
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	queue_stop(q);
	queue_counts(q, &batches, &messages);
	queue_free(q);

	for (int t = 0; t < 2; t++) {
		assert_int_equal(subs[t].errors, 0);
		assert_int_equal(subs[t].wrong_thread, 0);
		assert_int_equal(subs[t].done, PER_THREAD);
		for (int i = 0; i < PER_THREAD; i++) {
			assert_int_equal(subs[t].msgs[i].answers, 1);
			ids[t * PER_THREAD + i] = subs[t].msgs[i].id;
			expect_rcpts += 1 + i % 3;
		}
	}
	/* distinct ids */
	qsort(ids, 2 * PER_THREAD, sizeof(ids[0]), cmp_id);
	for (int i = 1; i < 2 * PER_THREAD; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	/* group commit really grouped */
	assert_int_equal(messages, 2 * PER_THREAD);
	assert_true(batches >= 1 && batches < 2 * PER_THREAD);
	print_message("  %d messages in %llu batches\n", 2 * PER_THREAD,
		      (unsigned long long)batches);

	/* every answered id is stored, captured, with its bytes and its event */
	struct store *s = open_store(f);
	assert_int_equal(s->ops->message_list(s, CAPTURE_NAME, 0, count_row, &n, &e), 0);
	assert_int_equal(n, 2 * PER_THREAD);
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < PER_THREAD; i += 37) {
			struct store_message m = {0};
			char want[128];
			snprintf(want, sizeof(want),
				 "From: sender@example.com\r\nSubject: t%d-%d\r\n\r\nbody t%d-%d\r\n", t,
				 i, t, i);
			assert_int_equal(s->ops->message_get(s, subs[t].msgs[i].id, &m, &e), 1);
			assert_int_equal(m.raw_len, strlen(want));
			assert_memory_equal(m.raw, want, m.raw_len);
			assert_int_equal(m.ndestinations, (size_t)(1 + i % 3));
			assert_string_equal(m.destinations[0], "rcpt0@example.net");
			assert_string_equal(m.source, "bounce@example.com");
			assert_string_equal(m.from_addr, "sender@example.com");
			assert_string_equal(m.sending_account, ACCT);
			assert_true(m.delivered_ms >= m.created_ms);
			assert_string_equal(m.status, STORE_MSG_DELIVERED);
			store_message_clear(&m);
			/* one Send, then one Delivery, per recipient */
			struct evs ev = {0};
			assert_int_equal(s->ops->event_list(s, subs[t].msgs[i].id, keep_ev, &ev, &e),
					 0);
			assert_int_equal(ev.n, 2 * (1 + i % 3));
			for (int k = 0; k < ev.n; k++)
				assert_string_equal(ev.type[k], k < ev.n / 2 ? STORE_EV_SEND
									   : STORE_EV_DELIVERY);
			assert_string_equal(ev.rcpt[0], "rcpt0@example.net");
			assert_non_null(strstr(ev.detail[ev.n - 1], "\"smtpResponse\":\"250 "));
		}
	assert_int_equal(s->ops->event_sum(s, ACCT, "accept", 0, &accepted, &e), 0);
	assert_int_equal(accepted, expect_rcpts);
	store_close(s);
	free(subs);
}

/* ---- answers on the queue thread (reply_base NULL) ------------------------ */

struct tally {
	atomic_int ok, failed;
	char code[64];
	pthread_mutex_t mu;
};

static void
on_tally(void *arg, const char *id, const struct err *e)
{
	struct tally *t = arg;

	if (e == NULL) {
		atomic_fetch_add(&t->ok, 1);
		return;
	}
	pthread_mutex_lock(&t->mu);
	snprintf(t->code, sizeof(t->code), "%s", e->code);
	pthread_mutex_unlock(&t->mu);
	atomic_fetch_add(&t->failed, 1);
}

static void
wait_answers(struct tally *t, int n)
{
	for (int i = 0; i < 5000 && atomic_load(&t->ok) + atomic_load(&t->failed) < n; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&t->ok) + atomic_load(&t->failed), n);
}

static void
test_stop_answers_everything(void **state)
{
	struct fx *f = *state;
	struct tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct err e;
	struct queue *q = queue_start(&f->c, &e);
	struct queue_msg m;

	assert_non_null(q);
	for (int i = 0; i < 50; i++) {
		make_msg(&m, "bulk", 2);
		queue_submit(q, &m, NULL, on_tally, &t);
	}
	queue_stop(q); /* drains: all 50 answered before it returns */
	assert_int_equal(atomic_load(&t.ok), 50);
	assert_int_equal(atomic_load(&t.failed), 0);

	/* after stop: answered at once, temporarily refused */
	make_msg(&m, "late", 1);
	queue_submit(q, &m, NULL, on_tally, &t);
	assert_int_equal(atomic_load(&t.failed), 1);
	assert_string_equal(t.code, "ServiceUnavailable");
	queue_free(q);

	/* no queue at all */
	make_msg(&m, "none", 1);
	queue_submit(NULL, &m, NULL, on_tally, &t);
	assert_int_equal(atomic_load(&t.failed), 2);
	assert_string_equal(t.code, "ServiceUnavailable");
}

static void
test_bad_recipient_refused_alone(void **state)
{
	struct fx *f = *state;
	struct tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct err e;
	struct queue *q = queue_start(&f->c, &e);
	struct queue_msg m;

	assert_non_null(q);
	make_msg(&m, "bad", 2);
	free(m.destinations[1]);
	m.destinations[1] = xstrdup("\xff\xfe@example.net");
	queue_submit(q, &m, NULL, on_tally, &t);
	wait_answers(&t, 1);
	assert_int_equal(atomic_load(&t.failed), 1);
	assert_string_equal(t.code, "InvalidParameterValue");
	make_msg(&m, "good", 1);
	queue_submit(q, &m, NULL, on_tally, &t);
	wait_answers(&t, 2);
	assert_int_equal(atomic_load(&t.ok), 1);
	queue_free(q);
}

/* ---- recovery: messages a crash left queued ------------------------------ */

static void
test_recovers_queued_messages(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f);
	struct store_message v[3];
	struct err e;
	struct queue *q;
	int n = 0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		struct queue_msg m;
		make_msg(&m, "left", 1);
		queue_message_id(v[i].id);
		snprintf(v[i].region, sizeof(v[i].region), "us-east-1");
		snprintf(v[i].sending_account, sizeof(v[i].sending_account), ACCT);
		v[i].source = m.source, m.source = NULL;
		v[i].from_addr = m.from_addr, m.from_addr = NULL;
		v[i].destinations = m.destinations, m.destinations = NULL;
		v[i].ndestinations = m.ndestinations, m.ndestinations = 0;
		v[i].raw = m.raw, m.raw = NULL;
		v[i].raw_len = m.raw_len;
		v[i].created_ms = (int64_t)time(NULL) * 1000;
		queue_msg_clear(&m);
	}
	assert_int_equal(s->ops->message_insert(s, v, 3, NULL, 0, &e), 0);
	/* queued: not in the inbox yet */
	assert_int_equal(s->ops->message_list(s, CAPTURE_NAME, 0, count_row, &n, &e), 0);
	assert_int_equal(n, 0);

	q = queue_start(&f->c, &e);
	assert_non_null(q);
	for (int i = 0; i < 5000 && n < 3; i++) {
		usleep(1000);
		n = 0;
		assert_int_equal(s->ops->message_list(s, CAPTURE_NAME, 0, count_row, &n, &e), 0);
	}
	assert_int_equal(n, 3);
	queue_free(q);

	/* finished once: an outcome from a holder that no longer has the
	 * lease changes nothing, and the message stays delivered */
	struct store_rcpt_outcome o = {.message_id = v[0].id, .idx = 0,
				       .status = STORE_RCPT_BOUNCED};
	assert_int_equal(s->ops->rcpt_finish(s, "local", CAPTURE_NAME, &o, 1, 1, &e), 0);
	assert_int_equal(s->ops->rcpt_finish(s, "other", CAPTURE_NAME, &o, 1, 1, &e), 0);
	struct store_message got = {0};
	assert_int_equal(s->ops->message_get(s, v[0].id, &got, &e), 1);
	assert_string_equal(got.status, STORE_MSG_DELIVERED);
	store_message_clear(&got);
	struct evs ev = {0};
	assert_int_equal(s->ops->event_list(s, v[0].id, keep_ev, &ev, &e), 0);
	assert_int_equal(ev.n, 1); /* the Delivery only: Send was the inserter's to write */
	assert_string_equal(ev.type[0], STORE_EV_DELIVERY);
	for (int i = 0; i < 3; i++)
		store_message_clear(&v[i]);
	store_close(s);
}

/* ---- injected store failures ---------------------------------------------- */

struct seen {
	char id[80];
	bool ok;
	char code[64];
	atomic_int answered;
};

static void
on_seen(void *arg, const char *id, const struct err *e)
{
	struct seen *s = arg;

	s->ok = e == NULL;
	if (id != NULL)
		snprintf(s->id, sizeof(s->id), "%s", id);
	if (e != NULL)
		snprintf(s->code, sizeof(s->code), "%s", e->code);
	atomic_store(&s->answered, 1);
}

static void
exec_sql(struct fx *f, const char *sql)
{
	char *path = xasprintf("%s/sesame.db", f->dir);
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

static void
test_store_failures(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f); /* creates the schema */
	struct seen seen[24];
	const char *subject[24];
	struct err e;
	struct queue *q;
	int64_t accepted = 0, want = 0, nfailed_fine = 0;
	int rows = 0;

	/* 'poison' hits a constraint (permanent: only that message fails);
	 * 'boom' makes SQLite fail outright (temporary: its batch fails). */
	exec_sql(f, "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'poison'"
		    " BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
		    "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.subject = 'boom'"
		    " BEGIN SELECT zeroblob(2000000000); END;");
	memset(seen, 0, sizeof(seen));
	/* round 1: poison among fine ones; round 2: boom among fine ones */
	for (int round = 0; round < 2; round++) {
		q = queue_start(&f->c, &e);
		assert_non_null(q);
		for (int i = round * 12; i < round * 12 + 12; i++) {
			struct queue_msg m;
			subject[i] = i == 4 ? "poison" : i == 21 ? "boom" : "fine";
			make_msg(&m, subject[i], 1);
			queue_submit(q, &m, NULL, on_seen, &seen[i]);
		}
		queue_stop(q);
		queue_free(q);
	}

	for (int i = 0; i < 24; i++) {
		struct store_message m = {0};
		int rc;
		assert_int_equal(atomic_load(&seen[i].answered), 1);
		if (i == 4) {
			assert_false(seen[i].ok);
			assert_string_equal(seen[i].code, "InvalidParameterValue");
			continue;
		}
		if (i == 21) {
			assert_false(seen[i].ok);
			assert_string_equal(seen[i].code, "ServiceUnavailable");
			continue;
		}
		/* a fine message shared a batch with 'boom' or was stored */
		if (!seen[i].ok) {
			assert_true(i >= 12); /* never next to a mere constraint failure */
			assert_string_equal(seen[i].code, "ServiceUnavailable");
			nfailed_fine++;
			continue;
		}
		want++;
		rc = s->ops->message_get(s, seen[i].id, &m, &e);
		assert_int_equal(rc, 1);
		store_message_clear(&m);
	}
	/* accept events exist exactly for the stored messages */
	assert_int_equal(s->ops->event_sum(s, ACCT, "accept", 0, &accepted, &e), 0);
	assert_int_equal(accepted, want);
	assert_int_equal(s->ops->message_list(s, CAPTURE_NAME, 0, count_row, &rows, &e), 0);
	assert_int_equal(rows, want);
	assert_true(want >= 11); /* all of round 1 but the poison */
	print_message("  boom took %lld fine messages with it\n", (long long)nfailed_fine);
	store_close(s);
}

/* ---- the statistics ops the account actions use ---------------------------- */

struct bucket_list {
	int n;
	struct send_bucket b[8];
};

static int
keep_bucket(void *arg, const struct send_bucket *b)
{
	struct bucket_list *l = arg;
	if (l->n < 8)
		l->b[l->n++] = *b;
	return 0;
}

static void
test_send_statistics(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f);
	struct bucket_list l = {0};
	struct err e;
	int64_t sum = -1;

	assert_int_equal(s->ops->event_record(s, ACCT, 9000, "accept", 3, &e), 0);
	assert_int_equal(s->ops->event_record(s, ACCT, 9899, "accept", 2, &e), 0);
	assert_int_equal(s->ops->event_record(s, ACCT, 9100, "bounce", 1, &e), 0);
	assert_int_equal(s->ops->event_record(s, ACCT, 9950, "reject", 1, &e), 0);
	assert_int_equal(s->ops->event_record(s, ACCT, 8000, "complaint", 1, &e), 0);
	assert_int_equal(s->ops->event_record(s, "444455556666", 9000, "accept", 7, &e), 0);
	assert_int_equal(s->ops->event_record(s, ACCT, 9000, "nonsense", 1, &e), -1);
	assert_int_equal(e.http, 400);

	assert_int_equal(s->ops->event_sum(s, ACCT, "accept", 0, &sum, &e), 0);
	assert_int_equal(sum, 5);
	/* counts are kept per minute: a window starting inside a minute takes
	 * that whole minute (never less than asked) */
	assert_int_equal(s->ops->event_sum(s, ACCT, "accept", 9001, &sum, &e), 0);
	assert_int_equal(sum, 5);
	assert_int_equal(s->ops->event_sum(s, ACCT, "accept", 9060, &sum, &e), 0);
	assert_int_equal(sum, 2);
	assert_int_equal(s->ops->event_sum(s, "999999999999", "accept", 0, &sum, &e), 0);
	assert_int_equal(sum, 0);

	assert_int_equal(s->ops->event_buckets(s, ACCT, 0, keep_bucket, &l, &e), 0);
	/* oldest first, on 900-second boundaries: 8000 → 7200, 9000..9899 → 9000,
	 * 9950 → 9900 */
	assert_int_equal(l.n, 3);
	assert_int_equal(l.b[0].start, 7200);
	assert_int_equal(l.b[0].complaints, 1);
	assert_int_equal(l.b[0].attempts, 0);
	assert_int_equal(l.b[1].start, 9000);
	assert_int_equal(l.b[1].attempts, 5);
	assert_int_equal(l.b[1].bounces, 1);
	assert_int_equal(l.b[1].rejects, 0);
	assert_int_equal(l.b[2].start, 9900);
	assert_int_equal(l.b[2].rejects, 1);
	l.n = 0;
	assert_int_equal(s->ops->event_buckets(s, ACCT, 9000, keep_bucket, &l, &e), 0);
	assert_int_equal(l.n, 2);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_id_shape),
		cmocka_unit_test_setup_teardown(test_group_commit_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_answers_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_recipient_refused_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovers_queued_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_statistics, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
