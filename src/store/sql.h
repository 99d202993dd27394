/*
 * sql.h — private to src/store/: the SQL driver under the store's
 * operations. store_sqlite.c writes every operation of store.h once,
 * against this interface and its table of statements; a driver runs them
 * on one engine: SQLite (store_sqlite.c) or PostgreSQL (store_pg.c).
 *
 * A statement is prepared once per handle (sql_prepare) and used as bind,
 * step…, reset: the bound strings and blobs are borrowed until the reset,
 * which every op does before it returns. Parameters are numbered from 1
 * and written `?N` in the statement text (the PostgreSQL driver rewrites
 * them to `$N`). Columns are numbered from 0. Integers are int64, booleans
 * are integers 0/1, text is UTF-8, blobs are bytes.
 */
#ifndef SESAME_STORE_SQL_H
#define SESAME_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* How a failed statement failed (drivers map their engine's codes). */
enum sql_fail {
	SQL_FAIL_OTHER,     /* temporary: I/O, lock timeout, connection lost */
	SQL_FAIL_UNIQUE,    /* a primary key or UNIQUE constraint */
	SQL_FAIL_FOREIGN,   /* a foreign key */
	SQL_FAIL_CHECK,     /* another constraint (CHECK, NOT NULL) */
};

/* Every driver's connection and statement begin with these. */
struct sql_conn {
	const struct sql_driver *drv;
};

struct sql_stmt {
	const struct sql_driver *drv;
};

struct sql_driver {
	const char *name; /* "sqlite", "postgresql" */
	/* NULL with e filled (temporary) */
	struct sql_stmt *(*prepare)(struct sql_conn *c, int id, const char *text, struct err *e);
	void (*finalize)(struct sql_stmt *st);
	/* 0, or -1: the parameter index is out of range */
	int (*bind_text)(struct sql_stmt *st, int i, const char *s); /* NULL binds NULL */
	int (*bind_int)(struct sql_stmt *st, int i, int64_t v);
	int (*bind_double)(struct sql_stmt *st, int i, double v);
	int (*bind_blob)(struct sql_stmt *st, int i, const uint8_t *p, size_t n); /* p NULL: NULL */
	/* 1 a row is ready, 0 done, -1 failed (sql_errmsg, sql_failure) */
	int (*step)(struct sql_stmt *st);
	void (*reset)(struct sql_stmt *st);
	int64_t (*col_int)(struct sql_stmt *st, int i);
	double (*col_double)(struct sql_stmt *st, int i);
	const char *(*col_text)(struct sql_stmt *st, int i);                  /* NULL: NULL */
	const uint8_t *(*col_blob)(struct sql_stmt *st, int i, size_t *n);     /* NULL: NULL */
	/* rows changed by the connection's last INSERT/UPDATE/DELETE */
	int64_t (*changes)(struct sql_conn *c);
	/* the last failure */
	const char *(*errmsg)(struct sql_conn *c);
	enum sql_fail (*failure)(struct sql_conn *c);
	/* inside an open transaction? */
	bool (*in_tx)(struct sql_conn *c);
	void (*close)(struct sql_conn *c);
};

/* A store over an open, migrated connection (store_sqlite.c): the one set
 * of operations. `pg` picks the PostgreSQL text of the statements that
 * have one. Takes ownership of c. */
struct store *sql_store_new(const struct sql_driver *drv, struct sql_conn *c, bool pg);

#endif
