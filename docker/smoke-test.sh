#!/usr/bin/env bash
# Smoke test of the image docker/build.sh made (CI runs it after the build):
#   bash docker/smoke-test.sh [TAG]        (default: $ZAZU_TAG or zazu:latest)
# Fails (non-zero, saying what) unless: --help works; a one-trial classification job writes the
# int8 model and the report into a mounted folder, owned by the --user uid (the caller's and, when
# that is root, a non-root one); a missing dataset exits 2 with one line; the image holds no copy
# of the host's CA bundle beyond the base's own and its history does not mention it.
set -euo pipefail

tag=${1:-${ZAZU_TAG:-zazu:latest}}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

command -v docker >/dev/null || { echo "docker/smoke-test.sh: docker is not installed" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "docker/smoke-test.sh: the Docker daemon is not running" >&2; exit 1; }
docker image inspect "$tag" >/dev/null 2>&1 || { echo "docker/smoke-test.sh: no image $tag (run docker/build.sh)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/zazu-smoke.XXXXXX")
# the job's files belong to other uids: remove them from inside a container when we cannot
cleanup() { rm -rf "$work" 2>/dev/null || docker run --rm --user 0 -v "$work:/w" --entrypoint rm "$tag" -rf /w/out || true; rm -rf "$work" || true; }
trap cleanup EXIT

# 1. --help
if out=$(docker run --rm "$tag" --help 2>&1) && grep -q "Usage:" <<<"$out"; then
  ok "docker run --rm $tag --help"
else
  fail "docker run --rm $tag --help: $(tail -n 3 <<<"$out")"
fi

# 2. a short classification job per uid, into a mounted folder
uids=("$(id -u):$(id -g)")
if [ "$(id -u)" = 0 ]; then uids+=("1234:1234"); fi   # CI runs as root: a non-root uid too
for user in "${uids[@]}"; do
  out_dir="$work/out/${user/:/-}"
  mkdir -p "$out_dir" && chmod 777 "$out_dir"   # writable by the container's uid, whoever it is
  t0=$(date +%s)
  if ! log=$(docker run --rm -v "$out_dir:/runs" --user "$user" "$tag" \
        --task classification --output /runs/cls --max-trials 1 --epochs 1 --time-budget 1 2>&1); then
    fail "classification job as --user $user exited non-zero: $(grep -v '^ *$' <<<"$log" | tail -n 3)"
  fi
  echo "container job as --user $user: $(($(date +%s) - t0)) s wall time"
  for f in export/model_int8.tflite report.html; do
    if [ ! -s "$out_dir/cls/$f" ]; then
      fail "job as --user $user did not write /runs/cls/$f"
    elif [ "$(stat -c %u:%g "$out_dir/cls/$f")" != "$user" ]; then
      fail "/runs/cls/$f is owned by $(stat -c %u:%g "$out_dir/cls/$f"), not the --user $user"
    else
      ok "job as --user $user wrote /runs/cls/$f, owned by $user"
    fi
  done
done

# 3. a missing dataset: exit code 2 and one line (Zazu's usage error, as outside Docker)
rc=0
out=$(docker run --rm "$tag" --task classification --data /nonexistent 2>&1) || rc=$?
lines=$(grep -c -v '^[[:space:]]*$' <<<"$out" || true)
if [ "$rc" = 2 ] && [ "$lines" = 1 ]; then
  ok "--data /nonexistent exits 2 with one line: $(grep -v '^[[:space:]]*$' <<<"$out")"
else
  fail "--data /nonexistent: exit $rc (want 2), $lines non-empty lines (want 1): $(head -n 5 <<<"$out")"
fi

# 4. the host's CA bundle (given to the builder stage only) is nowhere in the image's layers
bundle=""
pip_cert=$(python3 -m pip config get global.cert 2>/dev/null || true)
for c in "$pip_cert" "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}"; do
  if [ -n "$c" ] && [ -f "$c" ]; then bundle=$c; break; fi
done
if [ -z "$bundle" ]; then
  ok "no host CA bundle found: nothing to look for"
else
  sum=$(sha256sum "$bundle" | cut -d' ' -f1)
  size=$(stat -L -c %s "$bundle")
  # the base's own bundle may equal the host's: that copy is allowed
  base=$(docker image inspect -f '{{index .Config.Labels "zazu.base"}}' "$tag")
  base_sum=""
  if [ -n "$base" ] && docker image inspect "$base" >/dev/null 2>&1; then
    base_sum=$(docker run --rm --entrypoint sha256sum "$base" /etc/ssl/certs/ca-certificates.crt 2>/dev/null | cut -d' ' -f1 || true)
  fi
  # every file of every layer (a file deleted in a later layer still ships in the earlier one)
  hits=$(docker save "$tag" | python3 -c '
import hashlib, sys, tarfile
size, want = int(sys.argv[1]), sys.argv[2]
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as image:
    for layer in image:
        if not layer.isfile() or not layer.name.endswith(".tar") and "blobs/" not in layer.name:
            continue
        try:
            with tarfile.open(fileobj=image.extractfile(layer), mode="r|") as files:
                for f in files:
                    if f.isfile() and f.size == size:
                        if hashlib.sha256(files.extractfile(f).read()).hexdigest() == want:
                            print(f.name)
        except tarfile.ReadError:
            pass  # a config or manifest blob, not a layer
' "$size" "$sum")
  bad=$(grep -v -x "etc/ssl/certs/ca-certificates.crt" <<<"$hits" || true)
  if [ "$sum" != "$base_sum" ] && grep -q -x "etc/ssl/certs/ca-certificates.crt" <<<"$hits"; then
    bad+=$'\n'"etc/ssl/certs/ca-certificates.crt (the base's differs)"
  fi
  if [ -n "$(tr -d '[:space:]' <<<"$bad")" ]; then
    fail "the image holds the host CA bundle $bundle: $(tr '\n' ' ' <<<"$bad")"
  else
    ok "no copy of the host CA bundle $bundle in the image's layers (beyond the base's own)"
  fi
  if docker history --no-trunc "$tag" | grep -q -i -e ".docker-host" -e "/tmp/host" -e "ca.crt" -e "pip.conf" -e "$bundle"; then
    fail "docker history --no-trunc $tag mentions the host's CA bundle or pip settings"
  else
    ok "docker history --no-trunc $tag does not mention the host's CA bundle or pip settings"
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "docker/smoke-test.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "docker/smoke-test.sh: all checks passed ($tag)"
