/*
 * main.c — `sesame <command>`: `serve` runs the daemon, `version` names the
 * build and its libraries, everything else is an admin command working on
 * the store directly, or help (src/cli/). Global options (--data, --db,
 * --config) may stand before or after the command.
 */
#include <event2/event.h>
#include <gmime/gmime.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "serve.h"

#ifndef SESAME_VERSION
#error "SESAME_VERSION comes from project(VERSION) in CMakeLists.txt"
#endif

/* The versions linked at run time, which may differ from the headers'. */
static int
version(void)
{
	int pq = PQlibVersion();

	printf("sesame %s\n", SESAME_VERSION);
	printf("libevent %s\n", event_get_version());
	printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	printf("sqlite %s\n", sqlite3_libversion());
	printf("libpq %d.%d\n", pq / 10000, pq % 10000);
	printf("jansson %s\n", jansson_version_str());
	printf("gmime %u.%u.%u\n", gmime_major_version, gmime_minor_version, gmime_micro_version);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* `serve [--help | --print-config | --print-defaults]`: argv[0] is "serve", the options
 * already taken out. */
static int
serve_cmd(struct conf *c, int argc, char **argv)
{
	static const char *const own[] = {"help", "print-config", "print-defaults"};
	bool print = false;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			conf_usage(stdout);
			return 0;
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--print-config") == 0) {
			print = true;
			continue;
		}
		if (strcmp(a, "--print-defaults") == 0) {
			conf_sample(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		char hint[128] = "";
		if (strncmp(a, "--", 2) == 0) {
			struct suggest sg;
			suggest_init(&sg, a + 2, strcspn(a + 2, "="));
			for (size_t j = 0; j < sizeof(own) / sizeof(own[0]); j++)
				suggest_offer(&sg, own[j]);
			conf_suggest(&sg);
			suggest_hint(&sg, "--", hint, sizeof(hint));
		}
		fprintf(stderr, "sesame: serve: unknown argument '%s'%s\n", a, hint);
		return 2;
	}
	if (print)
		return conf_print(c, stdout) == 0 ? 0 : 1;
	return serve_main(c);
}

int
main(int argc, char **argv)
{
	struct conf conf;
	char err[256];
	int nargs;

	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	/* before the options are parsed, so they work whatever the file says */
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 && argc == 2)
		return version();
	/* Pull the process-wide options out of argv wherever they stand. */
	nargs = conf_parse_args(&conf, argc, argv, err, sizeof(err));
	if (nargs < 0) {
		fprintf(stderr, "sesame: %s\n", err);
		return 2;
	}
	if (nargs < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return serve_cmd(&conf, nargs - 1, argv + 1);
	if ((strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) && nargs == 2)
		return version();
	return cli_main(&conf, nargs - 1, argv + 1);
}
