#!/usr/bin/env bash
# A throwaway S3-compatible store on loopback: single-node Ceph (mon + memstore OSD) + RADOS Gateway.
#
# Why Ceph and not an npm emulator: Lance commits a dataset version by PUTting its manifest with
# `If-None-Match: *` and relies on a 412 when that version exists. RGW (like AWS S3, R2, MinIO)
# honours it; s3rver & co. ignore it and silently lose concurrent appends.
#
#   scripts/s3-local.sh install            # root, once per machine: apt packages (~15-25 s)
#   eval "$(scripts/s3-local.sh start)"    # ~3 s; exports S3_ENDPOINT AWS_* S3_BUCKET CEPH_DIR
#   scripts/s3-local.sh status             # exit 0 when the gateway answers
#   scripts/s3-local.sh env                # print the export lines of the running cluster again
#   scripts/s3-local.sh stop               # SIGKILL (~1 s); GRACEFUL=1 stops daemons one by one (~6 s)
#
# Logs go to stderr, only `export` lines to stdout. State lives in $S3_LOCAL_STATE (default
# /tmp/s3-local); memstore keeps objects in RAM, so a stopped cluster is gone for good.
#
# Knobs: S3_LOCAL_STATE, MON_PORT (3300), RGW_PORT (7480; keep it outside 6800-7300, the OSD
# ports), OSD_OBJECTSTORE (memstore|bluestore), MEMSTORE_BYTES, S3_BUCKET (lance-test),
# S3_LOCAL_ACCESS_KEY / S3_LOCAL_SECRET_KEY (deliberately not AWS_*: real credentials that
# happen to be in the environment must not end up in a world-readable /tmp file), KEEP=1 on stop.
set -euo pipefail

STATE=${S3_LOCAL_STATE:-/tmp/s3-local}
CURRENT=$STATE/current
MON_PORT=${MON_PORT:-3300}
RGW_PORT=${RGW_PORT:-7480}
OSD_OBJECTSTORE=${OSD_OBJECTSTORE:-memstore}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-4294967296}
ACCESS_KEY=${S3_LOCAL_ACCESS_KEY:-TESTACCESSKEY0000001}
SECRET_KEY=${S3_LOCAL_SECRET_KEY:-testsecretkey00000000000000000000000000001}
BUCKET=${S3_BUCKET:-lance-test}
REGION=us-east-1

T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[s3-local %d.%03ds] %s\n' $((ms/1000)) $((ms%1000)) "$*" >&2; }

cmd_install() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then
    log "ceph already installed ($(radosgw --version 2>/dev/null | awk '{print $3}'))"; return 0
  fi
  [ "$(id -u)" = 0 ] || { log "install needs root (apt-get)"; exit 1; }
  log "installing ceph-mon ceph-osd radosgw"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2
  log "installed ($(radosgw --version | awk '{print $3}'))"
}

gateway_up() { curl -sf -o /dev/null --max-time 2 "$1/"; }

# export lines of the cluster in $1, if its gateway answers
print_env_if_up() {
  local d=$1
  [ -f "$d/env" ] || return 1
  local endpoint; endpoint=$(sed -n 's/^export S3_ENDPOINT=//p' "$d/env")
  gateway_up "$endpoint" || return 1
  cat "$d/env"
}

cmd_start() {
  command -v radosgw >/dev/null || { log "radosgw not found: run '$0 install' first (as root)"; exit 1; }
  mkdir -p "$STATE"
  if [ -e "$CURRENT" ] && print_env_if_up "$(readlink -f "$CURRENT")"; then
    log "already running at $(readlink -f "$CURRENT")"; return 0
  fi
  for port in "$MON_PORT" "$RGW_PORT"; do   # fail fast instead of ceph's 3x5 s bind retries
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      log "127.0.0.1:$port already in use (set MON_PORT/RGW_PORT, or '$0 stop' a stale cluster)"; exit 1
    fi
  done

  local D; D=$(mktemp -d "$STATE/cluster.XXXXXX")
  mkdir -p "$D"/{run,log,mon/a,osd/0,rgw}
  local CONF=$D/ceph.conf FSID; FSID=$(uuidgen)
  export CEPH_CONF=$CONF CEPH_ARGS="--conf $CONF"
  die() {
    log "ERROR: $*"
    for f in "$D"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }; done
    KEEP=1 stop_cluster "$D" || true   # kill what we started, keep the logs to read
    exit 1
  }

  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = 6800
ms bind port max = 7300
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
log to stderr = false
err to stderr = true
crash dir = $D/crash
# one OSD: single replica, few PGs
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# small machines (CI has 2 cores)
osd op num shards = 1
osd op num threads per shard = 2
ms async op threads = 2
[mon]
mon data = $D/mon/\$id
# otherwise each mon command (pool create, crush update...) waits ~1 s for paxos
paxos propose interval = 0.05
paxos min wait = 0.01
mon lease = 5
mon cluster log file = $D/log/cluster.log
mon data avail warn = 1
mon data avail crit = 0
[osd]
osd data = $D/osd/\$id
keyring = $D/osd/\$id/keyring
osd objectstore = $OSD_OBJECTSTORE
memstore device bytes = $MEMSTORE_BYTES
memstore page set = false
# bluestore only: a sparse file <osd data>/block
bluestore block create = true
bluestore block size = 10737418240
bluestore block db create = false
bluestore block wal create = false
osd memory target = 536870912
bluestore cache autotune = false
bluestore cache size = 134217728
osd max object name len = 460
osd max object namespace len = 64
osd heartbeat grace = 60
[client.rgw.a]
# tcp_nodelay: otherwise Nagle + delayed ACK add ~40 ms to small GETs on reused (keep-alive) connections
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $D/rgw
rgw thread pool size = 32
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw enable ops log = false
# Deleted objects' space comes back within minutes: with the defaults (a 2 h wait, an hourly pass) a day's test
# runs and benchmarks filled the in-memory store, and a full OSD blocks every write without an error.
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw lc debug interval = -1
log file = $D/log/rgw.log
EOF

  log "cluster dir $D"
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$D/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null

  monmaptool --create --clobber --fsid "$FSID" --enable-all-features \
    --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >&2 || die "mon mkfs"
  ceph-mon -i a >&2 || die "mon start"
  local ok=
  for _ in $(seq 1 60); do ceph --connect-timeout 5 mon stat >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
  [ -n "$ok" ] || die "mon not reachable"
  log "mon up"

  local OSD_UUID OSD_KEY OSD_ID; OSD_UUID=$(uuidgen); OSD_KEY=$(ceph-authtool --gen-print-key)
  printf '{"cephx_secret": "%s"}' "$OSD_KEY" >"$D/osd-secret.json"
  OSD_ID=$(ceph osd new "$OSD_UUID" -i "$D/osd-secret.json" 2>>"$D/log/ceph-cli.err") || die "osd new"
  [ "$OSD_ID" = 0 ] || die "unexpected osd id $OSD_ID"
  ceph-authtool --create-keyring "$D/osd/0/keyring" --name osd.0 --add-key "$OSD_KEY" >/dev/null
  ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" --key "$OSD_KEY" >"$D/log/osd-mkfs.out" 2>&1 || die "osd mkfs ($OSD_OBJECTSTORE)"
  ceph-osd -i 0 >&2 || die "osd start"
  # no ceph-mgr here, so `ceph pg stat`/`ceph df` would hang: poll the osd map instead
  ok=
  for _ in $(seq 1 120); do ceph osd dump 2>/dev/null | grep -q '^osd.0 up' && { ok=1; break; }; sleep 0.5; done
  [ -n "$ok" ] || die "osd.0 did not come up"
  log "osd.0 up ($OSD_OBJECTSTORE)"

  ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' >>"$D/keyring" 2>>"$D/log/ceph-cli.err"
  radosgw -n client.rgw.a >&2 || die "radosgw start"
  local endpoint=http://127.0.0.1:$RGW_PORT
  ok=
  for _ in $(seq 1 240); do gateway_up "$endpoint" && { ok=1; break; }; sleep 0.25; done
  [ -n "$ok" ] || die "rgw not answering on $RGW_PORT"
  log "rgw up on $endpoint"

  radosgw-admin user create --uid=test --display-name="Test User" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$D/user.json" 2>>"$D/log/radosgw-admin.err" \
    || die "radosgw-admin user create"
  # curl's --aws-sigv4 does not send x-amz-content-sha256; RGW then assumes UNSIGNED-PAYLOAD while
  # curl signed sha256("") -> SignatureDoesNotMatch. Sending the header explicitly fixes it.
  local code
  code=$(curl -s -o "$D/bucket.out" -w '%{http_code}' -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" "$endpoint/$BUCKET")
  [ "$code" = 200 ] || die "create bucket: HTTP $code $(cat "$D/bucket.out")"
  log "user + bucket '$BUCKET' created"

  cat >"$D/env" <<EOF
export S3_ENDPOINT=$endpoint
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export S3_BUCKET=$BUCKET
export CEPH_DIR=$D
EOF
  ln -sfn "$D" "$CURRENT"
  cat "$D/env"
  log "ready"
}

# pid of a daemon of cluster $1, or nothing; checks the pid still runs a ceph daemon so that a
# recycled pid of some unrelated process is never signalled
daemon_pid() {
  local pf=$1/run/$2.pid pid
  [ -f "$pf" ] || return 0
  pid=$(cat "$pf"); rm -f "$pf"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE '(^|/)(ceph-mon|ceph-osd|radosgw) ' && echo "$pid"
  return 0
}

wait_gone() { local pid; for pid in "$@"; do for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; done; }

# SIGTERM, wait up to 5 s, then SIGKILL
term_wait() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait_gone "$@"
  local pid; for pid in "$@"; do kill -0 "$pid" 2>/dev/null && { log "pid $pid still alive, SIGKILL"; kill -KILL "$pid"; }; done
  return 0
}

stop_cluster() {
  local D=$1
  if [ "${GRACEFUL:-0}" = 1 ]; then
    # one at a time: radosgw hangs in shutdown if the OSD goes away under it
    term_wait $(daemon_pid "$D" client.rgw.a)
    term_wait $(daemon_pid "$D" osd.0)
    term_wait $(daemon_pid "$D" mon.a)
  else
    # memstore holds nothing worth flushing
    local pids; pids="$(daemon_pid "$D" client.rgw.a) $(daemon_pid "$D" osd.0) $(daemon_pid "$D" mon.a)"
    if [ -n "${pids// /}" ]; then kill -KILL $pids 2>/dev/null || true; wait_gone $pids; fi
  fi
  if [ "${KEEP:-0}" != 1 ]; then
    [ "$(readlink -f "$CURRENT" 2>/dev/null)" = "$D" ] && rm -f "$CURRENT"
    rm -rf "$D"
  fi
}

# cluster dir: $1, else $CEPH_DIR, else the current link
cluster_dir() { readlink -f "${1:-${CEPH_DIR:-$CURRENT}}" 2>/dev/null || true; }

cmd_stop() {
  local D; D=$(cluster_dir "${1:-}")
  if [ -z "$D" ] || [ ! -d "$D/run" ]; then log "no cluster at ${1:-${CEPH_DIR:-$CURRENT}}"; return 0; fi
  stop_cluster "$D"
  log "stopped $D"
}

cmd_status() {
  local D; D=$(cluster_dir "${1:-}")
  if [ -n "$D" ] && print_env_if_up "$D" >/dev/null; then
    log "running: $D"; sed -n 's/^export S3_ENDPOINT=/endpoint /p' "$D/env" >&2; return 0
  fi
  log "not running"; return 1
}

cmd_env() {
  local D; D=$(cluster_dir "${1:-}")
  [ -n "$D" ] && print_env_if_up "$D" || { log "not running"; return 1; }
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  *) echo "usage: $0 install|start|stop [CEPH_DIR]|status|env" >&2; exit 2 ;;
esac
