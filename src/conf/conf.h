/*
 * conf.h — the process configuration (src/conf/: its own layer, below every
 * module that reads it and above only core/ and util/): one declarative
 * table (conf.c) of
 * option name, default and field, filled once from the command line and an
 * optional --config file, read-only afterwards. With the logger it is the
 * only process-wide state (STYLE.md §5).
 */
#ifndef SESAME_CONF_CONF_H
#define SESAME_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/cidr.h"
#include "util/suggest.h"

#define CONF_MAX_REGIONS 16

struct conf {
	char data[512];        /* --data: data directory */
	char db[512];          /* --db: store URL ("" = sqlite in data dir) */
	char config[512];      /* --config FILE */
	char http[128];        /* --http ADDR */
	char smtp[128];        /* --smtp ADDR (STARTTLS) */
	char smtps[128];       /* --smtps ADDR (implicit TLS) */
	char feedback[128];    /* --feedback ADDR: inbound DSN/ARF reports ("" = off) */
	char regions[256];     /* --regions LIST, comma-separated */
	char transport[256];   /* --transport capture|mx|relay://HOST:PORT */
	char dns[128];         /* --dns HOST:PORT resolver override */
	char public_url[256];  /* --public-url base of verification links */
	char tls_cert[512];    /* --tls-cert */
	char tls_key[512];     /* --tls-key */
	char log_level[16];    /* --log-level debug|info|warn|error */
	char log_format[8];    /* --log-format text|json */
	int threads;           /* --threads: HTTP event-loop threads */
	int header_timeout;    /* --header-timeout SECONDS: the whole of an HTTP
				  header section, or of an SMTP command line */
	/* outbound delivery */
	int mx_port;           /* --mx-port: port dialled on every MX host */
	char outbound_tls[16]; /* --outbound-tls none|opportunistic|required */
	char helo[256];        /* --helo NAME ("" = this host's name) */
	char bounce_domain[256]; /* --bounce-domain ("" = the --helo name) */
	int retry_base;        /* --retry-base SECONDS: first backoff */
	int max_queue_age;     /* --max-queue-age SECONDS: then a recipient bounces */
	int lease;             /* --lease SECONDS: a claim's lifetime */
	double outbound_timeout_scale; /* --outbound-timeout-scale: x RFC 5321 timeouts */
	double pause_bounce_rate;      /* --pause-bounce-rate (core/reputation.h) */
	double pause_complaint_rate;   /* --pause-complaint-rate */
	int reputation_min_volume;     /* --reputation-min-volume: recipients in 24 h */
	char master_key[512];  /* --master-key FILE, else $SESAME_MASTER_KEY_FILE;
				  "" = DATA/master.key (vault.h) */
	char admin_allow[512]; /* --admin-allow CIDR[,CIDR]: who may use /_sesame/ */
	char metrics_allow[512]; /* --metrics-allow CIDR[,CIDR]: who may read /metrics
				    and /healthz ("" = --admin-allow) */
	char node_name[340];   /* --node-name: this node's name on its leases
				  ("" = HOST/HTTP-ADDR); unique among the nodes
				  sharing a store */

	/* derived */
	int nregions;
	char region[CONF_MAX_REGIONS][32];
	size_t nadmin_allow;
	struct cidr admin_allow_net[CIDR_LIST_MAX];
	size_t nmetrics_allow;
	struct cidr metrics_allow_net[CIDR_LIST_MAX];
};

/* The environment variable naming the master key file when --master-key
 * is absent (systemd: Environment=SESAME_MASTER_KEY_FILE=%d/master.key). */
#define CONF_MASTER_KEY_ENV "SESAME_MASTER_KEY_FILE"

/* true when a client at address `ip` (as the peer reports it; IPv4-mapped
 * IPv6 counts as IPv4) may use the operator endpoints: inside
 * --admin-allow. The one rule for /_sesame/. */
bool conf_admin_allows(const struct conf *c, const char *ip);

/* true when `ip` may read /metrics and /healthz: inside --metrics-allow,
 * which defaults to the --admin-allow list. */
bool conf_metrics_allows(const struct conf *c, const char *ip);

/* true when a request whose Host header is `host` (NULL: none) may reach
 * the operator endpoints: an IP literal, localhost, or the host of --http
 * or --public-url — never another name, so a web page whose name an
 * attacker rebinds to 127.0.0.1 cannot read them (DNS rebinding). */
bool conf_admin_host_allows(const struct conf *c, const char *host);

/*
 * Fill `c` with defaults, then take every table option out of argv (as
 * `--name VALUE` or `--name=VALUE`, before or after the command), then
 * $SESAME_MASTER_KEY_FILE when --master-key was not given, then the
 * --config file for options still unset. argv is compacted in place;
 * returns the new argc, or -1 with a message in err (a bad --regions or
 * --admin-allow list too).
 */
int conf_parse_args(struct conf *c, int argc, char **argv, char *err, size_t errlen);

/* `sesame serve --help` on f: a usage line, then every option of the table
 * with its value's name, one line of help and its default; the global
 * options first. */
void conf_usage(FILE *f);

/* `sesame serve --print-defaults` on f: the sample configuration file
 * (contrib/sesame.conf), every option but config commented out at its
 * default under a comment with its help. */
void conf_sample(FILE *f);

/*
 * `sesame serve --print-config` on f: every option but config as
 * `name = value`, one a line, in table order, after the command line, the
 * environment and the file have been applied and the derived defaults
 * (--helo, --bounce-domain, --node-name) filled: read back as a --config
 * file it gives the same configuration. A value holding a newline, or
 * beginning or ending in blanks, would not read back (the file format has no
 * quoting); nothing refuses one today. Returns 0, or -1 when f failed.
 */
int conf_print(const struct conf *c, FILE *f);

/* Offer every option name to `s` (a mistyped --flag's nearest option). */
void conf_suggest(struct suggest *s);

/* 1 if `region` is one of the served regions. */
int conf_serves_region(const struct conf *c, const char *region);

/* The base of every link sesame hands out (verification links, SNS's
 * SubscribeURL, UnsubscribeURL and SigningCertURL): --public-url without
 * trailing slashes, else http://<--http>. Truncated to cap. */
void conf_public_base(const struct conf *c, char *out, size_t cap);

#endif
