/*
 * cli_policy.h — `sesame policy check|simulate`: validate a sending
 * authorization policy the way PutIdentityPolicy does, and evaluate
 * requests against a set of policies (one, or a batch from stdin).
 * Works on files only; it needs no store.
 */
#ifndef SESAME_CLI_CLI_POLICY_H
#define SESAME_CLI_CLI_POLICY_H

#include <stdio.h>

struct conf;

/*
 * argv[0] is "policy". Prints one JSON object per result on stdout and a
 * one-line error on stderr; returns the exit status (0 ok, 1 invalid
 * policy or unreadable input, 2 usage).
 *
 *   policy check FILE                  {"Valid": true} | {"Valid": false, "Error": {…}}
 *   policy simulate --policy FILE [--policy FILE …] --principal P
 *          --action A --resource ARN [--context KEY=VALUE …]
 *                                      {"EvalDecision": …, "MatchedStatements": […]}
 *   policy simulate --batch            one JSON request per stdin line, one
 *                                      decision (or {"Error": …}) per stdout line
 */
int cli_policy_main(const struct conf *c, int argc, char **argv);

/* The synopsis of both subcommands (`sesame help policy`). */
void cli_policy_usage(FILE *f);

#endif
