#!/usr/bin/env bash
# Makes `redis-server` available for the Redis world's tests (they start a throw-away server from PATH when
# WORKFLOW_REDIS_URL is not set). Installs Debian's redis-server package with apt-get when it is missing and we
# are root; otherwise says what to do and exits 0, so it never fails a build by itself.
set -uo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: $(redis-server --version | head -n1)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-redis: redis-server is not installed and this is not root; skipping. Install it with" \
    "'sudo apt-get install redis-server' (or Redis 7 another way), or set WORKFLOW_REDIS_URL to a running server."
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is not installed and apt-get is not available; skipping. Install Redis 7," \
    "or set WORKFLOW_REDIS_URL to a running server."
  exit 0
fi
echo "ensure-redis: installing Debian's redis-server"
export DEBIAN_FRONTEND=noninteractive
# The tests start their own server: keep the package's service from starting (there may be no init system).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
status=$?
[ "$created_policy" = 1 ] && rm -f "$policy"
if [ $status -ne 0 ] || ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: apt-get could not install redis-server (exit $status); the Redis tests need it or WORKFLOW_REDIS_URL."
  exit 0
fi
echo "ensure-redis: $(redis-server --version | head -n1)"
