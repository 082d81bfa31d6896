#!/usr/bin/env bash
# CI's benchmark smoke run: `pnpm bench --quick` with every peer whose server is
# reachable (ActionQueue alone when none is). Benchmarks are not tests: this exits
# non-zero only when a benchmark itself broke (an exception, a wrong count), never
# because a number is slow. Output is kept short: CI's last line is the test summary.
set -uo pipefail
cd "$(dirname "$0")/.."

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

systems="actionqueue,plainjob"
if reachable "${BENCH_REDIS_HOST:-127.0.0.1}" "${BENCH_REDIS_PORT:-6379}"; then systems="$systems,bullmq"; fi
if [ -n "${BENCH_PG_URL:-}" ] || reachable "${BENCH_PG_HOST:-127.0.0.1}" "${BENCH_PG_PORT:-5432}"; then systems="$systems,pgboss"; fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
pnpm --silent bench --quick --systems="$systems" >"$log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  grep -E '^(bench|  )' "$log" | tail -n 20
else
  tail -n 40 "$log"
  echo "bench: quick run broke (exit $status)"
fi
exit "$status"
