#!/bin/sh
# Installs the Debian packages the build, `make run` and `make test` need, when any is missing.
# Quiet when everything is already there; run as root or with sudo available.
set -eu

PACKAGES="
gcc libc6-dev make pkg-config git curl ca-certificates procps
librdkafka-dev libpq-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
libcmocka-dev clang-format libxml2-dev libstemmer-dev
postgresql kcat prometheus
docker-compose jq yq
python3 python3-aiosmtpd libssl-dev
clang-14 libclang-rt-14-dev valgrind
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's packages try to start their own daemons (postgresql's main cluster, prometheus);
# this project runs its own instances on other ports, so keep the package scripts from
# starting services during the install.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod +x "$policy"
	created_policy=1
fi
cleanup() { [ -n "$created_policy" ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
