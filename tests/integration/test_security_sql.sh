#!/bin/sh
# Every SQL statement of the services is parameterised (tests/security/sql_check.py), and the
# check does catch a statement built from a value, a libpq call outside shared/db.c and a
# format string that splices %s into SQL: it must fail on each planted sample.
set -eu
cd "$(dirname "$0")/../.."
python3 tests/security/sql_check.py services shared

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/built.c" <<'C'
static void f(struct db *db, const char *name, char *err)
{
	char *sql = xasprintf("SELECT id FROM t WHERE name = '%s'", name);
	db_run(db, sql, 0, NULL, err, 64);
}
C
cat >"$tmp/strbuf.c" <<'C'
static void g(struct db *db, const char *name, char *err)
{
	struct strbuf q = {0};
	strbuf_addstr(&q, name);
	db_exec(db, q.buf, 0, NULL, err, 64);
}
C
cat >"$tmp/pq.c" <<'C'
static void h(PGconn *c) { PQexec(c, "DELETE FROM t"); }
C
for f in built strbuf pq; do
	mkdir "$tmp/$f.d" && mv "$tmp/$f.c" "$tmp/$f.d/"
	if python3 tests/security/sql_check.py "$tmp/$f.d" >"$tmp/out" 2>&1; then
		cat "$tmp/out"
		echo "sql_check passed a planted violation ($f.c)"
		exit 1
	fi
	head -1 "$tmp/out"
done
echo "sql_check: every statement parameterised; planted violations caught"
