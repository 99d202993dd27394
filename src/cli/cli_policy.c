/*
 * cli_policy.c — `sesame policy check|simulate` (see cli_policy.h).
 *
 * Thin glue over core/policy: reads files (capped at POLICY_MAX_BYTES + 1 so
 * an oversized file reaches the engine's size error), builds a context and
 * prints jansson-encoded results. check compiles as an SES identity
 * (resource) policy; simulate compiles with POLICY_AUTO, so a policy with
 * a Principal is a resource policy and one without is a user's IAM policy,
 * and evaluates all given policies as one set (deny wins, then any allow).
 * The context is exactly what the caller gives: no clock is added.
 */
#include "cli/cli_policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define MAX_POLICIES 64                /* --policy flags / batch "policies" entries */
#define MAX_LINE (POLICY_MAX_BYTES * 4) /* one batch request line */

static const char usage_text[] =
    "usage: sesame policy check FILE\n"
    "       sesame policy simulate --policy FILE [--policy FILE ...] --principal ARN "
    "--action ACTION --resource ARN [--context KEY=VALUE ...]\n"
    "       sesame policy simulate --batch < requests.jsonl\n";

static int
usage(FILE *errf, const char *why)
{
	fprintf(errf, "sesame policy: %s\n", why);
	fputs(usage_text, errf);
	return 2;
}

/* Print `obj` as one line and release it. */
static void
emit(FILE *out, json_t *obj)
{
	char *s = json_dumps(obj, JSON_PRESERVE_ORDER);
	if (s != NULL) {
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(obj);
}

static json_t *
error_obj(const char *code, const char *message)
{
	return json_pack("{s:{s:s,s:s}}", "Error", "Code", code, "Message", message);
}

/*
 * Read a file ("-" = in) up to POLICY_MAX_BYTES + 1 bytes into *out (caller
 * frees). Returns 0, or -1 with a message on errf.
 */
static int
read_file(const char *path, FILE *in, FILE *errf, char **data_out, size_t *len_out)
{
	FILE *f = strcmp(path, "-") == 0 ? in : fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		fprintf(errf, "sesame policy: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf_init(&b, 0);
	while (b.len <= POLICY_MAX_BYTES && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	int bad = ferror(f);
	if (f != in)
		fclose(f);
	if (bad) {
		fprintf(errf, "sesame policy: cannot read %s\n", path);
		buf_free(&b);
		return -1;
	}
	if (b.len > POLICY_MAX_BYTES + 1)
		b.len = POLICY_MAX_BYTES + 1;
	*len_out = b.len;
	*data_out = b.data != NULL ? b.data : xstrdup("");
	return 0;
}

static int
cmd_check(int argc, char **argv, FILE *in, FILE *out, FILE *errf)
{
	struct policy *p = NULL;
	struct err e;
	char *doc;
	size_t len;

	if (argc != 3)
		return usage(errf, "check takes exactly one FILE");
	if (read_file(argv[2], in, errf, &doc, &len) != 0)
		return 1;
	int rc = policy_compile(doc, len, POLICY_RESOURCE, &p, &e);
	free(doc);
	if (rc == 0) {
		policy_free(p);
		emit(out, json_pack("{s:b}", "Valid", 1));
		return 0;
	}
	emit(out, json_pack("{s:b,s:{s:s,s:s}}", "Valid", 0, "Error", "Code", e.code, "Message",
	    e.message));
	fprintf(errf, "%s\n", e.message);
	return 1;
}

static json_t *
decision_obj(const struct policy_result *r)
{
	json_t *m = json_array();
	for (size_t i = 0; i < r->nmatched; i++)
		json_array_append_new(m, json_string(r->matched[i].sid));
	return json_pack("{s:s,s:o}", "EvalDecision", policy_decision_name(r->decision),
	    "MatchedStatements", m);
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Parse one batch line and print its decision or error. */
static void
batch_case(const char *line, size_t len, FILE *out)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	struct policy *pol[MAX_POLICIES] = {0};
	size_t npol = 0;
	struct policy_ctx *ctx = NULL;
	char msg[512];

	if (req == NULL || !json_is_object(req)) {
		snprintf(msg, sizeof(msg), "Request line is not a JSON object%s%s.",
		    req == NULL ? ": " : "", req == NULL ? jerr.text : "");
		emit(out, error_obj("InvalidInput", msg));
		goto done;
	}
	static const char *const fields[] = {"principal", "action", "resource"};
	const char *fv[3];
	for (int i = 0; i < 3; i++) {
		fv[i] = json_string_value(json_object_get(req, fields[i]));
		if (fv[i] == NULL) {
			snprintf(msg, sizeof(msg), "Field '%s' must be a string.", fields[i]);
			emit(out, error_obj("InvalidInput", msg));
			goto done;
		}
	}
	json_t *pols = json_object_get(req, "policies");
	if (!json_is_array(pols) || json_array_size(pols) > MAX_POLICIES) {
		snprintf(msg, sizeof(msg), "Field 'policies' must be a list of at most %d policies.",
		    MAX_POLICIES);
		emit(out, error_obj("InvalidInput", msg));
		goto done;
	}
	size_t i;
	json_t *pv;
	json_array_foreach(pols, i, pv) {
		struct err e;
		char *text;
		size_t tlen;
		if (json_is_string(pv)) {
			text = xstrndup(json_string_value(pv), json_string_length(pv));
			tlen = json_string_length(pv);
		} else if (json_is_object(pv)) {
			text = json_dumps(pv, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text == NULL) {
				emit(out, error_obj("InvalidInput", "Policy could not be encoded."));
				goto done;
			}
			tlen = strlen(text);
		} else {
			emit(out, error_obj("InvalidInput",
			    "Each entry of 'policies' must be a policy object or a JSON string."));
			goto done;
		}
		int rc = policy_compile(text, tlen, POLICY_AUTO, &pol[npol], &e);
		free(text);
		if (rc != 0) {
			emit(out, error_obj(e.code, e.message));
			goto done;
		}
		npol++;
	}
	ctx = policy_ctx_new();
	json_t *jc = json_object_get(req, "context");
	if (jc != NULL && !json_is_object(jc)) {
		emit(out, error_obj("InvalidInput", "Field 'context' must be an object."));
		goto done;
	}
	const char *key;
	json_t *vals;
	json_object_foreach(jc, key, vals) {
		size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
		for (size_t k = 0; k < n; k++) {
			json_t *v = json_is_array(vals) ? json_array_get(vals, k) : vals;
			const char *s = json_string_value(v);
			if (s == NULL || policy_ctx_add(ctx, key, s) != 0) {
				snprintf(msg, sizeof(msg),
				    "Context key '%.128s' must map to a string or a list of strings "
				    "within the context limits.", key);
				emit(out, error_obj("InvalidInput", msg));
				goto done;
			}
		}
	}
	struct policy_request r = {fv[0], fv[1], fv[2], ctx};
	struct policy_result res;
	policy_evaluate((const struct policy *const *)pol, npol, &r, &res);
	emit(out, decision_obj(&res));
done:
	for (size_t k = 0; k < npol; k++)
		policy_free(pol[k]);
	policy_ctx_free(ctx);
	json_decref(req);
}

/* Run the batch over `in`. Lines longer than MAX_LINE get InvalidInput;
 * lines of only whitespace are skipped. */
static int
cmd_batch(FILE *in, FILE *out)
{
	struct buf line;
	char chunk[4096];
	bool too_long = false;

	buf_init(&line, MAX_LINE);
	for (;;) {
		char *got = fgets(chunk, sizeof(chunk), in);
		size_t n = got != NULL ? strlen(chunk) : 0;
		bool eol = n > 0 && chunk[n - 1] == '\n';
		if (got != NULL && !too_long && buf_append(&line, chunk, eol ? n - 1 : n) != 0)
			too_long = true;
		if (got != NULL && !eol)
			continue;
		/* end of a line (or of input) */
		if (too_long) {
			char msg[128];
			snprintf(msg, sizeof(msg), "Request line is longer than %d bytes.", MAX_LINE);
			emit(out, error_obj("InvalidInput", msg));
		} else if (line.len > 0 && strspn(line.data, " \t\r") != line.len) {
			batch_case(line.data, line.len, out);
		}
		fflush(out);
		buf_reset(&line);
		too_long = false;
		if (got == NULL)
			break;
	}
	buf_free(&line);
	return ferror(in) ? 1 : 0;
}

static int
cmd_simulate(int argc, char **argv, FILE *in, FILE *out, FILE *errf)
{
	const char *files[MAX_POLICIES];
	size_t nfiles = 0;
	const char *principal = NULL, *action = NULL, *resource = NULL, *v;
	bool batch = false;
	size_t ncontext = 0;
	struct policy *pol[MAX_POLICIES] = {0};
	size_t npol = 0;
	struct policy_ctx *ctx = policy_ctx_new();
	int rc = 2;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--batch") == 0) {
			batch = true;
		} else if ((v = opt_value(argc, argv, &i, "--policy")) != NULL) {
			if (nfiles == MAX_POLICIES) {
				rc = usage(errf, "too many --policy files");
				goto done;
			}
			files[nfiles++] = v;
		} else if ((v = opt_value(argc, argv, &i, "--principal")) != NULL) {
			principal = v;
		} else if ((v = opt_value(argc, argv, &i, "--action")) != NULL) {
			action = v;
		} else if ((v = opt_value(argc, argv, &i, "--resource")) != NULL) {
			resource = v;
		} else if ((v = opt_value(argc, argv, &i, "--context")) != NULL) {
			const char *eq = strchr(v, '=');
			char key[POLICY_CTX_MAX_KEY + 1];
			if (eq == NULL || eq == v || (size_t)(eq - v) > POLICY_CTX_MAX_KEY) {
				rc = usage(errf, "--context takes KEY=VALUE");
				goto done;
			}
			memcpy(key, v, (size_t)(eq - v));
			key[eq - v] = '\0';
			if (policy_ctx_add(ctx, key, eq + 1) != 0) {
				fprintf(errf, "sesame policy: --context %s exceeds the context limits\n", key);
				rc = 1;
				goto done;
			}
			ncontext++;
		} else {
			char why[256];
			snprintf(why, sizeof(why), "unknown or incomplete option '%.200s'", argv[i]);
			rc = usage(errf, why);
			goto done;
		}
	}
	if (batch) {
		if (nfiles || principal || action || resource || ncontext != 0) {
			rc = usage(errf, "--batch takes its requests from stdin, not from options");
			goto done;
		}
		rc = cmd_batch(in, out);
		goto done;
	}
	if (nfiles == 0 || principal == NULL || action == NULL || resource == NULL) {
		rc = usage(errf, "simulate needs --policy, --principal, --action and --resource");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		char *doc;
		size_t len;
		struct err e;
		if (read_file(files[i], in, errf, &doc, &len) != 0) {
			rc = 1;
			goto done;
		}
		int c = policy_compile(doc, len, POLICY_AUTO, &pol[npol], &e);
		free(doc);
		if (c != 0) {
			fprintf(errf, "sesame policy: %s: %s\n", files[i], e.message);
			rc = 1;
			goto done;
		}
		npol++;
	}
	struct policy_request r = {principal, action, resource, ctx};
	struct policy_result res;
	policy_evaluate((const struct policy *const *)pol, npol, &r, &res);
	emit(out, decision_obj(&res));
	rc = 0;
done:
	for (size_t i = 0; i < npol; i++)
		policy_free(pol[i]);
	policy_ctx_free(ctx);
	return rc;
}

/* cli_policy_main with explicit streams, for tests. */
TESTABLE int
cli_policy_run(int argc, char **argv, FILE *in, FILE *out, FILE *errf)
{
	if (argc < 2)
		return usage(errf, "missing subcommand");
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv, in, out, errf);
	if (strcmp(argv[1], "simulate") == 0)
		return cmd_simulate(argc, argv, in, out, errf);
	char why[128];
	snprintf(why, sizeof(why), "unknown subcommand '%.64s'", argv[1]);
	return usage(errf, why);
}

void
cli_policy_usage(FILE *f)
{
	fputs(usage_text, f);
}

int
cli_policy_main(const struct conf *c, int argc, char **argv)
{
	(void)c;
	return cli_policy_run(argc, argv, stdin, stdout, stderr);
}
