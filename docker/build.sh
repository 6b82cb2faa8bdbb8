#!/usr/bin/env bash
# Build the Zazu image (default tag zazu:latest) from the repo's Dockerfile, from any cwd.
#   bash docker/build.sh [--tag NAME] [--no-edgetpu] [--base IMAGE]
# or through the environment: ZAZU_TAG, ZAZU_EDGETPU=0, ZAZU_BASE.
# The base is python:3.11-slim-bookworm when Docker Hub answers, else a Debian bookworm made here
# with mmdebstrap (zazu-base:bookworm, reused once built). The host's pip settings (http(s) only)
# and CA bundle go into the build context for the builder stage only.
set -euo pipefail

die() { echo "docker/build.sh: $*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${ZAZU_TAG:-zazu:latest}
edgetpu=${ZAZU_EDGETPU:-1}
base=${ZAZU_BASE:-}
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --tag=*) tag=${1#--tag=}; shift ;;
    --no-edgetpu) edgetpu=0; shift ;;
    --base) base=${2:?--base needs a value}; shift 2 ;;
    --base=*) base=${1#--base=}; shift ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

command -v docker >/dev/null || die "docker is not installed (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker daemon is not running (start dockerd) or is not reachable"

start=$(date +%s)

# ---- base image
official=python:3.11-slim-bookworm
if [ -z "$base" ]; then
  if timeout 120 docker pull -q "$official" >/dev/null 2>&1; then
    base=$official
  elif docker image inspect "$official" >/dev/null 2>&1; then
    base=$official
    echo "Docker Hub unreachable: using the local $official"
  else
    base=zazu-base:bookworm
    if docker image inspect "$base" >/dev/null 2>&1; then
      echo "Docker Hub unreachable: reusing the base $base (Debian bookworm from mmdebstrap)"
    else
      echo "Docker Hub unreachable: building the base $base with mmdebstrap (Debian bookworm, python3, python3-venv)"
      command -v mmdebstrap >/dev/null || die "cannot build the base: mmdebstrap is not installed (apt-get install mmdebstrap)"
      mmdebstrap --quiet --variant=apt --include=python3,python3-venv,ca-certificates bookworm - \
        | docker import - "$base" >/dev/null || die "mmdebstrap | docker import failed"
    fi
  fi
fi

# ---- build context: the repo's tracked and untracked-but-not-ignored files only
ctx=$(mktemp -d "${TMPDIR:-/tmp}/zazu-docker.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # files deleted but not yet committed are still listed: keep those that exist
  (cd "$repo" && git ls-files -z -co --exclude-standard \
     | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
     | tar --null -T - -cf -) | tar -xf - -C "$ctx"
else
  tar -C "$repo" --exclude=.git --exclude=.venv --exclude=venv --exclude=runs --exclude=build \
    --exclude=dist --exclude=__pycache__ --exclude='*.egg-info' --exclude=.pytest_cache \
    --exclude=.docker-host -cf - . | tar -xf - -C "$ctx"
fi

# ---- host pip settings + CA bundle, for the builder stage (never in the final image)
mkdir "$ctx/.docker-host"
ca=""
pip_cert=$(python3 -m pip config get global.cert 2>/dev/null || true)
for c in "$pip_cert" "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}"; do
  if [ -n "$c" ] && [ -f "$c" ]; then ca=$c; break; fi
done
if [ -n "$ca" ]; then cp "$ca" "$ctx/.docker-host/ca.crt"; fi
# pip's merged view (files + PIP_* env); remote settings pass, local paths and file:// cannot.
{ python3 -m pip config list 2>/dev/null || true; } | python3 -c '
import ast, sys
ca, out = sys.argv[1:]
keep = {"index-url", "extra-index-url", "trusted-host", "timeout", "retries", "proxy", "disable-pip-version-check"}
urls = {"index-url", "extra-index-url", "proxy"}
values, skipped = {}, []
for line in sys.stdin:
    name, sep, raw = line.strip().partition("=")
    if not sep or "." not in name:
        continue
    scope, key = name.split(".", 1)
    try:
        value = str(ast.literal_eval(raw))
    except (ValueError, SyntaxError):
        value = raw
    key = {"default-timeout": "timeout"}.get(key, key)
    if key in ("cert", "client-cert"):
        continue  # replaced by the bundle copied next to this file
    if key not in keep:
        skipped.append(f"{key}={value}")
        continue
    parts = value.split()
    if key in urls:
        skipped += [f"{key}={p}" for p in parts if not p.startswith(("http://", "https://"))]
        parts = [p for p in parts if p.startswith(("http://", "https://"))]
    if parts and (scope == ":env:" or key not in values):  # the environment wins, as in pip
        values[key] = " ".join(parts)
lines = ["[global]"] + [f"{k} = {v}" for k, v in sorted(values.items())]
if ca == "1":
    lines.append("cert = /tmp/host/ca.crt")
open(out, "w").write("\n".join(lines) + "\n")
if skipped:
    print("Not passed to the build (local paths, unreachable inside it): " + ", ".join(dict.fromkeys(skipped)))
' "$([ -n "$ca" ] && echo 1 || echo 0)" "$ctx/.docker-host/pip.conf"
echo "Host pip settings for the builder stage: $(grep -c = "$ctx/.docker-host/pip.conf") line(s)${ca:+, CA bundle $ca}"

# ---- build
echo "Building $tag from $base (EDGETPU=$edgetpu)"
build_start=$(date +%s)
docker build --build-arg BASE="$base" --build-arg EDGETPU="$edgetpu" -t "$tag" -f "$ctx/Dockerfile" "$ctx"
end=$(date +%s)
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "Built $tag in $((end - start)) s (docker build $((end - build_start)) s); image size $((size / 1000000)) MB"
