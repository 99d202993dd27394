/*
 * main.c — `sesame <command>`: `serve` runs the daemon, everything else is an
 * admin command working on the store directly (src/cli/). Global options
 * (--data, --db, --config) may stand before or after the command.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "serve.h"

static void
usage(FILE *f)
{
	fputs("usage: sesame [--data DIR] [--db URL] [--config FILE] COMMAND ...\n"
	      "commands:\n"
	      "  serve            run the SES API and SMTP servers\n"
	      "  account create|list|delete|show|resume\n"
	      "  user create|list|delete\n"
	      "  key create|list|delete\n"
	      "  identity verify|show|dkim-records|list\n"
	      "  message show\n"
	      "  suppression list|add|remove\n"
	      "  policy check|simulate\n"
	      "see README.md for every flag\n",
	      f);
}

int
main(int argc, char **argv)
{
	struct conf conf;
	char err[256];
	int nargs;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* Pull the process-wide options out of argv wherever they stand. */
	nargs = conf_parse_args(&conf, argc, argv, err, sizeof(err));
	if (nargs < 0) {
		fprintf(stderr, "sesame: %s\n", err);
		return 2;
	}
	if (nargs < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0) {
		if (nargs > 2) {
			fprintf(stderr, "sesame: serve: unknown argument '%s'\n", argv[2]);
			return 2;
		}
		return serve_main(&conf);
	}
	return cli_main(&conf, nargs - 1, argv + 1);
}
