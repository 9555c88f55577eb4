#!/usr/bin/env bash
# Install the programs the sandbox runs (Debian packages). Idempotent: does nothing when they are present.
# As root it uses apt-get; with password-less sudo it uses sudo; otherwise it names the commands to run.
set -euo pipefail

# The sandbox's packages; apt.txt (what Binder installs) lists exactly these (tests/integration/test_binder_replay.py).
APT_PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter prometheus-pushgateway git postgresql-15 pgbouncer redis-server nodejs)
BINARIES=(prometheus promtool prometheus-alertmanager amtool prometheus-node-exporter prometheus-pushgateway git psql pgbouncer redis-server node)
# node runs Part 3's checkout app (Express + DogStatsD); `make tools` installs its npm packages into the cache.
# PostgreSQL's server programs are not on PATH (Debian keeps them per major version); Part 8's sandbox service runs
# them directly as child processes. The system cluster the package may create is never started or touched.
PG_SERVER=/usr/lib/postgresql/15/bin/postgres
# Only for the test suite (tests/integration/test_browser.py renders the HTML exports in headless Chromium;
# tests/integration/test_jupyterlab.py drives a real JupyterLab in it through Selenium and chromedriver); not on
# Binder, and never fatal when it cannot be installed. Debian names: `chromium` (the browser, /usr/bin/chromium)
# and `chromium-driver` (/usr/bin/chromedriver, the same Chromium build's WebDriver). COURSE_SKIP_BROWSER=1 leaves
# them out.
TEST_PACKAGES=(chromium chromium-driver)
TEST_BINARIES=(chromium chromedriver)

missing=()
for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
[ -x "$PG_SERVER" ] || missing+=("$PG_SERVER")
missing_test=()
if [ "${COURSE_SKIP_BROWSER:-}" != "1" ]; then
  for b in "${TEST_BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || missing_test+=("$b"); done
fi
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_test[@]} -eq 0 ]; then
  echo "system: sandbox programs present (${BINARIES[*]})"
  exit 0
fi
echo "system: missing programs: ${missing[*]} ${missing_test[*]}"
# Sandbox packages are required; the browser is optional (its tests skip without it).
required=${#missing[@]}
if [ ${#missing_test[@]} -gt 0 ]; then APT_PACKAGES+=("${TEST_PACKAGES[@]}"); fi
fail() { if [ "$required" -gt 0 ]; then exit 1; fi; echo "system: (only the browser for tests is missing; continuing)" >&2; exit 0; }

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system: apt-get is not available on this machine. Install the equivalents yourself, e.g. on macOS:" >&2
  echo "    brew install prometheus alertmanager node_exporter prometheus-pushgateway git" >&2
  echo "  (Homebrew names the binaries alertmanager/node_exporter/pushgateway: link them as" >&2
  echo "   prometheus-alertmanager, prometheus-node-exporter, prometheus-pushgateway on your PATH)" >&2
  fail
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "system: not root and no password-less sudo. Run this once, then try again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}" >&2
    fail
  fi
fi

# Never let the packages' init scripts start system-wide daemons: the sandbox starts its own on 127.0.0.1.
cleanup_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  cleanup_policy=1
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || fail
$SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null || fail
[ -n "$cleanup_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
echo "system: installed ${APT_PACKAGES[*]} in $(( $(date +%s) - start )) s"
