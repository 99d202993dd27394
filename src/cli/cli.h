/*
 * cli.h — admin commands (`sesame account|user|key|identity|policy …`).
 * They work on the store directly, print one JSON object on stdout and exit
 * non-zero with a one-line error on stderr for bad input, writing nothing.
 */
#ifndef SESAME_CLI_CLI_H
#define SESAME_CLI_CLI_H

#include <stdio.h>

struct conf;

/*
 * argv[0] is the command ("account", …, "policy", "help"). Returns the exit
 * status. `help [COMMAND [VERB]]` and --help or -h after a command print
 * its synopsis on stdout and return 0; an unknown command, verb or flag is
 * a usage error naming the nearest known one.
 */
int cli_main(const struct conf *c, int argc, char **argv);

/* The list of every command (`sesame help`), generated from the tables
 * that parse them. */
void cli_usage(FILE *f);

#endif
