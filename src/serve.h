/*
 * serve.h — `sesame serve` (serve.c): the top of the include graph, which
 * starts every module; nothing includes it but main.c.
 */
#ifndef SESAME_SERVE_H
#define SESAME_SERVE_H

struct conf;

/* Run the server until SIGINT/SIGTERM. Returns the process exit status. */
int serve_main(const struct conf *c);

#endif
