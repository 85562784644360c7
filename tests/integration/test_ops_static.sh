#!/bin/sh
# The deployment files of issue 9, checked without Docker (tests/ops/lib.sh has the checks):
# docker-compose 1.29 accepts docker-compose.yml and it has the required shape; every variable
# it (or the image) gives a service is one the service reads and every required one is set;
# the Dockerfile's package lists match what the Makefile links and what the binaries load, and
# the image is slim, non-root and health-checked;
# promtool accepts the Prometheus config and rules and the rules' unit tests pass; the Grafana
# dashboards are valid and use the provisioned datasource. Then each check is handed a broken
# copy and must fail on it, naming the problem, so a check that stopped checking shows here.
set -u
cd "$(dirname "$0")/../.."
OPS_ROOT=$(pwd)
: "${TEST_WORK_DIR:?run through tests/run.sh}"
: "${TEST_BIN_DIR:?run through tests/run.sh}"
OPS_TMP="$TEST_WORK_DIR/ops-static"
rm -rf "$OPS_TMP"
mkdir -p "$OPS_TMP"
BROKEN="$TEST_WORK_DIR/ops-broken"
rm -rf "$BROKEN"
mkdir -p "$BROKEN"
. tests/ops/lib.sh
BIN=$TEST_BIN_DIR
failed=0

for tool in docker-compose promtool jq yq readelf dpkg; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is not installed (make deps)"; exit 1; }
done

pass() {
	if "$@"; then
		echo "ok: $1"
	else
		echo "FAIL: $1 rejects the repository's files"
		failed=1
	fi
}

# must_fail WHAT EXPECTED CHECK ARGS...: the check fails and says EXPECTED.
must_fail() {
	what=$1 want=$2
	shift 2
	out=$("$@" 2>&1) && {
		echo "FAIL: $1 accepted $what"
		failed=1
		return
	}
	if printf '%s\n' "$out" | grep -qF -- "$want"; then
		echo "ok: $1 rejects $what"
	else
		printf '%s\n' "$out"
		echo "FAIL: $1 rejected $what without saying \"$want\""
		failed=1
	fi
}

# ---- the repository's files pass --------------------------------------------------------------
pass check_compose docker-compose.yml
pass check_env docker-compose.yml deploy/docker/Dockerfile "$BIN"
pass check_packages deploy/docker/Dockerfile Makefile "$BIN"
pass check_image deploy/docker/Dockerfile
pass check_prometheus deploy/prometheus/prometheus.yml tests/ops/alerts_test.yml
pass check_dashboards deploy/grafana/dashboards deploy/grafana/provisioning

# The PromQL reader finds the metric names, and only them.
names() { ops_promql_metrics "$1" | tr '\n' ' '; }
expect_names() {
	got=$(names "$1")
	[ "$got" = "$2" ] || { echo "FAIL: metric names of $1: got '$got', want '$2'"; failed=1; }
}
expect_names 'histogram_quantile(0.95, sum by (job, le) (rate(im_processing_seconds_bucket{job=~"a|b"}[5m])))' \
	'im_processing_seconds_bucket '
expect_names 'label_replace(sum(rate(a_total[15m])) - (sum(rate(b_total{job="x"}[15m])) + sum(rate(c:d[1m] offset 5m))) > 0.1, "topic", "messages.raw", "", "")' \
	'a_total b_total c:d '
expect_names 'x unless on (source) sum(y) by (source) > 1e3 or absent(up{job="collector"})' 'up x y '

# ---- broken copies fail -------------------------------------------------------------------------
# Compose: edits of the resolved file (docker-compose accepts its own output back).
docker-compose -f docker-compose.yml config >"$BROKEN/resolved.yml" 2>&1 || cat "$BROKEN/resolved.yml"
broken_compose() { yq -y "$1" "$BROKEN/resolved.yml" >"$BROKEN/compose.yml" && echo "$BROKEN/compose.yml"; }

{ echo "name: otklik"; cat docker-compose.yml; } >"$BROKEN/named.yml"
must_fail "a top-level name:" "docker-compose config rejects" check_compose "$BROKEN/named.yml"
must_fail "a port open to every interface" "collector publishes {\"published\":8081" \
	check_compose "$(broken_compose '.services.collector.ports = ["8081:8080"]')"
must_fail "state in a host directory" "mail mounts /srv/mail" \
	check_compose "$(broken_compose '.services.mail.volumes = ["/srv/mail:/data:rw"]')"
must_fail "state in a host directory (long syntax)" "mail mounts /srv/mail:/data:rw" \
	check_compose "$(broken_compose '.services.mail.volumes = [{"type": "bind", "source": "/srv/mail", "target": "/data"}]')"
must_fail "a service not waiting for PostgreSQL" "classifier does not wait" \
	check_compose "$(broken_compose 'del(.services.classifier.depends_on.postgres)')"
must_fail "a service without restart policy" "notifier has no restart policy" \
	check_compose "$(broken_compose 'del(.services.notifier.restart)')"
must_fail "a service running another binary" "assigner does not run the assigner binary" \
	check_compose "$(broken_compose '.services.assigner.command = ["collector"]')"
must_fail "a missing Prometheus" "no service prometheus" \
	check_compose "$(broken_compose 'del(.services.prometheus) | del(.services.grafana.depends_on)')"

# Environment: a variable the service does not read, a required one missing, a bad image ENV.
if [ -x "$BIN/collector" ]; then
	must_fail "a variable the collector does not read" "collector is given VK_TOKEN" \
		check_env "$(broken_compose '.services.collector.environment.VK_TOKEN = "x"')" \
		deploy/docker/Dockerfile "$BIN"
fi
if [ -x "$BIN/classifier" ]; then
	must_fail "a service without DATABASE_URL" "classifier requires DATABASE_URL" \
		check_env "$(broken_compose 'del(.services.classifier.environment.DATABASE_URL)')" \
		deploy/docker/Dockerfile "$BIN"
	must_fail "an empty DATABASE_URL" "classifier requires DATABASE_URL" \
		check_env "$(broken_compose '.services.classifier.environment.DATABASE_URL = ""')" \
		deploy/docker/Dockerfile "$BIN"
	sed 's/^    HTTP_PORT=8080$/    HTTP_PORT=8080 \\\n    HTTP_HOST=0.0.0.0/' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.env"
	must_fail "an image ENV no service reads" "classifier is given HTTP_HOST" \
		check_env docker-compose.yml "$BROKEN/Dockerfile.env" "$BIN"
fi

# Packages: one missing from each stage, one too many, a library the map does not know.
grep -v '^ libxml2 \\$' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.nolib"
must_fail "a runtime stage without libxml2" "the run stage lacks libxml2" \
	check_packages "$BROKEN/Dockerfile.nolib" Makefile "$BIN"
grep -v '^ libssl3 \\$' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.nossl"
if [ -x "$BIN/notifier" ]; then
	must_fail "a runtime stage without what a binary loads" "a built service loads a library of libssl3" \
		check_packages "$BROKEN/Dockerfile.nossl" Makefile "$BIN"
fi
grep -v '^ libpq-dev \\$' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.nodev"
must_fail "a build stage without libpq-dev" "the build stage lacks libpq-dev" \
	check_packages "$BROKEN/Dockerfile.nodev" Makefile "$BIN"
sed 's/^ libstemmer0d \\$/ libstemmer0d \\\n libyaml-0-2 \\/' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.extra"
must_fail "a runtime package nothing links" "installs libyaml-0-2, which the Makefile does not link" \
	check_packages "$BROKEN/Dockerfile.extra" Makefile "$BIN"
sed 's/^PKGS := \(.*\)$/PKGS := \1 zlib/' Makefile >"$BROKEN/Makefile"
must_fail "a Makefile linking a new library" "the Makefile links zlib" \
	check_packages deploy/docker/Dockerfile "$BROKEN/Makefile" "$BIN"

# Image: root, no health check, a compiler among the tools, the wrong base.
grep -v '^USER ' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.root"
must_fail "an image running as root" "runs as root" check_image "$BROKEN/Dockerfile.root"
sed 's|/healthz|/readyz|' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.health"
must_fail "an image without the /healthz check" "no HEALTHCHECK against /healthz" \
	check_image "$BROKEN/Dockerfile.health"
sed 's/^ curl \\$/ curl \\\n gcc \\/' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.gcc"
must_fail "a compiler in the runtime image" "installs the build tool gcc" \
	check_image "$BROKEN/Dockerfile.gcc"
sed 's/^    \$RUNTIME_PACKAGES \$TOOL_PACKAGES \\$/    $RUNTIME_PACKAGES $TOOL_PACKAGES gcc \\/' \
	deploy/docker/Dockerfile >"$BROKEN/Dockerfile.apt"
must_fail "a compiler installed beside the lists" "installs '\$RUNTIME_PACKAGES \$TOOL_PACKAGES gcc '" \
	check_image "$BROKEN/Dockerfile.apt"
sed 's/^FROM debian:bookworm-slim$/FROM debian:bookworm/' deploy/docker/Dockerfile >"$BROKEN/Dockerfile.fat"
must_fail "a runtime stage on the full image" "the last stage is not" \
	check_image "$BROKEN/Dockerfile.fat"

# Prometheus: broken syntax, a rule its tests no longer match, a lost scrape job, an alert
# without a test.
broken_prometheus() {
	rm -rf "$BROKEN/prometheus"
	cp -r deploy/prometheus "$BROKEN/prometheus"
	sed "s|^  - \.\./\.\./deploy/prometheus/alerts.yml|  - $BROKEN/prometheus/alerts.yml|" \
		tests/ops/alerts_test.yml >"$BROKEN/prometheus/alerts_test.yml"
}
broken_prometheus
sed -i 's/expr: collector_source_up == 0/expr: collector_source_up == == 0/' "$BROKEN/prometheus/alerts.yml"
must_fail "a rule that does not parse" "promtool check rules" \
	check_prometheus "$BROKEN/prometheus/prometheus.yml" "$BROKEN/prometheus/alerts_test.yml"
broken_prometheus
sed -i 's/max(assigner_incidents_overdue) > 10/max(assigner_incidents_overdue) > 100/' "$BROKEN/prometheus/alerts.yml"
must_fail "an overdue threshold its unit test does not expect" "promtool test rules" \
	check_prometheus "$BROKEN/prometheus/prometheus.yml" "$BROKEN/prometheus/alerts_test.yml"
broken_prometheus
yq -y 'del(.scrape_configs[] | select(.job_name == "notifier"))' deploy/prometheus/prometheus.yml \
	>"$BROKEN/prometheus/prometheus.yml"
must_fail "a config without the notifier's job" "has no scrape job notifier" \
	check_prometheus "$BROKEN/prometheus/prometheus.yml" "$BROKEN/prometheus/alerts_test.yml"
broken_prometheus
yq -y '.groups[0].rules += [{"alert": "OtklikUntested", "expr": "up == 2"}]' \
	deploy/prometheus/alerts.yml >"$BROKEN/prometheus/alerts.yml"
must_fail "an alert without a unit test" "alert OtklikUntested has no unit test" \
	check_prometheus "$BROKEN/prometheus/prometheus.yml" "$BROKEN/prometheus/alerts_test.yml"
broken_prometheus
sed 's/scrape_interval: 15s/scrape_interval: often/' deploy/prometheus/prometheus.yml \
	>"$BROKEN/prometheus/prometheus.yml"
must_fail "a config promtool rejects" "promtool check config" \
	check_prometheus "$BROKEN/prometheus/prometheus.yml" "$BROKEN/prometheus/alerts_test.yml"

# Grafana: invalid JSON, a foreign datasource, a panel without a query, overlapping panels, a
# uid used twice.
broken_dashboards() {
	rm -rf "$BROKEN/dashboards"
	cp -r deploy/grafana/dashboards "$BROKEN/dashboards"
}
broken_dashboards
head -c 2000 deploy/grafana/dashboards/otklik-overview.json >"$BROKEN/dashboards/otklik-overview.json"
must_fail "a truncated dashboard" "otklik-overview.json is not valid JSON" \
	check_dashboards "$BROKEN/dashboards" deploy/grafana/provisioning
broken_dashboards
jq '.panels[1].datasource.uid = "influx"' deploy/grafana/dashboards/otklik-overview.json \
	>"$BROKEN/dashboards/otklik-overview.json"
must_fail "a panel on another datasource" "datasource {\"type\":\"prometheus\",\"uid\":\"influx\"}" \
	check_dashboards "$BROKEN/dashboards" deploy/grafana/provisioning
broken_dashboards
jq '.panels[1].targets = []' deploy/grafana/dashboards/otklik-operations.json \
	>"$BROKEN/dashboards/otklik-operations.json"
must_fail "a panel without a query" "has no query" \
	check_dashboards "$BROKEN/dashboards" deploy/grafana/provisioning
broken_dashboards
jq '.panels[2].gridPos = .panels[1].gridPos' deploy/grafana/dashboards/otklik-overview.json \
	>"$BROKEN/dashboards/otklik-overview.json"
must_fail "panels on top of each other" "panel Messages received by source overlaps" \
	check_dashboards "$BROKEN/dashboards" deploy/grafana/provisioning
broken_dashboards
jq '.title = "copy"' deploy/grafana/dashboards/otklik-operations.json >"$BROKEN/dashboards/copy.json"
must_fail "a dashboard uid used twice" "dashboard uid used twice: otklik-operations" \
	check_dashboards "$BROKEN/dashboards" deploy/grafana/provisioning

[ "$failed" = 0 ] || exit 1
echo "ok: compose, environment, packages, Prometheus and dashboards checks pass, and fail when broken"
