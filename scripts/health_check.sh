#!/usr/bin/env bash
# Health check of Robot Runner for cron or a monitoring agent, with the version 1 guide's exit
# codes: 0 OK, 2 CRITICAL (no answer, or not 200 from /health); with --ready also 1 WARNING
# when /ready answers 503 (degraded: Redis unreachable, a worker slot down or crash-looping).
#
#   scripts/health_check.sh [--url https://127.0.0.1:5001] [--cacert FILE]
#                           [--cert FILE --key FILE] [--ready] [--timeout SECONDS]
#
# --cacert verifies the server certificate (without it the check does not verify, as the old
#   -k did: it only asks whether the service answers).
# --cert/--key: a client certificate the runner's ca_cert accepts. /health and /ready need
#   none with client_auth "optional"; with "required" the TLS handshake needs one.
set -uo pipefail

url=https://127.0.0.1:5001
timeout=10
ready=0
tls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2%/}; shift 2 ;;
    --cacert) tls+=(--cacert "$2"); shift 2 ;;
    --cert) tls+=(--cert "$2"); shift 2 ;;
    --key) tls+=(--key "$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --ready) ready=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "UNKNOWN: unexpected argument $1" >&2; exit 3 ;;
  esac
done
case " ${tls[*]-} " in *" --cacert "*) ;; *) tls+=(-k) ;; esac

get() { # path -> prints "<http code> <body>"
  local body code
  body=$(curl -sS --max-time "$timeout" "${tls[@]}" -w '\n%{http_code}' "$url$1" 2>&1) || true
  code=${body##*$'\n'}
  printf '%s %s' "$code" "${body%$'\n'*}"
}

read -r code body <<<"$(get /health)"
if [ "$code" != 200 ]; then
  echo "CRITICAL: Robot Runner unhealthy (HTTP ${code:-000}): ${body:0:300}"
  exit 2
fi
if [ "$ready" = 1 ]; then
  read -r code body <<<"$(get /ready)"
  if [ "$code" = 503 ]; then
    echo "WARNING: Robot Runner degraded: ${body:0:300}"
    exit 1
  elif [ "$code" != 200 ]; then
    echo "CRITICAL: /ready answered HTTP ${code:-000}: ${body:0:300}"
    exit 2
  fi
fi
echo "OK: Robot Runner is healthy"
exit 0
