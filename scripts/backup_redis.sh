#!/usr/bin/env bash
# Backs up Robot Runner's Redis, and restores such a backup.
#
#   scripts/backup_redis.sh [--url URL] [--dir DIR] [--keep-days N]
#     A consistent snapshot taken from the running server with `redis-cli --rdb` (works with
#     AOF on, embedded or system Redis, unix socket or TCP, without access to Redis's files),
#     checked, written to DIR/dump_<date>_<time>.rdb; snapshots older than N days are removed.
#     URL: unix:///path/redis.sock or redis://host:port/db; default: the embedded Redis,
#     unix:///opt/robotrunner/data/redis/redis.sock (run as the robotrunner user).
#     Password: REDISCLI_AUTH in the environment (redis-cli reads it), not on the command line.
#
#   scripts/backup_redis.sh --restore FILE --redis-dir DIR
#     With Redis stopped (embedded: stop robotrunner; system: stop redis-server), makes DIR
#     hold FILE's data: the current AOF is moved aside (appendonlydir.before-restore-<date>),
#     FILE is loaded by a temporary redis-server that writes a new AOF from it. Copying
#     dump.rdb in place is not enough: with appendonly on, Redis ignores dump.rdb and starts
#     from the AOF (or from nothing). Run it as the user that owns DIR.
set -euo pipefail

url=unix:///opt/robotrunner/data/redis/redis.sock
dir=/backup/robotrunner/redis
keep=7
restore=
redis_dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep-days) keep=$2; shift 2 ;;
    --restore) restore=$2; shift 2 ;;
    --redis-dir) redis_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "backup_redis: unexpected argument $1" >&2; exit 64 ;;
  esac
done

is_rdb() { [ "$(head -c 5 "$1")" = REDIS ]; } # an RDB file starts with "REDIS" and its version

restore_into() {
  local file=$1 target=$2 sock
  [ -d "$target" ] || { echo "backup_redis: --redis-dir $target is not a directory" >&2; exit 64; }
  is_rdb "$file" || { echo "backup_redis: $file is not an RDB snapshot" >&2; exit 1; }
  sock="$target/restore.sock"
  if [ -S "$target/redis.sock" ] && redis-cli -s "$target/redis.sock" ping >/dev/null 2>&1; then
    echo "backup_redis: a Redis is running on $target; stop it (systemctl stop robotrunner) first" >&2
    exit 1
  fi
  if [ -e "$target/appendonlydir" ]; then
    mv "$target/appendonlydir" "$target/appendonlydir.before-restore-$(date +%Y%m%d_%H%M%S)"
  fi
  cp "$file" "$target/restore.rdb"
  redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$target" \
    --dbfilename restore.rdb --appendonly no --save '' --daemonize no --logfile "$target/restore.log" &
  restore_pid=$!
  restore_files=("$target/restore.rdb" "$sock")
  trap 'kill "$restore_pid" 2>/dev/null || true; rm -f "${restore_files[@]}"' EXIT
  for _ in $(seq 100); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
  # Turning AOF on writes a new AOF from the loaded data; wait until that rewrite is done.
  redis-cli -s "$sock" config set appendonly yes >/dev/null
  for _ in $(seq 600); do
    info=$(redis-cli -s "$sock" info persistence | tr -d '\r')
    case "$info" in *aof_rewrite_in_progress:0*aof_rewrite_scheduled:0*) [ -d "$target/appendonlydir" ] && break ;; esac
    sleep 0.1
  done
  keys=$(redis-cli -s "$sock" dbsize)
  redis-cli -s "$sock" shutdown >/dev/null 2>&1 || true
  wait "$restore_pid" || true
  rm -f "${restore_files[@]}"
  echo "backup_redis: restored $file into $target ($keys keys in db 0); start Redis (robotrunner) again"
}

if [ -n "$restore" ]; then
  [ -n "$redis_dir" ] || { echo "backup_redis: --restore needs --redis-dir" >&2; exit 64; }
  restore_into "$restore" "$redis_dir"
  exit 0
fi

case "$url" in
  unix://*) target=(-s "${url#unix://}") ;;
  redis://*|rediss://*) target=(-u "$url") ;;
  *) echo "backup_redis: --url must be unix:// or redis://" >&2; exit 64 ;;
esac

umask 077
mkdir -p "$dir"
file="$dir/dump_$(date +%Y%m%d_%H%M%S).rdb"
tmp="$file.partial"
trap 'rm -f "$tmp"' EXIT
redis-cli "${target[@]}" --no-auth-warning --rdb "$tmp" >/dev/null
is_rdb "$tmp" || { echo "backup_redis: $tmp is not an RDB snapshot" >&2; exit 1; }
mv "$tmp" "$file"
find "$dir" -name 'dump_*.rdb' -mtime "+$keep" -delete
echo "backup_redis: wrote $file ($(stat -c %s "$file") bytes)"
