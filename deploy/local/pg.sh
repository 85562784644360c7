#!/bin/sh
# A throw-away PostgreSQL cluster on loopback, for `make run` and the tests.
#
#   pg.sh start DIR PORT   initdb DIR if it is new, start the server on 127.0.0.1:PORT,
#                          create the database "incidents", wait until it accepts connections
#   pg.sh stop DIR         fast shutdown (sessions are cut, data is kept)
#   pg.sh url PORT         print the connection URL services use
#
# initdb and postgres refuse to run as root, so as root the cluster belongs to Debian's
# `postgres` system user. If that user cannot reach DIR (a checkout under /root, say), the data
# lives in a directory it owns under /var/tmp and DIR becomes a symlink to it.
set -eu

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
case "$cmd" in
url)
	echo "postgresql://postgres@127.0.0.1:$2/incidents"
	;;
start)
	dir=$2 port=$3
	if [ ! -e "$dir/PG_VERSION" ] && [ ! -L "$dir" ]; then
		mkdir -p "$dir"
		if [ "$(id -u)" = 0 ]; then
			chown postgres: "$dir"
			if ! runuser -u postgres -- test -w "$dir"; then
				rmdir "$dir"
				real=$(mktemp -d /var/tmp/incident-pg.XXXXXX)
				chown postgres: "$real"
				ln -s "$real" "$dir"
			fi
		fi
		as_owner "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 ||
			{ cat "$dir.initdb.log" >&2; exit 1; }
		cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
	fi
	as_owner "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$dir/server.log" >&2; exit 1; }
	as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'incidents'" | grep -q 1 ||
		as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres incidents
	;;
stop)
	dir=$2
	[ -e "$dir/postmaster.pid" ] || exit 0
	as_owner "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
	;;
*)
	echo "usage: pg.sh start DIR PORT | stop DIR | url PORT" >&2
	exit 2
	;;
esac
