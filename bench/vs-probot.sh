#!/usr/bin/env bash
# Ingress side by side: orcoursetrion (every 202 durable) against Probot
# 14.3.2 running a minimal slash-command app (it splits the comment's lines
# starting with `/`, answers, and stores nothing). Both get the same signed
# 13 KB `issue_comment` delivery from wrk, 16 connections, a unique
# X-GitHub-Delivery per request (bench/wrk-delivery.lua), alternating, on
# the same machine. Prints each round, then the ratio of deliveries/s, both
# p99s and both RSS figures, our bytes written per delivery, and whether
# every 2xx of ours is on disk.
#
#   cargo build --release && bench/vs-probot.sh
#   DURATION=60 ROUNDS=1 bench/vs-probot.sh      # one sustained minute each
#
# OURS_REQUESTS_REPOS=nobody/none makes the delivery imply no job (a comment
# outside the requests repos), which is what loadgen sends.
#
# WRK_IDS=github sends delivery ids shaped like GitHub's (version-1 UUIDs,
# which sort in the order they were made); by default they sort in no
# useful order, which is harder on the store's id index.
#
# ORC_DURABILITY=crash runs ours durable against kill -9 but not a power cut
# (no fdatasync per commit); the default, power-loss, syncs every commit.
#
# Installs wrk (apt) and Probot (npm, into $PROBOT_DIR) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
PROBOT_DIR=${PROBOT_DIR:-/tmp/orc-probot-14.3.2}
BIN=${BIN:-$root/target/release/orcoursetrion}
SECRET="bench-webhook-secret-0123456789"

[ -x "$BIN" ] || { echo "build it first: cargo build --release" >&2; exit 2; }
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
if [ ! -f "$PROBOT_DIR/node_modules/probot/package.json" ]; then
  mkdir -p "$PROBOT_DIR"
  (cd "$PROBOT_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund probot@14.3.2 >/dev/null)
fi

work=$(mktemp -d /tmp/vs-probot.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

key="$root/tests/fixtures/test-app-key.pem"
python3 - "$root/tests/fixtures/webhooks/issue_comment_created.json" "$work" "$SECRET" <<'PY'
import hashlib, hmac, json, sys
fixture, work, secret = sys.argv[1:]
d = json.load(open(fixture))
d["comment"]["body"] = "/help"
body = json.dumps(d).encode()
open(f"{work}/body.json", "wb").write(body)
sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
open(f"{work}/sig", "w").write(sig)
print(f"delivery: {len(body)} bytes, comment /help, repo {d['repository']['full_name']}")
PY

cat > "$work/app.mjs" <<'JS'
// The minimal slash-command app: split the comment's command lines, answer.
export default (app) => {
  app.on("issue_comment", async (context) => {
    const body = context.payload.comment?.body ?? "";
    const commands = body.split(/\r?\n/).filter((l) => l.startsWith("/"));
    context.log.debug({ commands }, "commands");
  });
};
JS

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }
kib() { awk -v f="$2:" '$1==f {print $2}' "/proc/$1/status"; }
wbytes() { awk '$1=="write_bytes:" {print $2}' "/proc/$1/io"; }

ours_port=$(free_port)
(cd "$work" && exec env -i PATH="$PATH" PORT="$ours_port" ORC_APP_ID=4242 ORC_APP_PRIVATE_KEY_PATH="$key" \
  ORC_WEBHOOK_SECRET="$SECRET" ORC_REQUESTS_REPOS="${OURS_REQUESTS_REPOS:-mitx-staff/course-requests}" \
  ORC_GH_API_URL=http://127.0.0.1:9 ORC_DATABASE_URL="sqlite://$work/orc.db" \
  ORC_REDELIVER_EVERY=off ORC_LOG_FORMAT=json RUST_LOG=warn ORC_DURABILITY="${ORC_DURABILITY:-power-loss}" \
  ${TOKIO_WORKER_THREADS:+TOKIO_WORKER_THREADS="$TOKIO_WORKER_THREADS"} \
  "$BIN" serve >"$work/ours.log" 2>&1) &
sleep 0.2
ours=$(pgrep -n -f "$BIN serve")
pids+=("$ours")
wait_up "http://127.0.0.1:$ours_port/readyz"

probot_port=$(free_port)
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" APP_ID=4242 PRIVATE_KEY="$(cat "$key")" \
  WEBHOOK_SECRET="$SECRET" PORT="$probot_port" LOG_LEVEL=warn NODE_ENV=production \
  node "$PROBOT_DIR/node_modules/probot/bin/probot.js" run "$work/app.mjs" >"$work/probot.log" 2>&1) &
sleep 0.5
probot=$(pgrep -n -f "probot.js run")
pids+=("$probot")
wait_up "http://127.0.0.1:$probot_port/"

export WRK_BODY="$work/body.json" WRK_SIG; WRK_SIG=$(cat "$work/sig")
run() { # name port path pid
  local out
  out=$(WRK_PATH="$3" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$root/bench/wrk-delivery.lua" "http://127.0.0.1:$2$3" | grep '^RESULT')
  echo "$1 $out rss_kib=$(kib "$4" VmRSS) hwm_kib=$(kib "$4" VmHWM)"
}

echo "wrk -t$THREADS -c$CONNS, $ROUNDS rounds of ${DURATION}s each, alternating; $(nproc) cores; delivery ids: ${WRK_IDS:-unordered}; ours durable against: ${ORC_DURABILITY:-power-loss}"
echo "idle RSS: ours $(kib "$ours" VmRSS) KiB, probot $(kib "$probot" VmRSS) KiB"
: >"$work/results"
ours_2xx=0
w0=$(wbytes "$ours")
for r in $(seq 1 "$ROUNDS"); do
  line=$(run ours "$ours_port" /webhook "$ours"); echo "round $r $line" | tee -a "$work/results"
  n=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line"); bad=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  ours_2xx=$((ours_2xx + n - bad))
  line=$(run probot "$probot_port" /api/github/webhooks "$probot"); echo "round $r $line" | tee -a "$work/results"
done
sleep 1
w1=$(wbytes "$ours")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from deliveries').fetchone()[0])" "$work/orc.db")

python3 - "$work/results" "$ours_2xx" "$stored" "$w0" "$w1" <<'PY'
import re, statistics, sys
path, acked, stored, w0, w1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = {"ours": [], "probot": []}
for line in open(path):
    name = line.split()[2]
    rows[name].append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)})
med = lambda name, k: statistics.median(r[k] for r in rows[name])
print()
for name in ("ours", "probot"):
    print(f"{name:7} deliveries/s median {med(name,'rps'):8.0f}   p99 median {med(name,'p99_ms'):6.2f} ms   "
          f"p99.9 median {med(name,'p999_ms'):6.2f} ms   peak RSS {max(r['hwm_kib'] for r in rows[name])/1024:5.1f} MB")
print(f"ratio ours/probot deliveries/s: {med('ours','rps')/med('probot','rps'):.2f}")
print(f"ours: {(w1-w0)/max(acked,1):.0f} bytes written per delivery (/proc/PID/io write_bytes)")
print(f"ours: on disk = acknowledged: {stored} stored, {acked} answered 2xx -> {'OK' if stored >= acked else 'LOST ' + str(acked-stored)}")
PY
