/*
 * cli.h — admin commands (`sesame account|user|key|identity|policy …`).
 * They work on the store directly, print one JSON object on stdout and exit
 * non-zero with a one-line error on stderr for bad input, writing nothing.
 */
#ifndef SESAME_CLI_CLI_H
#define SESAME_CLI_CLI_H

struct conf;

/* argv[0] is the command ("account", …). Returns the exit status. */
int cli_main(const struct conf *c, int argc, char **argv);

#endif
