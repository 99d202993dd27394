/*
 * backend.h — private to src/store/: the constructors of the store
 * backends, called only from the backend table in store.c (store_open).
 * Included by store.c and the store_<name>.c files, nowhere else; the rest
 * of sesame opens a store by URL through store.h and sees only the vtable.
 *
 * A constructor receives the whole store URL (its scheme already matched
 * by store.c), parses the rest itself, and returns an open handle with the
 * schema migrated, or NULL with `e` filled. It must never put the URL in
 * an error message: a URL may carry a password.
 */
#ifndef SESAME_STORE_BACKEND_H
#define SESAME_STORE_BACKEND_H

#include "store/store.h"

typedef struct store *(*store_backend_open_fn)(const char *url, struct err *e);

/* store_sqlite.c: `sqlite:PATH` or `sqlite://PATH` (PATH may be absolute:
 * `sqlite:///abs/file.db`). */
struct store *store_sqlite_open(const char *url, struct err *e);
/* store_checkpoint_thread's SQLite half */
void store_sqlite_checkpoint_thread(bool on);

/* store_pg.c: `postgresql://…` or `postgres://…`, libpq's connection URI
 * (host, port, user, password, dbname, sslmode …). */
struct store *store_pg_open(const char *url, struct err *e);

#endif
