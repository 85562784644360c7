/*
 * db: PostgreSQL access through libpq (see db.h): connecting with a deadline and backoff,
 * parameterised statements, transactions, broken-connection handling and the migration runner.
 *
 * Connections are made with the asynchronous API (PQconnectStart + PQconnectPoll) so that one
 * attempt against a black-holed address cannot outlive the caller's timeout and so that the stop
 * flag is looked at while waiting. Server errors are reduced to one line
 * ("ERROR: relation \"x\" does not exist (SQLSTATE 42P01)") because they end up in JSON logs.
 */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"
#include "xalloc.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* Longest single wait before the stop flag and the deadline are looked at again. */
#define SLICE_MS 50
/* A /readyz ping must not hang on an unreachable host; a URL's own connect_timeout wins. */
#define PING_TIMEOUT_S "3"

struct db {
	PGconn *conn;
	char *url;
	bool broken;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copies a libpq message into err on one line: newlines and runs of blanks become one space. */
static void set_err_oneline(char *err, size_t errlen, const char *prefix, const char *msg)
{
	size_t o = 0;
	bool space = false;

	if (!err || errlen == 0)
		return;
	set_err(err, errlen, "%s", prefix ? prefix : "");
	o = strlen(err);
	if (!msg || !*msg)
		msg = "unknown error";
	for (const char *p = msg; *p && o + 1 < errlen; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			space = true;
			continue;
		}
		if (space && o > 0 && err[o - 1] != ' ') {
			err[o++] = ' ';
			if (o + 1 >= errlen)
				break;
		}
		space = false;
		err[o++] = *p;
	}
	err[o] = '\0';
}

/* The reason of a failed result: severity, primary message and SQLSTATE when the server sent
 * them, libpq's own message otherwise (connection-level failures). */
static void result_err(PGconn *conn, const PGresult *res, const char *prefix, char *err,
                       size_t errlen)
{
	const char *sev = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (primary) {
		char line[1024];

		snprintf(line, sizeof(line), "%s: %s (SQLSTATE %s)", sev ? sev : "ERROR", primary,
		         state ? state : "?????");
		set_err_oneline(err, errlen, prefix, line);
	} else if (res && *PQresultErrorMessage(res)) {
		set_err_oneline(err, errlen, prefix, PQresultErrorMessage(res));
	} else {
		set_err_oneline(err, errlen, prefix, PQerrorMessage(conn));
	}
}

static bool stopping(const volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

/* Sleeps up to ms in slices, returning early when asked to stop. */
static void sleep_ms(int64_t ms, const volatile sig_atomic_t *stop)
{
	while (ms > 0 && !stopping(stop)) {
		int64_t step = ms < SLICE_MS ? ms : SLICE_MS;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/*
 * libpq prints NOTICEs ("schema ... already exists, skipping") to stderr by default, which would
 * break the one-JSON-object-per-line log contract; library code does not log, so they are dropped.
 */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* One connection attempt that gives up at `deadline` (monotonic ms) or on stop. */
static PGconn *connect_once(const char *url, int64_t deadline, const volatile sig_atomic_t *stop,
                            char *err, size_t errlen)
{
	PGconn *conn = PQconnectStart(url);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (!conn) {
		set_err(err, errlen, "connecting to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		set_err_oneline(err, errlen, "connecting to PostgreSQL: ", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd;
		int64_t left;
		int rc;

		if (st == PGRES_POLLING_OK) {
			PQsetNoticeProcessor(conn, ignore_notice, NULL);
			return conn;
		}
		if (st == PGRES_POLLING_FAILED) {
			set_err_oneline(err, errlen,
			                "connecting to PostgreSQL: ", PQerrorMessage(conn));
			break;
		}
		left = deadline - time_mono_ms();
		if (left <= 0) {
			set_err(err, errlen, "connecting to PostgreSQL: timed out");
			break;
		}
		if (stopping(stop)) {
			set_err(err, errlen, "connecting to PostgreSQL: stop requested");
			break;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (pfd.fd < 0) {
			set_err_oneline(err, errlen,
			                "connecting to PostgreSQL: ", PQerrorMessage(conn));
			break;
		}
		rc = poll(&pfd, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
		if (rc < 0 && errno != EINTR) {
			set_err(err, errlen, "connecting to PostgreSQL: poll: %s", strerror(errno));
			break;
		}
		if (rc > 0)
			st = PQconnectPoll(conn);
	}
	PQfinish(conn);
	return NULL;
}

/* Attempts until success, deadline or stop, sleeping 100 ms doubling to 5 s in between. The
 * first attempt is always made, even with timeout_ms <= 0. */
static PGconn *connect_backoff(const char *url, int timeout_ms, const volatile sig_atomic_t *stop,
                               char *err, size_t errlen)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int64_t backoff = BACKOFF_FIRST_MS;

	for (;;) {
		/* A zero timeout still deserves one honest attempt of a few seconds. */
		int64_t attempt_deadline = timeout_ms > 0 ? deadline : time_mono_ms() + 5000;
		PGconn *conn = connect_once(url, attempt_deadline, stop, err, errlen);
		int64_t left;

		if (conn)
			return conn;
		left = deadline - time_mono_ms();
		if (left <= 0 || stopping(stop))
			return NULL;
		sleep_ms(backoff < left ? backoff : left, stop);
		if (stopping(stop))
			return NULL;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

struct db *db_connect(const char *url, int timeout_ms, const volatile sig_atomic_t *stop, char *err,
                      size_t errlen)
{
	struct db *db;
	PGconn *conn;

	PQconninfoOption *parsed;
	char *why = NULL;

	if (!url || !*url) {
		set_err(err, errlen, "connecting to PostgreSQL: no URL");
		return NULL;
	}
	/* A malformed URL will not get better with retries. libpq's reason is not passed on: it
	 * may quote part of the URL, which can hold a password. */
	parsed = PQconninfoParse(url, &why);
	if (!parsed) {
		set_err(err, errlen,
		        "connecting to PostgreSQL: the URL is not a valid libpq URI or "
		        "key=value string");
		PQfreemem(why);
		return NULL;
	}
	PQconninfoFree(parsed);
	conn = connect_backoff(url, timeout_ms, stop, err, errlen);
	if (!conn)
		return NULL;
	db = xcalloc(1, sizeof(*db));
	db->conn = conn;
	db->url = xstrdup(url);
	return db;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->url);
	free(db);
}

PGconn *db_conn(struct db *db)
{
	return db ? db->conn : NULL;
}

bool db_ok(struct db *db)
{
	return db && db->conn && !db->broken && PQstatus(db->conn) == CONNECTION_OK;
}

PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params, char *err,
                  size_t errlen)
{
	PGresult *res;
	ExecStatusType st;

	if (!db_ok(db)) {
		if (db)
			db->broken = true;
		set_err(err, errlen, "PostgreSQL connection is broken (reconnect with db_ensure)");
		return NULL;
	}
	res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	result_err(db->conn, res, "", err, errlen);
	PQclear(res);
	if (PQstatus(db->conn) != CONNECTION_OK)
		db->broken = true;
	return NULL;
}

int db_run(struct db *db, const char *sql, int nparams, const char *const *params, char *err,
           size_t errlen)
{
	PGresult *res = db_exec(db, sql, nparams, params, err, errlen);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

char *db_text_array(const char *const *items, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += items[i] ? strlen(items[i]) * 2 + 3 : 5;
	char *out = xmalloc(cap), *o = out;

	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		if (!items[i]) {
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

int db_begin(struct db *db, char *err, size_t errlen)
{
	return db_run(db, "BEGIN", 0, NULL, err, errlen);
}

int db_commit(struct db *db, char *err, size_t errlen)
{
	return db_run(db, "COMMIT", 0, NULL, err, errlen);
}

void db_rollback(struct db *db)
{
	char ignored[256];

	/* On a broken connection the server has already rolled back. */
	if (db_ok(db))
		(void)db_run(db, "ROLLBACK", 0, NULL, ignored, sizeof(ignored));
}

int db_ensure(struct db *db, int timeout_ms, const volatile sig_atomic_t *stop, char *err,
              size_t errlen)
{
	PGconn *conn;

	if (!db) {
		set_err(err, errlen, "no database handle");
		return -1;
	}
	if (db_ok(db))
		return 0;
	/* A fresh connection rather than PQreset: PQreset blocks without a deadline. */
	conn = connect_backoff(db->url, timeout_ms, stop, err, errlen);
	if (!conn)
		return -1;
	if (db->conn)
		PQfinish(db->conn);
	db->conn = conn;
	db->broken = false;
	return 0;
}

bool db_reachable(const char *url, char *why, size_t whylen)
{
	/* connect_timeout comes first so that one in the URL (expanded from dbname) overrides it. */
	const char *const keys[] = {"connect_timeout", "dbname", NULL};
	const char *const vals[] = {PING_TIMEOUT_S, url, NULL};

	if (!url || !*url) {
		set_err(why, whylen, "no URL");
		return false;
	}
	switch (PQpingParams(keys, vals, 1)) {
	case PQPING_OK:
		return true;
	case PQPING_REJECT:
		set_err(why, whylen, "server rejects connections (starting up or shutting down)");
		return false;
	case PQPING_NO_RESPONSE:
		set_err(why, whylen, "no response from server");
		return false;
	case PQPING_NO_ATTEMPT:
	default:
		set_err(why, whylen, "bad connection parameters");
		return false;
	}
}

/* ---- migrations ----------------------------------------------------------------------------- */

static bool version_applied(const int *applied, size_t napplied, int version)
{
	for (size_t i = 0; i < napplied; i++) {
		if (applied[i] == version)
			return true;
	}
	return false;
}

/* Applies one migration in its own transaction and records it. `ident` is the escaped schema
 * identifier. Returns 0 or -1 with err (not yet prefixed with the migration's name). */
static int apply_migration(struct db *db, const char *ident, const struct db_migration *m,
                           char *err, size_t errlen)
{
	char *set_path = xasprintf("SET LOCAL search_path TO %s", ident);
	char *record = xasprintf("INSERT INTO %s.schema_migrations (version, name) VALUES ($1, $2)",
	                         ident);
	char version[16];
	const char *params[2] = {version, m->name};
	PGresult *res = NULL;
	ExecStatusType st;
	int rc = -1;

	snprintf(version, sizeof(version), "%d", m->version);
	if (db_begin(db, err, errlen) < 0)
		goto out;
	if (db_run(db, set_path, 0, NULL, err, errlen) < 0)
		goto rollback;
	/*
	 * The one use of PQexec (the simple query protocol) in the project: a migration is several
	 * statements, which PQexecParams refuses. Its SQL is code compiled into the binary, never
	 * input, so nothing from outside is ever spliced into it. It must not end the transaction
	 * itself (COMMIT, ROLLBACK) nor use what cannot run in one (CREATE INDEX CONCURRENTLY).
	 */
	res = PQexec(db->conn, m->sql);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		result_err(db->conn, res, "", err, errlen);
		if (PQstatus(db->conn) != CONNECTION_OK)
			db->broken = true;
		goto rollback;
	}
	if (db_run(db, record, 2, params, err, errlen) < 0)
		goto rollback;
	if (db_commit(db, err, errlen) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	PQclear(res);
	free(set_path);
	free(record);
	return rc;
}

int db_migrate(struct db *db, const char *schema, const struct db_migration *migrations, size_t n,
               char *err, size_t errlen)
{
	const char *lock_params[1] = {schema};
	char *ident = NULL, *sql = NULL;
	int *applied = NULL;
	size_t napplied = 0;
	PGresult *res = NULL;
	bool locked = false;
	int count = 0, rc = -1;
	char step[512];

	if (!db_ok(db)) {
		set_err(err, errlen, "migrating schema: PostgreSQL connection is broken");
		return -1;
	}
	if (!schema || !*schema) {
		set_err(err, errlen, "migrating schema: empty schema name");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (migrations[i].version <= 0 || !migrations[i].name || !migrations[i].sql ||
		    (i > 0 && migrations[i].version <= migrations[i - 1].version)) {
			set_err(err, errlen,
			        "migrating schema %s: migration %d at index %zu: versions must be "
			        "positive and strictly increasing, name and sql set",
			        schema, migrations[i].version, i);
			return -1;
		}
	}

	/*
	 * Session-level lock, taken before anything else: CREATE SCHEMA IF NOT EXISTS itself can
	 * fail with a unique violation when two sessions run it at once.
	 */
	if (db_run(db, "SELECT pg_advisory_lock(hashtext($1))", 1, lock_params, step,
	           sizeof(step)) < 0) {
		set_err(err, errlen, "migrating schema %s: taking the lock: %s", schema, step);
		goto out;
	}
	locked = true;

	/* Identifiers cannot be parameters; the name is quoted by libpq, never pasted raw. */
	ident = PQescapeIdentifier(db->conn, schema, strlen(schema));
	if (!ident) {
		set_err_oneline(err, errlen, "migrating schema: ", PQerrorMessage(db->conn));
		goto out;
	}
	sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", ident);
	if (db_run(db, sql, 0, NULL, step, sizeof(step)) < 0) {
		set_err(err, errlen, "migrating schema %s: creating the schema: %s", schema, step);
		goto out;
	}
	free(sql);
	sql = xasprintf("CREATE TABLE IF NOT EXISTS %s.schema_migrations ("
	                "version int PRIMARY KEY, name text NOT NULL, "
	                "applied_at timestamptz NOT NULL DEFAULT now())",
	                ident);
	if (db_run(db, sql, 0, NULL, step, sizeof(step)) < 0) {
		set_err(err, errlen, "migrating schema %s: creating schema_migrations: %s", schema,
		        step);
		goto out;
	}
	free(sql);
	sql = xasprintf("SELECT version FROM %s.schema_migrations", ident);
	res = db_exec(db, sql, 0, NULL, step, sizeof(step));
	if (!res) {
		set_err(err, errlen, "migrating schema %s: reading schema_migrations: %s", schema,
		        step);
		goto out;
	}
	napplied = (size_t)PQntuples(res);
	applied = xcalloc(napplied, sizeof(*applied));
	for (size_t i = 0; i < napplied; i++)
		applied[i] = atoi(PQgetvalue(res, (int)i, 0));

	for (size_t i = 0; i < n; i++) {
		const struct db_migration *m = &migrations[i];
		char why[1024];

		if (version_applied(applied, napplied, m->version))
			continue;
		if (apply_migration(db, ident, m, why, sizeof(why)) < 0) {
			set_err(err, errlen, "migration %d (%s): %s", m->version, m->name, why);
			goto out;
		}
		count++;
	}
	rc = count;
out:
	if (locked && db_ok(db))
		(void)db_run(db, "SELECT pg_advisory_unlock(hashtext($1))", 1, lock_params, step,
		             sizeof(step));
	PQclear(res);
	free(applied);
	free(sql);
	if (ident)
		PQfreemem(ident);
	return rc;
}

/* ---- pool ------------------------------------------------------------------------------------ */

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	char *url;
	int size;
	int opened; /* connections created so far (free or lent) */
	int nfree;
	struct db **idle; /* the free ones, a stack */
};

struct db_pool *db_pool_new(const char *url, int size)
{
	struct db_pool *pool = xcalloc(1, sizeof(*pool));

	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	pool->url = xstrdup(url);
	pool->size = size > 0 ? size : 1;
	pool->idle = xcalloc((size_t)pool->size, sizeof(*pool->idle));
	return pool;
}

struct db *db_pool_acquire(struct db_pool *pool, int timeout_ms, char *err, size_t errlen)
{
	struct timespec until = time_after_ms(CLOCK_REALTIME, timeout_ms);
	struct db *db = NULL;
	bool open_new = false;
	int64_t deadline = time_mono_ms() + timeout_ms;

	pthread_mutex_lock(&pool->lock);
	while (pool->nfree == 0 && pool->opened >= pool->size) {
		if (pthread_cond_timedwait(&pool->freed, &pool->lock, &until) == ETIMEDOUT)
			break;
	}
	if (pool->nfree > 0) {
		db = pool->idle[--pool->nfree];
	} else if (pool->opened < pool->size) {
		pool->opened++;
		open_new = true;
	}
	pthread_mutex_unlock(&pool->lock);

	if (!db && !open_new) {
		set_err(err, errlen, "all %d database connections are busy", pool->size);
		return NULL;
	}
	int left = (int)(deadline - time_mono_ms());
	if (left < 1)
		left = 1;
	if (open_new)
		db = db_connect(pool->url, left, NULL, err, errlen);
	else if (db_ensure(db, left, NULL, err, errlen) < 0)
		db->broken = true; /* keep the handle; it is retried at the next acquire */
	if (db && db_ok(db))
		return db;
	/* Could not connect: give the slot back so a later call retries. */
	pthread_mutex_lock(&pool->lock);
	if (db)
		pool->idle[pool->nfree++] = db;
	else
		pool->opened--;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

void db_pool_release(struct db_pool *pool, struct db *db)
{
	if (!db)
		return;
	if (db_ok(db) && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		db_rollback(db);
	pthread_mutex_lock(&pool->lock);
	pool->idle[pool->nfree++] = db;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

void db_pool_free(struct db_pool *pool)
{
	if (!pool)
		return;
	for (int i = 0; i < pool->nfree; i++)
		db_free(pool->idle[i]);
	free(pool->idle);
	free(pool->url);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
