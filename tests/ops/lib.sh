# The deployment checks of issue 9 as shell functions, shared by tests/integration/test_ops_*.sh.
#
# Each check takes the files it judges as arguments (so a test can hand it a deliberately broken
# copy and see it fail), prints "FAIL: ..." for every problem it finds, and returns non-zero if
# there was any. Services whose binary is not built yet are skipped with a printed "SKIP:" note.
# Tools: docker-compose (1.29, Debian), promtool (Debian's prometheus), jq, yq (Debian's, the jq
# wrapper), readelf, dpkg.
#
# Sourced with OPS_ROOT set to the repository root.

OPS_SERVICES="collector classifier assigner notifier"

ops_fail() {
	echo "FAIL: $*"
	OPS_BAD=1
}

# The settings table a binary prints with --help (config_print_help): "NAME TYPE DEFAULT HELP",
# with " (required)" at the end of a line that must end up with a value; DEFAULT "-" is none.
# Prints "NAME DEFAULT REQUIRED(0|1)" lines.
ops_settings() {
	"$1" --help 2>&1 | awk '/^[A-Z][A-Z0-9_]* +(string|int|bool|duration) / {
		print $1, $3, (/ \(required\)$/ ? 1 : 0) }'
}

# Writes $OPS_TMP/compose.json: the compose file $1 as docker-compose resolved it (env files
# merged into `environment`, anchors expanded; relative paths against OPS_ROOT). On failure
# returns 1 with docker-compose's complaint in $OPS_TMP/compose.err.
ops_compose_json() {
	docker-compose -f "$1" --project-directory "$OPS_ROOT" config >"$OPS_TMP/compose.yml" \
		2>"$OPS_TMP/compose.err" || return 1
	yq . "$OPS_TMP/compose.yml" >"$OPS_TMP/compose.json"
}

# ---- docker-compose.yml ----------------------------------------------------------------------
# $1 compose file. docker-compose accepts it, and it has the issue's shape: every part present,
# the services waiting for healthy dependencies with a restart policy, ports on loopback only,
# state in named volumes and nothing mounted from the host but the repository's deploy/ files,
# read-only.
check_compose() {
	OPS_BAD=""
	ops_compose_json "$1" || {
		ops_fail "docker-compose config rejects $1: $(cat "$OPS_TMP/compose.err")"
		return 1
	}
	for s in kafka kafka-topics postgres $OPS_SERVICES prometheus grafana mail; do
		jq -e --arg s "$s" '.services[$s]' "$OPS_TMP/compose.json" >/dev/null ||
			ops_fail "compose: no service $s"
	done
	for s in $OPS_SERVICES; do
		jq -e --arg s "$s" '.services[$s].restart == "unless-stopped"' "$OPS_TMP/compose.json" \
			>/dev/null || ops_fail "compose: $s has no restart policy"
		jq -e --arg s "$s" '.services[$s].depends_on | .postgres.condition == "service_healthy"
			and ."kafka-topics".condition == "service_completed_successfully"' \
			"$OPS_TMP/compose.json" >/dev/null ||
			ops_fail "compose: $s does not wait for a healthy postgres and the topics job"
		jq -e --arg s "$s" '.services[$s].command == [$s]' "$OPS_TMP/compose.json" >/dev/null ||
			ops_fail "compose: $s does not run the $s binary"
	done
	jq -r '.services | to_entries[] | .key as $s | (.value.ports // [])[] |
		select(if type == "string" then startswith("127.0.0.1:") | not
			else .host_ip != "127.0.0.1" end) | "\($s) \(tostring)"' \
		"$OPS_TMP/compose.json" | while read -r s p; do
		echo "FAIL: compose: $s publishes $p beyond loopback"
	done | grep . && OPS_BAD=1
	jq -r '.services | to_entries[] | .key as $s | (.value.volumes // [])[] |
		if type == "string" then "\($s) \(.)"
		else "\($s) \(.source // "-"):\(.target):\(if .read_only then "ro" else "rw" end)" end' \
		"$OPS_TMP/compose.json" | while read -r s v; do
		src=${v%%:*}
		case "$src" in
		/*)
			case "$v" in
			"$OPS_ROOT"/deploy/*:ro) ;;
			*) echo "FAIL: compose: $s mounts $v (only deploy/ read-only, state in named volumes)" ;;
			esac
			;;
		esac
	done | grep . && OPS_BAD=1
	[ -z "$OPS_BAD" ]
}

# ---- environment variables -------------------------------------------------------------------
# $1 compose file, $2 Dockerfile, $3 directory of the built binaries. Every variable the compose
# file (environment and env files) or the image (Dockerfile ENV) gives a service is one the
# service reads (its --help table), and every setting that is required and has no default is
# set to something.
check_env() {
	OPS_BAD=""
	ops_compose_json "$1" || {
		ops_fail "docker-compose config rejects $1: $(cat "$OPS_TMP/compose.err")"
		return 1
	}
	# ENV NAME=value ... over continuation lines; PATH is the image's, not a setting.
	image_env=$(awk '/^ENV / { on = 1 } on { print; if (!/\\$/) on = 0 }' "$2" |
		grep -oE '[A-Z][A-Z0-9_]*=' | tr -d = | grep -vx PATH)
	for s in $OPS_SERVICES; do
		if [ ! -x "$3/$s" ]; then
			echo "SKIP: environment of $s: $3/$s is not built"
			continue
		fi
		ops_settings "$3/$s" >"$OPS_TMP/settings.$s"
		[ -s "$OPS_TMP/settings.$s" ] || { ops_fail "$s --help lists no settings"; continue; }
		jq -r --arg s "$s" '.services[$s].environment // {} | to_entries[] |
			"\(.key) \(if (.value // "") == "" then 0 else 1 end)"' "$OPS_TMP/compose.json" \
			>"$OPS_TMP/env.$s"
		for v in $image_env; do echo "$v 1"; done >>"$OPS_TMP/env.$s"
		while read -r name _; do
			grep -q "^$name " "$OPS_TMP/settings.$s" ||
				ops_fail "$s is given $name, which it does not read ($s --help)"
		done <"$OPS_TMP/env.$s"
		while read -r name default required; do
			[ "$required" = 1 ] && [ "$default" = - ] || continue
			grep -q "^$name 1$" "$OPS_TMP/env.$s" ||
				ops_fail "$s requires $name and the compose file does not set it"
		done <"$OPS_TMP/settings.$s"
	done
	[ -z "$OPS_BAD" ]
}

# ---- Dockerfile packages ---------------------------------------------------------------------
# The Debian packages of each library the Makefile links: pkg-config name (PKGS) or -l flag,
# build package, runtime package ("-": part of the base image).
OPS_PKG_MAP="
rdkafka librdkafka-dev librdkafka1
libpq libpq-dev libpq5
jansson libjansson-dev libjansson4
libmicrohttpd libmicrohttpd-dev libmicrohttpd12
libcurl libcurl4-openssl-dev libcurl4
libxml-2.0 libxml2-dev libxml2
libcrypto libssl-dev libssl3
-lstemmer libstemmer-dev libstemmer0d
-lpthread libc6-dev -
-lm libc6-dev -
"
# Build tools the Makefile runs, and the base image's own libraries.
OPS_BUILD_TOOLS="gcc libc6-dev make pkg-config"
OPS_BASE_PACKAGES="libc6"

# Prints the words of the Dockerfile's ARG $2="..." (one per line), sorted.
ops_dockerfile_list() {
	awk -v n="$2" '
		function words(s) {
			if (index(s, "\"")) { sub(/".*/, "", s); on = 0 }
			gsub(/\\/, " ", s)
			print s
		}
		on { words($0); next }
		$0 ~ "^ARG " n "=\"" { on = 1; s = $0; sub(/^[^"]*"/, "", s); words(s) }' "$1" |
		tr -s ' \t' '\n' | grep . | sort -u
}

# $1 Dockerfile, $2 Makefile, $3 directory of the built binaries. The build stage installs
# exactly the -dev packages of what the Makefile links (plus the tools), the runtime stage
# exactly their runtime packages, and every library a built binary loads comes from one of them.
check_packages() {
	OPS_BAD=""
	pkgs=$(sed -n 's/^PKGS *:= *//p' "$2")
	libs=$(sed -n 's/^PKG_LIBS *=.*)//p' "$2" | grep -oE -- '-l[a-z0-9_]+')
	[ -n "$pkgs" ] || ops_fail "no PKGS := line in $2"
	: >"$OPS_TMP/want.build"
	: >"$OPS_TMP/want.run"
	for p in $OPS_BUILD_TOOLS; do echo "$p" >>"$OPS_TMP/want.build"; done
	for p in $pkgs $libs; do
		m=$(echo "$OPS_PKG_MAP" | awk -v p="$p" '$1 == p { print $2, $3 }')
		if [ -z "$m" ]; then
			ops_fail "the Makefile links $p: add its Debian packages to OPS_PKG_MAP in tests/ops/lib.sh and to the Dockerfile"
			continue
		fi
		echo "${m% *}" >>"$OPS_TMP/want.build"
		[ "${m#* }" = - ] || echo "${m#* }" >>"$OPS_TMP/want.run"
	done
	sort -u -o "$OPS_TMP/want.build" "$OPS_TMP/want.build"
	sort -u -o "$OPS_TMP/want.run" "$OPS_TMP/want.run"
	ops_dockerfile_list "$1" BUILD_PACKAGES >"$OPS_TMP/have.build"
	ops_dockerfile_list "$1" RUNTIME_PACKAGES >"$OPS_TMP/have.run"
	for kind in build run; do
		comm -23 "$OPS_TMP/want.$kind" "$OPS_TMP/have.$kind" | while read -r p; do
			echo "FAIL: Dockerfile: the $kind stage lacks $p (the Makefile links it)"
		done | grep . && OPS_BAD=1
		comm -13 "$OPS_TMP/want.$kind" "$OPS_TMP/have.$kind" | while read -r p; do
			echo "FAIL: Dockerfile: the $kind stage installs $p, which the Makefile does not link"
		done | grep . && OPS_BAD=1
	done
	# What the binaries really load (their NEEDED entries), by owning package. The sanitizer
	# runtimes belong to `make SAN=1` builds only.
	built=""
	for s in $OPS_SERVICES; do [ -x "$3/$s" ] && built="$built $3/$s"; done
	if [ -z "$built" ]; then
		echo "SKIP: no service built in $3: libraries not compared"
	else
		for b in $built; do
			needed=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
			ldd "$b" | awk '$2 == "=>" { print $1, $3 }' | while read -r so path; do
				echo "$needed" | grep -qxF "$so" || continue
				case "$so" in libasan.* | libubsan.*) continue ;; esac
				dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | sed 's/:.*//'
			done
		done | sort -u >"$OPS_TMP/loaded"
		for p in $OPS_BASE_PACKAGES; do echo "$p"; done >>"$OPS_TMP/have.run"
		sort -u -o "$OPS_TMP/have.run" "$OPS_TMP/have.run"
		comm -23 "$OPS_TMP/loaded" "$OPS_TMP/have.run" | while read -r p; do
			echo "FAIL: Dockerfile: a built service loads a library of $p, which the runtime stage does not install"
		done | grep . && OPS_BAD=1
	fi
	[ -z "$OPS_BAD" ]
}

# $1 Dockerfile. The image has the issue's shape: built on debian:bookworm, run on
# debian:bookworm-slim as a non-root user with a HEALTHCHECK on /healthz, the binaries and their
# data copied from the build stage, and no compiler, build tool or headers among the runtime
# stage's extra tools (its libraries are check_packages' business).
check_image() {
	OPS_BAD=""
	froms=$(grep -E '^FROM ' "$1")
	[ "$(echo "$froms" | head -1)" = "FROM debian:bookworm AS build" ] ||
		ops_fail "Dockerfile: the first stage is not 'FROM debian:bookworm AS build'"
	[ "$(echo "$froms" | tail -1)" = "FROM debian:bookworm-slim" ] ||
		ops_fail "Dockerfile: the last stage is not 'FROM debian:bookworm-slim'"
	last=$(awk '/^FROM / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$1")
	user=$(echo "$last" | sed -n 's/^USER \([^:]*\).*/\1/p' | tail -1)
	case "$user" in
	"" | 0 | root) ops_fail "Dockerfile: the runtime stage runs as root (USER '$user')" ;;
	esac
	echo "$last" | grep -A1 '^HEALTHCHECK' | grep -q '/healthz' ||
		ops_fail "Dockerfile: no HEALTHCHECK against /healthz in the runtime stage"
	for d in bin share; do
		echo "$last" | grep -q "^COPY --from=build /src/build/dev/$d/ /opt/otklik/$d/" ||
			ops_fail "Dockerfile: the runtime stage does not copy build/dev/$d"
	done
	# The runtime stage's apt-get installs the two lists and nothing else.
	installs=$(echo "$last" | awk '{ line = line " " $0 } !/\\$/ { print line; line = "" }' |
		grep 'apt-get install' | sed 's/.*apt-get install//; s/&&.*//' | tr -s ' \\' '\n' |
		grep -v '^-' | grep . | sort | tr '\n' ' ')
	[ "$installs" = '$RUNTIME_PACKAGES $TOOL_PACKAGES ' ] ||
		ops_fail "Dockerfile: the runtime stage installs '$installs', not just \$RUNTIME_PACKAGES and \$TOOL_PACKAGES"
	for p in $(ops_dockerfile_list "$1" TOOL_PACKAGES); do
		case "$p" in
		*-dev | gcc* | g++* | cpp* | clang* | make | pkg-config | binutils*)
			ops_fail "Dockerfile: the runtime stage installs the build tool $p" ;;
		esac
	done
	[ -z "$OPS_BAD" ]
}

# ---- Prometheus ------------------------------------------------------------------------------
# $1 prometheus.yml (alerts.yml beside it), $2 the rule unit tests. promtool accepts the config
# and the rules, the unit tests pass, every service has a scrape job named after it, and every
# alert has a unit test.
check_prometheus() {
	OPS_BAD=""
	out=$(promtool check config "$1" 2>&1) || ops_fail "promtool check config: $out"
	rules="$(dirname "$1")/alerts.yml"
	out=$(promtool check rules "$rules" 2>&1) || ops_fail "promtool check rules: $out"
	out=$(promtool test rules "$2" 2>&1) || ops_fail "promtool test rules: $out"
	for s in $OPS_SERVICES; do
		yq -e --arg s "$s" '[.scrape_configs[].job_name] | index($s)' "$1" >/dev/null 2>&1 ||
			ops_fail "$1 has no scrape job $s"
	done
	for a in $(yq -r '.groups[].rules[].alert // empty' "$rules"); do
		yq -e --arg a "$a" '[.tests[].alert_rule_test[]?.alertname] | index($a)' "$2" \
			>/dev/null 2>&1 || ops_fail "alert $a has no unit test in $2"
	done
	[ -z "$OPS_BAD" ]
}

# ---- Grafana ---------------------------------------------------------------------------------
# $1 dashboards directory, $2 provisioning directory. Every dashboard is valid JSON with a
# unique uid, a title and panels with unique ids laid out without overlap on Grafana's 24
# columns; every query panel has PromQL targets; every datasource it names is the provisioned
# one; the provider loads the directory compose mounts.
check_dashboards() {
	OPS_BAD=""
	rm -f "$OPS_TMP/uids"
	ds=$(yq -r '.datasources[] | select(.type == "prometheus") | .uid' "$2"/datasources/*.yml)
	[ -n "$ds" ] || ops_fail "no Prometheus datasource provisioned in $2/datasources"
	n=0
	for f in "$1"/*.json; do
		[ -e "$f" ] || break
		n=$((n + 1))
		if ! jq -e . "$f" >/dev/null 2>&1; then
			ops_fail "$f is not valid JSON: $(jq . "$f" 2>&1 >/dev/null | head -1)"
			continue
		fi
		jq -e '(.uid | type == "string") and (.title | type == "string") and
			(.panels | length > 0)' "$f" >/dev/null || ops_fail "$f lacks uid, title or panels"
		dup=$(jq -r '[.. | objects | select(has("gridPos")) | .id] | group_by(.) |
			map(select(length > 1) | .[0]) | .[]' "$f")
		[ -z "$dup" ] || ops_fail "$f: panel ids used twice: $dup"
		jq -r '.. | objects | select(has("gridPos") and .type != "row") |
			select([.targets[]?.expr | select(type == "string" and length > 0)] | length == 0) |
			.title' "$f" | while read -r t; do echo "FAIL: $f: panel \"$t\" has no query"; done |
			grep . && OPS_BAD=1
		jq -r '[.. | objects | select(has("gridPos")) | {t: .title, g: .gridPos}] as $p |
			($p[] | select(.g.x + .g.w > 24) | "\(.t) is wider than the 24 columns"),
			(range(0; $p | length) as $i | range($i + 1; $p | length) as $j |
			 $p[$i].g as $a | $p[$j].g as $b |
			 select($a.x < $b.x + $b.w and $b.x < $a.x + $a.w and
				$a.y < $b.y + $b.h and $b.y < $a.y + $a.h) |
			 "\($p[$i].t) overlaps \($p[$j].t)")' "$f" |
			while read -r m; do echo "FAIL: $f: panel $m"; done | grep . && OPS_BAD=1
		jq -r --arg ds "$ds" '.. | objects | select(has("datasource")) | .datasource |
			select(type != "object" or .uid != $ds) | tostring' "$f" | sort -u |
			while read -r d; do echo "FAIL: $f: datasource $d is not the provisioned \"$ds\""; done |
			grep . && OPS_BAD=1
		jq -r .uid "$f" >>"$OPS_TMP/uids"
	done
	[ "$n" -gt 0 ] || ops_fail "no dashboards in $1"
	dup=$(sort "$OPS_TMP/uids" 2>/dev/null | uniq -d)
	rm -f "$OPS_TMP/uids"
	[ -z "$dup" ] || ops_fail "dashboard uid used twice: $dup"
	path=$(yq -r '.providers[].options.path' "$2"/dashboards/*.yml)
	[ "$path" = /etc/grafana/dashboards ] ||
		ops_fail "the dashboard provider reads $path, compose mounts the dashboards at /etc/grafana/dashboards"
	[ -z "$OPS_BAD" ]
}

# ---- metric names ----------------------------------------------------------------------------
# Every PromQL expression of the dashboards in $1 and of the rules file $2, one per line as a
# JSON string, with Grafana's variables given values Prometheus accepts.
ops_exprs() {
	{
		jq -c '.. | objects | .expr? // empty | select(type == "string")' "$1"/*.json
		yq -c '.groups[].rules[].expr' "$2"
	} | sed -e 's/\$__rate_interval/1m/g' -e 's/\$__range/1h/g' -e 's/\$__interval/1m/g'
}

# The metric names one PromQL expression ($1) reads: what is left after dropping strings, label
# matchers, ranges, grouping clauses, numbers, function names and keywords.
ops_promql_metrics() {
	printf '%s\n' "$1" | tr '\n' ' ' | sed -E \
		-e 's/"([^"\\]|\\.)*"//g' \
		-e 's/\{[^}]*\}//g' \
		-e 's/\[[^]]*\]//g' \
		-e 's/\b(by|without|on|ignoring|group_left|group_right)[[:space:]]*\([^)]*\)//g' \
		-e 's/offset[[:space:]]+[0-9a-z]+//g' \
		-e 's/(^|[^A-Za-z0-9_:])[0-9][0-9.]*([eE][+-]?[0-9]+)?/\1/g' |
		grep -oE '[A-Za-z_:][A-Za-z0-9_:]*[[:space:]]*\(?' | grep -v '($' | tr -d ' ' |
		grep -vxE 'and|or|unless|bool|by|without|on|ignoring|group_left|group_right|offset|inf|nan|Inf|NaN' |
		sort -u
}

# The metric names a /metrics page ($1, a file) exports, from its TYPE lines: a histogram's
# _bucket, _sum and _count included, and families that have no sample yet.
ops_exported() {
	awk '$1 == "#" && $2 == "TYPE" {
		if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" }
		else if ($4 == "summary") { print $3; print $3 "_sum"; print $3 "_count" }
		else print $3 }' "$1" | sort -u
}

# $1 dashboards directory, $2 rules file, $3 directory of "<service>.metrics" files (each one
# service's live /metrics), $4 directory of the built binaries. Every metric an expression reads
# is exported by a live service: a <service>_* metric by that service itself, a shared one
# (im_*, process_*, http_*) by some service; `up` is Prometheus's own. A <service>_* metric of
# a service not built yet is skipped with a note.
check_metric_names() {
	OPS_BAD=""
	cat "$3"/*.metrics 2>/dev/null >"$OPS_TMP/all.metrics"
	ops_exported "$OPS_TMP/all.metrics" >"$OPS_TMP/all.names"
	ops_exprs "$1" "$2" >"$OPS_TMP/exprs"
	[ -s "$OPS_TMP/exprs" ] || ops_fail "no PromQL expressions found in $1 and $2"
	while read -r line; do
		e=$(printf '%s' "$line" | jq -r .)
		names=$(ops_promql_metrics "$e")
		[ -n "$names" ] || ops_fail "no metric name found in: $e"
		for m in $names; do
			[ "$m" = up ] && continue
			owner=""
			for s in $OPS_SERVICES; do
				case "$m" in "${s}_"*) owner=$s ;; esac
			done
			if [ -n "$owner" ]; then
				if [ ! -x "$4/$owner" ]; then
					echo "SKIP: $m: $owner is not built"
				elif [ ! -e "$3/$owner.metrics" ]; then
					ops_fail "$m: $owner is built but its /metrics was not read"
				else
					ops_exported "$3/$owner.metrics" | grep -qx "$m" ||
						ops_fail "$m (in: $e) is not exported by $owner"
				fi
			else
				grep -qx "$m" "$OPS_TMP/all.names" ||
					ops_fail "$m (in: $e) is not exported by any service"
			fi
		done
	done <"$OPS_TMP/exprs"
	[ -z "$OPS_BAD" ]
}
