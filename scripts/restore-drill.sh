#!/usr/bin/env bash
# Restore drill (docs/OPERATIONS.md, "Backups"): makes a small production-like database on a
# PostgreSQL server, backs it up the way operations do (pg_dump custom format + the secret key
# file), restores both into a fresh database, and checks that the restore is complete and
# usable: every table has the same number of rows, the migrations are current, a status
# looked up by IIN through the restored key is the same colour, and without the key nobody
# is found. Exits non-zero on any difference. Cleans up after itself.
#
# Usage: scripts/restore-drill.sh [ADMIN_URL]   (default postgres://postgres@127.0.0.1:5432/postgres)
#        ASHYQ_BIN=path/to/ashyq to use a built binary (default: target/release or target/debug).
set -euo pipefail

ADMIN_URL="${1:-${DRILL_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${ASHYQ_BIN:-}"
if [[ -z "$BIN" ]]; then
  for b in "$ROOT/target/release/ashyq" "$ROOT/target/debug/ashyq"; do
    [[ -x "$b" ]] && BIN="$b" && break
  done
fi
[[ -x "${BIN:-}" ]] || { echo "build the binary first (cargo build)"; exit 2; }

WORK="$(mktemp -d)"
SUFFIX="$(date +%s)_$$"
SRC_DB="ashyq_drill_src_$SUFFIX"
DST_DB="ashyq_drill_dst_$SUFFIX"
base="${ADMIN_URL%/*}"
SRC_URL="$base/$SRC_DB"
DST_URL="$base/$DST_DB"
IIN=900101300017
cleanup() {
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# 1. A database with data in it: migrations, a venue, PCR results (keyed hashes and sealed
#    values need the secret key).
step "source database $SRC_DB"
psql -q "$ADMIN_URL" -c "CREATE DATABASE $SRC_DB" >/dev/null
KEY="$("$BIN" keygen)"
export ASHYQ_SECRET_KEY="$KEY" ASHYQ_BOT_USERNAME=ashyq_drill_bot RUST_LOG=error
DATABASE_URL="$SRC_URL" "$BIN" migrate >/dev/null
DATABASE_URL="$SRC_URL" "$BIN" venue add --name "Drill cafe" --bin 210540012341 \
  --address "Abai 1" --region Almaty --category ordinary >/dev/null
printf 'iin,taken_at,result_at,result,lab,external_id\n%s,%s,%s,positive,Drill lab,drill-1\n' \
  "$IIN" "$(date -u -d '-2 days' +%Y-%m-%dT09:00:00Z)" "$(date -u -d '-1 day' +%Y-%m-%dT09:00:00Z)" \
  > "$WORK/pcr.csv"
DATABASE_URL="$SRC_URL" "$BIN" import pcr "$WORK/pcr.csv" >/dev/null 2>&1
before="$(DATABASE_URL="$SRC_URL" "$BIN" status --iin "$IIN")"
colour_before="$(printf '%s' "$before" | sed -n 's/.*"colour":"\([a-z]*\)".*/\1/p')"
[[ "$colour_before" == red ]] || { echo "FAIL: source status is not red: $before"; exit 1; }

# 2. The backup: the database (custom format, consistent snapshot) and the key, apart.
step "backup: pg_dump -Fc and the key file"
t0=$(date +%s.%N)
pg_dump -Fc -f "$WORK/ashyq.dump" "$SRC_URL"
umask 077
printf '%s\n' "$KEY" > "$WORK/ashyq.key"
t1=$(date +%s.%N)
unset ASHYQ_SECRET_KEY

# 3. The restore into an empty database, with the key from the backup.
step "restore into $DST_DB"
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DST_DB" >/dev/null
pg_restore --no-owner --exit-on-error -d "$DST_URL" "$WORK/ashyq.dump"
t2=$(date +%s.%N)
export ASHYQ_SECRET_KEY="$(cat "$WORK/ashyq.key")"

# 4. Checks.
fail=0
tables="$(psql -At "$SRC_URL" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")"
n=0
for t in $tables; do
  a="$(psql -At "$SRC_URL" -c "SELECT COUNT(*) FROM \"$t\"")"
  b="$(psql -At "$DST_URL" -c "SELECT COUNT(*) FROM \"$t\"")"
  n=$((n + 1))
  if [[ "$a" != "$b" ]]; then echo "FAIL: $t has $a rows in the source, $b restored"; fail=1; fi
done
step "row counts: $n tables compared"
DATABASE_URL="$DST_URL" "$BIN" migrate >/dev/null
pending="$(psql -At "$DST_URL" -c "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = false")"
[[ "$pending" == 0 ]] || { echo "FAIL: failed migrations in the restore"; fail=1; }
after="$(DATABASE_URL="$DST_URL" "$BIN" status --iin "$IIN")"
colour_after="$(printf '%s' "$after" | sed -n 's/.*"colour":"\([a-z]*\)".*/\1/p')"
if [[ "$colour_after" != "$colour_before" ]]; then
  echo "FAIL: status after restore $after, before $before"; fail=1
fi
step "status through the restored key: $colour_after (was $colour_before)"
# Without the key the data is unreadable: another key finds no record for the IIN.
other="$(ASHYQ_SECRET_KEY="$("$BIN" keygen)" DATABASE_URL="$DST_URL" "$BIN" status --iin "$IIN")"
colour_other="$(printf '%s' "$other" | sed -n 's/.*"colour":"\([a-z]*\)".*/\1/p')"
if [[ "$colour_other" == "$colour_before" ]]; then
  echo "FAIL: a wrong key still found the record: $other"; fail=1
fi
step "with another key: $colour_other (the key is part of the backup)"

printf 'dump %s bytes, backup %.2f s, restore %.2f s\n' "$(stat -c %s "$WORK/ashyq.dump")" \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
if [[ $fail == 0 ]]; then echo "RESTORE DRILL PASSED"; else echo "RESTORE DRILL FAILED"; exit 1; fi
