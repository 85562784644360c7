/*
 * db: PostgreSQL access for the services (libpq): connect with retry and backoff,
 * parameterised statements only, transactions, and the migration runner with which each
 * service creates and upgrades its own schema at start.
 *
 * There is deliberately no function that takes SQL plus values to splice: values always travel
 * as parameters ($1, $2, ...) through PQexecParams. A struct db is one connection and is not
 * thread-safe; a service gives each thread that needs the database its own.
 *
 * A broken connection (server restarted, network cut) is detected on the next statement:
 * db_exec fails with the reason and marks the connection broken; db_ensure() reconnects with
 * the same backoff as db_connect. Callers retry their whole unit of work after reconnecting.
 */
#ifndef SHARED_DB_H
#define SHARED_DB_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct db;

/*
 * Connects to `url` (a libpq URI or key=value string), retrying with exponential backoff
 * (100 ms doubling to 5 s) until it succeeds or `timeout_ms` passes; `*stop` (may be NULL) is
 * checked between attempts so a SIGTERM during start-up is honoured. Returns NULL with the
 * last reason in err. Caller frees with db_free.
 */
struct db *db_connect(const char *url, int timeout_ms, const volatile sig_atomic_t *stop, char *err,
                      size_t errlen);

/* Closes and frees. NULL is accepted. */
void db_free(struct db *db);

/* The raw connection, for what this module does not wrap (COPY). Borrowed. */
PGconn *db_conn(struct db *db);

/*
 * Runs one parameterised statement. `params` has nparams NUL-terminated text values (an
 * element may be NULL for SQL NULL). Returns the result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), which the caller clears with PQclear, or NULL with the server's message
 * in err (and the connection marked broken if it was lost).
 */
PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params, char *err,
                  size_t errlen);

/* db_exec for statements whose result is not needed. Returns 0 or -1 with err. */
int db_run(struct db *db, const char *sql, int nparams, const char *const *params, char *err,
           size_t errlen);

/*
 * Encodes n strings as a PostgreSQL text array literal ({"a","b",NULL}) for one parameter, so
 * a batch travels as a few array parameters ($1::text[]) unnested by the statement: one round
 * trip for many rows, still no value spliced into SQL. A NULL item becomes SQL NULL. Caller
 * frees.
 */
char *db_text_array(const char *const *items, size_t n);

/* BEGIN / COMMIT / ROLLBACK. Return 0 or -1 with err. db_rollback never fails loudly: it is
 * the clean-up path. */
int db_begin(struct db *db, char *err, size_t errlen);
int db_commit(struct db *db, char *err, size_t errlen);
void db_rollback(struct db *db);

/* True when the connection is up (a cheap status check, no round trip). */
bool db_ok(struct db *db);

/* Reconnects if the connection is broken, with db_connect's backoff up to timeout_ms.
 * Returns 0 when connected. */
int db_ensure(struct db *db, int timeout_ms, const volatile sig_atomic_t *stop, char *err,
              size_t errlen);

/* True when a PostgreSQL server answers at `url` (PQping; thread-safe, no session). */
bool db_reachable(const char *url, char *why, size_t whylen);

/*
 * A pool of connections for code that runs on several threads (HTTP handlers): each thread
 * borrows a connection for one unit of work and gives it back. Connections are opened lazily,
 * up to `size`, and a broken one is reconnected when next acquired. Thread-safe.
 */
struct db_pool;

/* New pool for `url` (copied) of at most `size` connections. Caller frees with db_pool_free. */
struct db_pool *db_pool_new(const char *url, int size);

/*
 * Borrows a connected connection, waiting up to timeout_ms for a free one and for connecting.
 * Returns NULL with a reason in err (pool exhausted, server unreachable). Give it back with
 * db_pool_release, even after errors; a transaction left open is rolled back there.
 */
struct db *db_pool_acquire(struct db_pool *pool, int timeout_ms, char *err, size_t errlen);

/* Gives a connection back. NULL is accepted. */
void db_pool_release(struct db_pool *pool, struct db *db);

/* Closes every connection and frees. All connections must have been released. NULL is
 * accepted. */
void db_pool_free(struct db_pool *pool);

/* One numbered migration: versions strictly increase; `sql` may hold several statements. */
struct db_migration {
	int version;
	const char *name;
	const char *sql;
};

/*
 * Brings `schema` up to date: creates the schema and its schema_migrations table if needed,
 * then applies, each in its own transaction, every migration whose version is not recorded
 * yet, recording it. Holds an advisory lock on the schema name meanwhile so that replicas
 * starting together apply each migration once. Running it again changes nothing. The SQL runs
 * with search_path set to the schema. Returns the number applied, or -1 with err naming the
 * failing migration.
 */
int db_migrate(struct db *db, const char *schema, const struct db_migration *migrations, size_t n,
               char *err, size_t errlen);

#endif
