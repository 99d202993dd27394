/*
 * conf.c — the configuration table and its parser. Adding an option is one
 * row in `table`; the command line beats the --config file, which beats the
 * default (--master-key alone has $SESAME_MASTER_KEY_FILE between the
 * command line and the file). The file format is `name = value` per line,
 * `#` comments. Lists (--regions, --admin-allow) are parsed here, once.
 */
#include "conf/conf.h"

#include <errno.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_STR, K_INT, K_DBL };

struct row {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;
	const char *def;
	long min, max;
	const char *meta; /* the value's name in `sesame serve --help` */
	const char *help; /* one line there; with a "" default it ends in
			     "(default: …)" saying what unset means */
	bool global;      /* taken by every command, not by serve alone */
	bool listener;    /* an address where "off" (stored as "") opens nothing */
};

#define S(name, field, def, meta, help)                                                          \
	{name, K_STR, offsetof(struct conf, field), sizeof(((struct conf *)0)->field), def, 0, 0,  \
	 meta, help, false, false}
#define G(name, field, def, meta, help)                                                          \
	{name, K_STR, offsetof(struct conf, field), sizeof(((struct conf *)0)->field), def, 0, 0,  \
	 meta, help, true, false}
#define L(name, field, def, help)                                                                \
	{name, K_STR, offsetof(struct conf, field), sizeof(((struct conf *)0)->field), def, 0, 0,  \
	 "ADDR", help, false, true}
#define I(name, field, def, lo, hi, meta, help)                                                  \
	{name, K_INT, offsetof(struct conf, field), sizeof(int), def, lo, hi, meta, help, false, false}
/* doubles: bounds in thousandths */
#define D(name, field, def, lo, hi, help)                                                        \
	{name, K_DBL, offsetof(struct conf, field), sizeof(double), def, lo, hi, "R", help, false, \
	 false}

static const struct row table[] = {
	G("data", data, "./var", "DIR", "data directory: the SQLite store, master.key, serve.lock"),
	G("db", db, "", "URL",
	  "sqlite:PATH or postgresql://USER:PASS@HOST:PORT/DB (default: sqlite in --data)"),
	G("config", config, "", "FILE",
	  "'name = value' lines for any option; the command line wins (default: none)"),
	S("http", http, "127.0.0.1:8787", "ADDR", "SES Query API, SNS, /metrics, /healthz and the /_sesame/ pages"),
	L("smtp", smtp, "127.0.0.1:2587", "SMTP submission with STARTTLS ('off': none)"),
	L("smtps", smtps, "127.0.0.1:2465", "SMTP submission with implicit TLS ('off': none)"),
	L("feedback", feedback, "127.0.0.1:2525", "inbound SMTP for DSN and ARF reports ('off': none)"),
	S("regions", regions, "us-east-1,us-west-2,eu-west-1", "LIST", "regions served, comma-separated"),
	S("transport", transport, "capture", "T", "capture, mx or relay://HOST:PORT"),
	S("dns", dns, "", "HOST:PORT", "DNS server for verification and MX (default: the system's)"),
	S("public-url", public_url, "", "URL", "base of links handed out (default: http://<--http>)"),
	S("tls-cert", tls_cert, "", "FILE", "SMTP TLS certificate (default: self-signed in --data)"),
	S("tls-key", tls_key, "", "FILE", "its private key (default: with the self-signed certificate)"),
	S("log-level", log_level, "info", "L", "debug, info, warn or error"),
	S("log-format", log_format, "text", "F", "text or json (one object a line)"),
	I("threads", threads, "2", 1, 64, "N", "HTTP event-loop threads"),
	I("header-timeout", header_timeout, "20", 1, 3600, "S",
	  "seconds for an HTTP header section or an SMTP command line"),
	/* outbound delivery (DESIGN.md "Interfaces users rely on") */
	I("mx-port", mx_port, "25", 1, 65535, "N", "port dialled on every MX host"),
	S("outbound-tls", outbound_tls, "opportunistic", "M", "none, opportunistic or required"),
	S("helo", helo, "", "NAME", "EHLO name (default: this host's name)"),
	S("bounce-domain", bounce_domain, "", "D",
	  "envelope-sender domain without a custom MAIL FROM (default: the --helo name)"),
	I("retry-base", retry_base, "60", 1, 86400, "S", "first retry delay; doubles per attempt"),
	I("max-queue-age", max_queue_age, "43200", 1, 1209600, "S",
	  "a recipient still deferred then bounces"),
	I("lease", lease, "300", 1, 86400, "S", "how long a node's claim on a recipient lasts"),
	D("outbound-timeout-scale", outbound_timeout_scale, "1", 1, 100000,
	  "multiplies RFC 5321's SMTP client timeouts"),
	D("pause-bounce-rate", pause_bounce_rate, "0.10", 0, 1000, "bounce rate that pauses an account"),
	D("pause-complaint-rate", pause_complaint_rate, "0.005", 0, 1000,
	  "complaint rate that pauses an account"),
	I("reputation-min-volume", reputation_min_volume, "100", 1, 2000000000, "N",
	  "recipients in 24 h before the rates can pause"),
	G("master-key", master_key, "", "FILE",
	  "the key sealing secrets (default: $" CONF_MASTER_KEY_ENV ", else <data>/master.key)"),
	S("admin-allow", admin_allow, "127.0.0.1/32,::1/128", "CIDRS",
	  "clients allowed on /_sesame/, comma-separated ('': nobody)"),
	S("metrics-allow", metrics_allow, "", "CIDRS",
	  "clients allowed on /metrics and /healthz (default: the --admin-allow list)"),
	S("node-name", node_name, "", "NAME",
	  "this node's name on its claims, unique per store (default: <helo>/<http>)"),
};
#define NROWS (sizeof(table) / sizeof(table[0]))

static const struct row *
find(const char *name, size_t len)
{
	for (size_t i = 0; i < NROWS; i++)
		if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
			return &table[i];
	return NULL;
}

static int
set(struct conf *c, const struct row *r, const char *v, char *err, size_t errlen)
{
	char *p = (char *)c + r->off;

	if (r->kind == K_STR) {
		if (strlen(v) >= r->size) {
			snprintf(err, errlen, "--%s: value too long", r->name);
			return -1;
		}
		memcpy(p, v, strlen(v) + 1);
		return 0;
	}
	char *end;
	errno = 0;
	if (r->kind == K_DBL) {
		double d = strtod(v, &end);
		if (errno || end == v || *end || !(d * 1000 >= (double)r->min) ||
		    !(d * 1000 <= (double)r->max)) {
			snprintf(err, errlen, "--%s: expected a number in [%g, %g], got '%s'",
				 r->name, (double)r->min / 1000, (double)r->max / 1000, v);
			return -1;
		}
		*(double *)p = d;
		return 0;
	}
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < r->min || n > r->max) {
		snprintf(err, errlen, "--%s: expected an integer in [%ld, %ld], got '%s'", r->name,
			 r->min, r->max, v);
		return -1;
	}
	*(int *)p = (int)n;
	return 0;
}

static int
load_file(struct conf *c, const unsigned char *seen, char *err, size_t errlen)
{
	FILE *f = fopen(c->config, "r");
	char line[1024];
	int lineno = 0;

	if (f == NULL) {
		snprintf(err, errlen, "--config %s: %s", c->config, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *k = line, *eq, *v, *end;
		lineno++;
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || *k == '\n' || *k == '\0')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL)
			goto bad;
		end = eq;
		while (end > k && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\r\n")] = '\0';
		for (size_t n = strlen(v); n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
			v[n - 1] = '\0';
		const struct row *r = find(k, (size_t)(end - k));
		if (r == NULL || strcmp(r->name, "config") == 0)
			goto bad;
		if (seen[r - table])
			continue; /* the command line wins */
		if (set(c, r, v, err, errlen) != 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
bad:
	snprintf(err, errlen, "%s:%d: expected 'option = value' with a known option", c->config,
		 lineno);
	fclose(f);
	return -1;
}

static int
split_regions(struct conf *c, char *err, size_t errlen)
{
	const char *p = c->regions;

	c->nregions = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		while (n > 0 && *p == ' ')
			p++, n--;
		if (n == 0 || n >= sizeof(c->region[0]) || c->nregions == CONF_MAX_REGIONS) {
			snprintf(err, errlen, "--regions: bad list '%s'", c->regions);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
				snprintf(err, errlen, "--regions: bad region name in '%s'", c->regions);
				return -1;
			}
		}
		memcpy(c->region[c->nregions], p, n);
		c->region[c->nregions][n] = '\0';
		c->nregions++;
		p += n;
		if (*p == ',')
			p++;
	}
	if (c->nregions == 0) {
		snprintf(err, errlen, "--regions: at least one region is needed");
		return -1;
	}
	return 0;
}

int
conf_parse_args(struct conf *c, int argc, char **argv, char *err, size_t errlen)
{
	unsigned char seen[NROWS] = {0};
	int out = 1;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NROWS; i++)
		if (set(c, &table[i], table[i].def, err, errlen) != 0)
			return -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct row *r = NULL;
		const char *v = NULL;

		if (strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a + 2, '=');
			r = find(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (r != NULL && eq != NULL)
				v = eq + 1;
		}
		if (r == NULL) {
			argv[out++] = argv[i];
			continue;
		}
		if (v == NULL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--%s needs a value", r->name);
				return -1;
			}
			v = argv[++i];
		}
		if (set(c, r, v, err, errlen) != 0)
			return -1;
		seen[r - table] = 1;
	}
	argv[out] = NULL;
	/* the environment beats the file: a systemd unit names its credential
	 * there while the file is shared by every node */
	const struct row *mk = find("master-key", strlen("master-key"));
	const char *env = getenv(CONF_MASTER_KEY_ENV);
	if (!seen[mk - table] && env != NULL && env[0] != '\0') {
		if (set(c, mk, env, err, errlen) != 0)
			return -1;
		seen[mk - table] = 1;
	}
	if (c->config[0] && load_file(c, seen, err, errlen) != 0)
		return -1;
	if (split_regions(c, err, errlen) != 0)
		return -1;
	struct err e;
	if (cidr_list_parse(c->admin_allow, c->admin_allow_net, CIDR_LIST_MAX, &c->nadmin_allow,
			    &e) != 0) {
		snprintf(err, errlen, "--admin-allow: %s", e.message);
		return -1;
	}
	/* --metrics-allow: "" = the --admin-allow list */
	if (cidr_list_parse(c->metrics_allow[0] ? c->metrics_allow : c->admin_allow,
			    c->metrics_allow_net, CIDR_LIST_MAX, &c->nmetrics_allow, &e) != 0) {
		snprintf(err, errlen, "--metrics-allow: %s", e.message);
		return -1;
	}
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "json") != 0) {
		snprintf(err, errlen, "--log-format must be text or json");
		return -1;
	}
	if (strcmp(c->outbound_tls, "none") != 0 && strcmp(c->outbound_tls, "opportunistic") != 0 &&
	    strcmp(c->outbound_tls, "required") != 0) {
		snprintf(err, errlen, "--outbound-tls must be none, opportunistic or required");
		return -1;
	}
	if (c->helo[0] == '\0' && (gethostname(c->helo, sizeof(c->helo) - 1) != 0 ||
				   c->helo[0] == '\0'))
		snprintf(c->helo, sizeof(c->helo), "localhost");
	/* a node's lease name: stable across its restarts (so it takes back its
	 * own claims at once), distinct between nodes sharing a store */
	if (c->node_name[0] == '\0')
		snprintf(c->node_name, sizeof(c->node_name), "%.200s/%s", c->helo, c->http);
	if (c->bounce_domain[0] == '\0')
		snprintf(c->bounce_domain, sizeof(c->bounce_domain), "%s", c->helo);
	/* a listener given as "off" is not opened */
	for (size_t i = 0; i < NROWS; i++) {
		char *p = (char *)c + table[i].off;
		if (table[i].listener && strcmp(p, "off") == 0)
			p[0] = '\0';
	}
	return out;
}

void
conf_usage(FILE *f)
{
	fputs("usage: sesame serve [--print-config] [--OPTION VALUE ...]\n"
	      "run the SES API and SMTP servers. An option is given as --name VALUE or\n"
	      "--name=VALUE, or as a 'name = value' line of the --config file.\n"
	      "  --help                     this text\n"
	      "  --print-config             print the effective configuration as a --config\n"
	      "                             file, and exit\n"
	      "  --print-defaults           print every option commented out at its default,\n"
	      "                             with its help (contrib/sesame.conf), and exit\n",
	      f);
	for (int global = 1; global >= 0; global--) {
		fputs(global ? "global options (every command takes them):\n" : "serve options:\n", f);
		for (size_t i = 0; i < NROWS; i++) {
			const struct row *r = &table[i];
			char flag[64];
			if (r->global != global)
				continue;
			snprintf(flag, sizeof(flag), "--%s %s", r->name, r->meta);
			fprintf(f, "  %-26s %s", flag, r->help);
			if (r->def[0] != '\0')
				fprintf(f, " (default: %s)", r->def);
			fputc('\n', f);
		}
	}
}

void
conf_sample(FILE *f)
{
	fputs("# sesame.conf: every option of `sesame serve`, commented out at its default\n"
	      "# (`sesame serve --print-defaults` writes this file). An option given on the\n"
	      "# command line beats this file; `sesame serve --print-config` shows what is\n"
	      "# in effect. Format: `name = value` a line, `#` comments.\n",
	      f);
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &table[i];
		if (strcmp(r->name, "config") == 0)
			continue;
		fprintf(f, "\n# --%s %s: %s\n#%s =%s%s\n", r->name, r->meta, r->help, r->name,
			r->def[0] ? " " : "", r->def);
	}
}

int
conf_print(const struct conf *c, FILE *f)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &table[i];
		const char *p = (const char *)c + r->off;
		if (strcmp(r->name, "config") == 0)
			continue; /* a file cannot name another */
		char v[32];
		const char *val = p;
		if (r->kind == K_INT) {
			snprintf(v, sizeof(v), "%d", *(const int *)p);
			val = v;
		} else if (r->kind == K_DBL) {
			/* the shortest form that reads back as the same double */
			double d = *(const double *)p;
			snprintf(v, sizeof(v), "%g", d);
			if (strtod(v, NULL) != d)
				snprintf(v, sizeof(v), "%.17g", d);
			val = v;
		} else if (r->listener && p[0] == '\0') {
			val = "off";
		}
		fprintf(f, "%s =%s%s\n", r->name, val[0] ? " " : "", val);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

void
conf_suggest(struct suggest *s)
{
	for (size_t i = 0; i < NROWS; i++)
		suggest_offer(s, table[i].name);
}

bool
conf_admin_allows(const struct conf *c, const char *ip)
{
	return cidr_list_allows(c->admin_allow_net, c->nadmin_allow, ip);
}

bool
conf_metrics_allows(const struct conf *c, const char *ip)
{
	return cidr_list_allows(c->metrics_allow_net, c->nmetrics_allow, ip);
}

/* The host part of "host:port", "[v6]:port", "host" or a URL's authority:
 * into out (lowercase); false when it does not fit. */
static bool
host_part(const char *s, size_t n, char *out, size_t cap)
{
	const char *end;

	if (n > 0 && s[0] == '[') {
		if ((end = memchr(s, ']', n)) == NULL)
			return false;
		s++;
		n = (size_t)(end - s);
	} else if ((end = memchr(s, ':', n)) != NULL) {
		n = (size_t)(end - s);
	}
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	out[n] = '\0';
	return true;
}

bool
conf_admin_host_allows(const struct conf *c, const char *host)
{
	char h[256], other[256];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	if (host == NULL)
		return true; /* HTTP/1.0 without Host: no browser sends that */
	if (!host_part(host, strlen(host), h, sizeof(h)))
		return false;
	n = strlen(h);
	if (n > 0 && h[n - 1] == '.')
		h[--n] = '\0';
	if (inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1)
		return true;
	if (strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0))
		return true;
	if (host_part(c->http, strlen(c->http), other, sizeof(other)) && strcmp(h, other) == 0)
		return true;
	const char *u = strstr(c->public_url, "://");
	if (u != NULL) {
		u += 3;
		size_t an = strcspn(u, "/?#");
		const char *at = memchr(u, '@', an);
		if (at != NULL) {
			an -= (size_t)(at + 1 - u);
			u = at + 1;
		}
		if (host_part(u, an, other, sizeof(other)) && strcmp(h, other) == 0)
			return true;
	}
	return false;
}

void
conf_public_base(const struct conf *c, char *out, size_t cap)
{
	size_t n = strlen(c->public_url);

	while (n > 0 && c->public_url[n - 1] == '/')
		n--;
	if (n > 0)
		snprintf(out, cap, "%.*s", (int)n, c->public_url);
	else
		snprintf(out, cap, "http://%s", c->http);
}

int
conf_serves_region(const struct conf *c, const char *region)
{
	for (int i = 0; i < c->nregions; i++)
		if (strcmp(c->region[i], region) == 0)
			return 1;
	return 0;
}
