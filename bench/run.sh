#!/usr/bin/env bash
# `npm run bench`: install what the benchmark needs if it is missing (wrk and gunicorn from
# Debian, pm2 into bench/node_modules), build gunicorn-ts, then run bench/run.mjs.
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$bench")"

apt_updated=0
install_deb() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! $sudo apt-get install -y "$@" >/dev/null 2>&1; then
    if [ "$apt_updated" -eq 0 ]; then
      $sudo apt-get update >/dev/null
      apt_updated=1
    fi
    $sudo apt-get install -y "$@" >/dev/null
  fi
}

command -v wrk >/dev/null 2>&1 || { echo "bench: installing wrk" >&2; install_deb wrk; }
# Debian's gunicorn specifically: a pip-installed one on PATH may be another version
gunicorn_bin="${BENCH_GUNICORN:-/usr/bin/gunicorn}"
[ -x "$gunicorn_bin" ] || { echo "bench: installing gunicorn" >&2; install_deb gunicorn; }
if [ ! -x "$bench/node_modules/.bin/pm2-runtime" ]; then
  echo "bench: installing pm2 into bench/node_modules" >&2
  npm install --prefix "$bench" --no-audit --no-fund --loglevel=error >/dev/null
fi

if [ "${BENCH_NO_BUILD:-0}" != "1" ]; then
  # a failed build is not fatal: the gunicorn-ts rows then say "not available"
  (cd "$repo" && npx tsc -b tsconfig.json) || echo "bench: build failed; gunicorn-ts rows may be unavailable" >&2
fi

exec node "$bench/run.mjs"
