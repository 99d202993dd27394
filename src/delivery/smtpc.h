/*
 * smtpc.h — the asynchronous outbound SMTP client (RFC 5321, 3207, 2920,
 * 1870, 6152, 2034/3463) on libevent bufferevents; notes and the state
 * machine in docs/internals/delivery.md.
 *
 * One struct smtpc per event-loop thread, created on that loop's
 * event_base and used only from that thread. It never blocks the loop:
 * targets come already resolved (see mx.h), sockets are non-blocking, and
 * every step has a timeout (RFC 5321 §4.5.3.2, times conf->timeout_scale).
 *
 * A job is one message to up to SMTPC_RCPT_MAX recipients with an ordered
 * list of candidate targets. smtpc_send() either refuses the job at once
 * (-1, no callback) or accepts it (0) and then calls `done` exactly once,
 * always from the loop, never from inside smtpc_send(); smtpc_free()
 * completes what is still outstanding (inside smtpc_free).
 *
 * The reply parser (smtpc_reply_parse, smtpc_ehlo_parse) is pure: bytes in,
 * a parsed reply out, no I/O, so it is fuzzed and tested alone.
 */
#ifndef SESAME_DELIVERY_SMTPC_H
#define SESAME_DELIVERY_SMTPC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

struct event_base;
struct ssl_ctx_st;
struct smtpc;

/* ---- caps ------------------------------------------------------------------ */

#define SMTPC_RCPT_MAX        50          /* recipients per job (SES's per-message cap) */
#define SMTPC_TARGETS_MAX     32          /* candidate targets per job */
#define SMTPC_ADDR_MAX        320         /* an envelope address, without the brackets */
#define SMTPC_HOST_MAX        255         /* a target's host name */
#define SMTPC_MESSAGE_MAX     (40u << 20) /* message bytes per job */
#define SMTPC_LINE_STRICT     1000        /* RFC 5321 line limit; longer lines are flagged... */
#define SMTPC_LINE_MAX        4096        /* ...and tolerated up to here, then a protocol error */
#define SMTPC_REPLY_LINES_MAX 64          /* lines in one reply */
#define SMTPC_REPLY_BYTES_MAX 32768       /* bytes in one reply, CRLFs included */
#define SMTPC_TEXT_MAX        512         /* a result's reply text, one line */
#define SMTPC_REMOTE_MAX      (INET6_ADDRSTRLEN + 8) /* "[::1]:25" / "127.0.0.1:25" */

/* ---- the reply parser (pure) ------------------------------------------------ */

struct smtpc_slice {
	const char *p; /* into the parsed buffer, not NUL-terminated */
	size_t n;
};

struct smtpc_reply {
	int code;           /* 200..599 */
	char status[16];    /* enhanced status "5.1.1": parsed, else derived "5.0.0" */
	bool status_parsed; /* the server sent an enhanced code on the first line */
	bool overlong;      /* a line passed SMTPC_LINE_STRICT (tolerated) */
	size_t nlines;
	/* each line's text after "250-" / "250 " (CR and LF removed); when the
	 * server sent an enhanced code it stays in the text */
	struct smtpc_slice line[SMTPC_REPLY_LINES_MAX];
};

enum smtpc_parse {
	SMTPC_PARSE_ERROR = -1, /* not an SMTP reply: bad code, mixed codes, over a cap */
	SMTPC_PARSE_MORE = 0,   /* incomplete: read more and call again with all bytes */
	SMTPC_PARSE_OK = 1,     /* one complete reply; *used_out bytes consumed */
};

/*
 * Parse the first reply in buf[0..len). Lines end in CRLF (a bare LF is
 * accepted); each is "ddd-text" (more follow) or "ddd text" / "ddd" (the
 * last). The first digit is 2..5, the second 0..5; every line carries the
 * same code. r->line slices point into buf. A line longer than
 * SMTPC_LINE_MAX, more than SMTPC_REPLY_LINES_MAX lines or more than
 * SMTPC_REPLY_BYTES_MAX bytes is an error, even before its end arrived.
 * `r` and `used_out` are written only on SMTPC_PARSE_OK.
 */
enum smtpc_parse smtpc_reply_parse(const char *buf, size_t len, struct smtpc_reply *r,
                                   size_t *used_out);

/*
 * The reply as one line of text for results and logs: the lines' texts
 * joined by a space, control bytes and non-ASCII replaced by '?', cut at
 * cap-1 bytes. Returns `out`.
 */
char *smtpc_reply_text(const struct smtpc_reply *r, char *out, size_t cap);

struct smtpc_ehlo {
	bool pipelining, starttls, eightbitmime, enhancedstatuscodes, smtputf8, chunking;
	bool size;              /* SIZE offered */
	unsigned long size_max; /* its limit; 0 = none given */
};

/* The ESMTP extensions of a 250 EHLO reply (keywords case-insensitive; the
 * first line is the greeting, not a keyword). Fills *x (zeroed first). */
void smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ehlo *x);

/* ---- the client ------------------------------------------------------------- */

enum smtpc_tls {
	SMTPC_TLS_NONE,          /* never STARTTLS */
	SMTPC_TLS_OPPORTUNISTIC, /* STARTTLS when offered, no certificate check (Postfix "may") */
	SMTPC_TLS_REQUIRED,      /* no STARTTLS offered: the target fails temporarily
	                            (Postfix "encrypt": TLS mandatory, certificate unchecked) */
};

struct smtpc_conf {
	const char *helo; /* EHLO/HELO name (copied); NULL = "localhost" */
	enum smtpc_tls tls;
	/* A client SSL_CTX: borrowed with a reference taken (SSL_CTX_up_ref), so
	 * the caller may free its own. NULL: smtpc makes one (TLS 1.2+, no
	 * verification) unless tls is NONE. */
	struct ssl_ctx_st *ssl;
	double timeout_scale;       /* multiplies every RFC timeout; <= 0 means 1.0 */
	unsigned max_per_host;      /* connections per destination address:port; 0 = 5 */
	unsigned max_total;         /* connections in all; 0 = 100 */
	unsigned idle_ms;           /* keep a finished connection this long for the next
	                               job to the same address:port; 0 = 3000 (unscaled) */
	unsigned max_msgs_per_conn; /* then QUIT; 0 = 100 */
};

/* RFC 5321 §4.5.3.2 timeouts in seconds, before scaling. */
#define SMTPC_T_GREETING 300 /* connect + 220 greeting */
#define SMTPC_T_COMMAND  300 /* EHLO, HELO, STARTTLS + handshake, RSET, MAIL, RCPT */
#define SMTPC_T_DATA     120 /* the 354 to DATA */
#define SMTPC_T_BLOCK    180 /* each block of message data written */
#define SMTPC_T_DOT      600 /* the reply to the final "." */
#define SMTPC_T_QUIT     10  /* the 221 to QUIT (ours; not in the RFC) */

struct smtpc_target {
	const char *host;             /* MX or relay host name for logs and SNI; may be NULL */
	struct sockaddr_storage addr; /* an AF_INET or AF_INET6 address, port set */
	socklen_t addrlen;
};

/* Fill *t from an IP literal and a port (1..65535); t->host = host. -1 when
 * `ip` is not an IPv4/IPv6 literal or the port is out of range. */
int smtpc_target_set(struct smtpc_target *t, const char *host, const char *ip, unsigned port);

struct smtpc_job {
	const struct smtpc_target *targets; /* 1..SMTPC_TARGETS_MAX, tried in order */
	size_t ntargets;
	const char *mail_from;   /* "" for the null sender <> */
	const char *const *rcpt; /* 1..SMTPC_RCPT_MAX addresses */
	size_t nrcpt;
	const char *data; /* the message, CRLF lines (a bare LF becomes
	                     CRLF); dot-stuffing and the final
	                     ".\r\n" are smtpc's */
	size_t len;
};

enum smtpc_outcome {
	SMTPC_DELIVERED, /* 2xx to the final dot */
	SMTPC_DEFERRED,  /* try again later */
	SMTPC_BOUNCED,   /* permanent: do not try again */
};

struct smtpc_rcpt_result {
	enum smtpc_outcome outcome;
	int code;                      /* the server's reply code, or the local 4xx/5xx */
	char status[16];               /* enhanced status "5.1.1", parsed or derived */
	bool local;                    /* made by smtpc (no server reply), e.g. a refused connect */
	char text[SMTPC_TEXT_MAX];     /* the reply text after the code, one line
	                                  ("5.1.1 user unknown"), or the local reason
	                                  ("4.4.1 connection refused by 127.0.0.1:2525") */
	char remote[SMTPC_REMOTE_MAX]; /* address:port that answered; "" if none */
	char host[SMTPC_HOST_MAX + 1]; /* the target's host name; "" if none */
};

struct smtpc_result {
	size_t nrcpt;                        /* = job nrcpt */
	const char *const *rcpt;             /* the job's recipients, in order */
	const struct smtpc_rcpt_result *res; /* one per recipient, same order */
	bool tls;                            /* the transaction that answered ran over TLS */
	unsigned attempts;                   /* connections tried for this job */
};

/* Called once per accepted job. `r` and everything it points to are valid
 * only during the call. The callback may call smtpc_send and smtpc_free. */
typedef void (*smtpc_done_fn)(void *arg, const struct smtpc_result *r);

/* A client on `base`. NULL with e filled for a bad conf (TLS setup failure). */
struct smtpc *smtpc_new(struct event_base *base, const struct smtpc_conf *conf, struct err *e);

/*
 * Start a job: everything in *job is copied. Returns 0 (done will be
 * called exactly once, later, from the loop) or -1 with e filled and no
 * callback: no targets or too many, no recipients or too many, an address
 * with CR, LF, '<', '>', a control byte, or over SMTPC_ADDR_MAX, a message
 * over SMTPC_MESSAGE_MAX, or the client shutting down.
 */
int smtpc_send(struct smtpc *c, const struct smtpc_job *job, smtpc_done_fn done, void *arg,
               struct err *e);

/*
 * Close every connection and complete every outstanding job: recipients
 * without a final answer get DEFERRED "4.3.2 shutting down", those with one
 * (e.g. a 550 to RCPT) keep it. Callbacks run inside smtpc_free; new
 * smtpc_send calls made from them are refused. NULL is a no-op. Safe from
 * the loop thread, including from a done callback.
 */
void smtpc_free(struct smtpc *c);

struct smtpc_stats {
	unsigned conns;       /* connections open now (any state) */
	unsigned idle;        /* of which idle, kept for reuse */
	unsigned waiting;     /* jobs waiting for a connection */
	unsigned running;     /* jobs on a connection */
	unsigned long opened; /* connections opened since smtpc_new */
	unsigned long reused; /* transactions that reused an idle connection */
};
void smtpc_get_stats(const struct smtpc *c, struct smtpc_stats *out);

const char *smtpc_outcome_str(enum smtpc_outcome o);

#endif
