#!/usr/bin/env bash
# A Zazu search over containers: one keras-tuner chief and two workers (docker/compose.yaml).
#   bash docker/cluster-demo.sh [--kill-worker] OUT_DIR
# Builds the image when missing (docker/build.sh; $ZAZU_IMAGE, default zazu:latest), runs a small
# search of the embedded classification data (tiny_cnn, 4 trials, 2 epochs), waits for the chief,
# stops the workers and checks the run folder OUT_DIR/run: the chief exited 0, every trial ended,
# and the completed trials name at least two tuner ids, one at least a container worker's.
# --kill-worker: once a container worker is in a trial, `docker kill` it, start it again (same
# KERASTUNER_TUNER_ID) and check that trial was rerun (or failed as worker_died) and none is lost.
# Leaves OUT_DIR/run (the run folder), OUT_DIR/.cache (the generated dataset) and
# OUT_DIR/cluster.log (every container's output). Exits non-zero with one FAIL line per problem.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
die() { echo "docker/cluster-demo.sh: $*" >&2; exit 1; }
usage() { sed -n '3,4p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

kill_worker=0
out=""
while [ $# -gt 0 ]; do
  case $1 in
    --kill-worker) kill_worker=1; shift ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "docker/cluster-demo.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
  esac
done
[ -n "$out" ] || usage

max_trials=4
epochs=2
# Trials of tiny_cnn take ~35 s on 2 shared cores; the budget only guards against a hung search.
search_args="--models tiny_cnn --max-trials $max_trials --epochs $epochs --time-budget 30"
timeout_s=${ZAZU_DEMO_TIMEOUT:-1500}   # the whole search, chief start to exit
kill_after_s=${ZAZU_KILL_AFTER:-3}     # seconds into a worker's training before it is killed

command -v docker >/dev/null || die "docker is not installed"
command -v docker-compose >/dev/null || die "docker-compose is not installed (Debian: apt-get install docker-compose)"
command -v python3 >/dev/null || die "python3 is needed on the host to read the trial records"
docker info >/dev/null 2>&1 || die "the Docker daemon is not running or not reachable"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# zazu search refuses a folder that holds a run; say so before starting anything
[ ! -e "$out/run" ] || die "$out/run exists already: give a new or empty OUT_DIR"

export ZAZU_IMAGE=${ZAZU_IMAGE:-zazu:latest}
if ! docker image inspect "$ZAZU_IMAGE" >/dev/null 2>&1; then
  [ -f "$repo/docker/build.sh" ] || die "no image $ZAZU_IMAGE and no docker/build.sh to build it"
  echo "Image $ZAZU_IMAGE missing: building it with docker/build.sh"
  bash "$repo/docker/build.sh" --tag "$ZAZU_IMAGE"
fi

# What compose.yaml reads. The caller's uid/gid: the files in OUT_DIR are theirs.
export ZAZU_OUT=$out ZAZU_SEARCH_ARGS=$search_args ZAZU_THREADS=${ZAZU_THREADS:-1}
ZAZU_UID=$(id -u) ZAZU_GID=$(id -g)
export ZAZU_UID ZAZU_GID
project=zazu-cluster-$$   # its own containers and network, whatever else runs
compose() { docker-compose -f "$here/compose.yaml" -p "$project" "$@"; }

cleanup() {
  # keep every container's output (both runs of a restarted worker), then remove containers and network
  compose logs --no-color >"$out/cluster.log" 2>&1 || true
  compose down --remove-orphans -t 5 >/dev/null 2>&1 || true
}
trap cleanup EXIT

# "trial tuner_id status failure rerun" per trial record (trial: its folder, <model>-<trial_id>), one
# line each (rerun: the trial's log.txt says a previous run ended without finishing)
trials() {
  python3 - "$out/run" <<'EOF'
import glob, json, os, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "trials", "*", "trial.json"))):
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError):
        continue  # being written
    try:
        with open(os.path.join(os.path.dirname(path), "log.txt")) as f:
            rerun = "yes" if "--- rerun" in f.read() else "no"
    except OSError:
        rerun = "no"
    print(os.path.basename(os.path.dirname(path)), r.get("tuner_id") or "-", r.get("status") or "-",
          r.get("failure") or "-", rerun)
EOF
}

t0=$(date +%s)
echo "Starting chief + worker1 (node-1) + worker2 (node-2) from $ZAZU_IMAGE; run folder $out/run"
# compose's progress lines go to stderr; show them only when it fails
up_log=$(compose up -d 2>&1) || die "docker-compose up failed: $up_log"
chief=$(compose ps -q chief)
[ -n "$chief" ] || die "the chief container did not start"

killed_trial="" killed_id=""
if [ "$kill_worker" = 1 ]; then
  # a container worker (node-*) training for kill_after_s seconds (its trial's log.txt says the model
  # is built); the chief's own worker-0 is not ours to kill
  since=0 running=""
  while :; do
    [ "$(docker inspect -f '{{.State.Running}}' "$chief")" = true ] || die "the chief stopped before any worker trial could be killed"
    [ $(($(date +%s) - t0)) -lt "$timeout_s" ] || die "no container worker started a trial within ${timeout_s}s"
    now=$(trials | awk '$3 == "RUNNING" && $2 ~ /^node-/ {print $1, $2; exit}')
    if [ -n "$now" ] && [ "$now" = "$running" ] && grep -qs "build: done" "$out/run/trials/${now%% *}/log.txt"; then
      if [ "$since" = 0 ]; then since=$(date +%s); fi
      if [ $(($(date +%s) - since)) -ge "$kill_after_s" ]; then break; fi
    else
      since=0
    fi
    running=$now
    sleep 1
  done
  read -r killed_trial killed_id <<<"$running"
  service=worker${killed_id#node-}
  container=$(compose ps -q "$service")
  echo "$(($(date +%s) - t0))s: $killed_id ($service) is ${kill_after_s}s into training trial $killed_trial: docker kill"
  docker kill "$container" >/dev/null
  sleep 3
  echo "$(($(date +%s) - t0))s: trial $killed_trial is $(trials | awk -v t="$killed_trial" '$1 == t {print $3}') (the chief holds it for $killed_id)"
  # docker does not apply the restart policy to a killed container: start it again, same container, same id
  echo "$(($(date +%s) - t0))s: restart policy left it $(docker inspect -f '{{.State.Status}}' "$container"); docker start $service (KERASTUNER_TUNER_ID=$killed_id)"
  docker start "$container" >/dev/null
fi

echo "Waiting for the chief (at most ${timeout_s}s)"
left=$((timeout_s - ($(date +%s) - t0)))
if [ "$left" -lt 1 ] || ! chief_rc=$(timeout "$left" docker wait "$chief"); then
  echo "FAIL: the search did not finish within ${timeout_s}s; last chief lines:" >&2
  docker logs --tail 20 "$chief" >&2 || true
  exit 1
fi
wall=$(($(date +%s) - t0))
# workers leave by themselves once the oracles say STOPPED; make sure none lingers
compose stop -t 10 worker1 worker2 >/dev/null 2>&1 || true
echo "Chief exited $chief_rc after ${wall}s"

table=$(trials)
echo
{ echo "trial tuner_id status failure rerun"; echo "$table"; } \
  | awk '{printf "%-14s %-10s %-12s %-12s %s\n", $1, $2, $3, $4, $5}'
echo

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
[ "$chief_rc" = 0 ] || fail "the chief (zazu search) exited $chief_rc; see $out/cluster.log"
count=$(grep -c . <<<"$table" || true)
[ "$count" = "$max_trials" ] || fail "$count trial records in $out/run/trials, expected $max_trials"
unfinished=$(awk '$3 != "COMPLETED" && $3 != "FAILED" && $3 != "OVER_BUDGET" {print $1 " " $3}' <<<"$table")
[ -z "$unfinished" ] || fail "trials without a final status: $(tr '\n' ' ' <<<"$unfinished")"
ids=$(awk '$3 == "COMPLETED" {print $2}' <<<"$table" | sort -u)
[ "$(grep -c . <<<"$ids" || true)" -ge 2 ] || fail "completed trials name fewer than two tuner ids: $(tr '\n' ' ' <<<"$ids")"
grep -q '^node-' <<<"$ids" || fail "no completed trial came from a container worker (node-1, node-2)"
if [ "$kill_worker" = 1 ]; then
  read -r _ kid kstatus kfailure krerun < <(awk -v t="$killed_trial" '$1 == t' <<<"$table") || true
  if [ "${kstatus:-}" = COMPLETED ] && [ "${krerun:-}" = yes ]; then
    echo "Killed trial $killed_trial: rerun after the kill, COMPLETED by $kid"
  elif [ "${kstatus:-}" = FAILED ] && [ "${kfailure:-}" = worker_died ]; then
    echo "Killed trial $killed_trial: recorded FAILED (worker_died)"
  else
    fail "killed trial $killed_trial ended ${kstatus:-without a record} (rerun: ${krerun:-?}), expected rerun and COMPLETED or FAILED worker_died"
  fi
fi
echo "Wall time: ${wall}s from containers up to the chief's exit, ${SECONDS}s for the whole script"
if [ "$failures" -gt 0 ]; then
  echo "cluster demo FAILED ($failures problem(s)); run folder $out/run, logs $out/cluster.log" >&2
  exit 1
fi
echo "cluster demo passed$([ "$kill_worker" = 1 ] && echo " (kill-worker case)"); run folder $out/run, logs $out/cluster.log"
