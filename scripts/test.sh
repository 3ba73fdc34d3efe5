#!/bin/sh
# The README's second command: installs whatever is missing on a fresh machine (the pinned Deno
# from npm; as root, the Debian packages the tests use as oracles and peers), then runs the whole
# test suite and ends with a plain "N passed, N failed, N skipped" line. .ci/run calls exactly this.
set -u
here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$here" || exit 1
export DENO_NO_UPDATE_CHECK=1 RUST_BACKTRACE=0

if [ ! -x node_modules/.bin/deno ]; then
  # `npm install --no-save` installs exactly what package-lock.json pins without rewriting it;
  # npm 11's `npm ci` rejects this lock (it wants the other platforms' optional Deno binaries).
  echo "== installing the pinned Deno runtime (npm)"
  npm install --no-save --no-audit --no-fund --loglevel=error || { echo "npm install failed"; exit 1; }
fi
deno=node_modules/.bin/deno

# System packages: libpcap for capture, tshark/tcpdump/tcpflow/smcroute as oracles and peers,
# chromium for the web view, iproute2 for network namespaces, gcc for struct-layout checks.
pkgs="libpcap0.8 libpcap-dev tshark tcpdump tcpflow smcroute chromium iproute2 gcc libc6-dev hyperfine tmux"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    for try in 1 2 3 4 5; do
      apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 && break
      echo "apt-get failed (try $try), retrying in 5 s (the dpkg lock may be held)"; sleep 5
    done
  else
    echo "== not root: skipping Debian packages ($missing); tests that need them will say SKIPPED"
  fi
fi

echo "== caching npm dependencies"
$deno install --frozen >/dev/null 2>&1 || $deno install || { echo "deno install failed"; exit 1; }

mkdir -p .tmp
junit=.tmp/junit.xml
rm -f "$junit"
echo "== deno test"
$deno test -A --no-prompt --junit-path="$junit" tests/ "$@"
rc=$?
if [ -f "$junit" ]; then
  total=$(grep -o '<testcase ' "$junit" | wc -l)
  failed=$(grep -c '<failure' "$junit")
  skipped=$(grep -c '<skipped' "$junit")
  passed=$((total - failed - skipped))
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "0 passed, 1 failed (deno test did not run: exit $rc)"
  [ "$rc" = 0 ] && rc=1
fi
exit $rc
