#!/usr/bin/env bash
# Builder stage of the Dockerfile: install Coral's edgetpu-compiler from Coral's apt repository and
# copy the files it (and any package it pulled in) installed under OUT_DIR, which the final stage
# copies onto /. So the final image gets the compiler without apt lists, Coral's key or the host's
# CA bundle. When the repository is unreachable, prints one line saying so and exits 0: the image
# then reports the compiler absent, as Zazu does outside Docker.
set -euo pipefail
out=${1:?usage: edgetpu.sh OUT_DIR}
key_url=https://packages.cloud.google.com/apt/doc/apt-key.gpg
repo="https://packages.cloud.google.com/apt coral-edgetpu-stable main"
ca=/tmp/host/ca.crt   # the host's bundle, from docker/build.sh (absent with a plain docker build)
log=/tmp/edgetpu.log
mkdir -p "$out"

skip() { echo "Edge TPU compiler not installed: $1"; exit 0; }

apt_opts=(-q -o Dpkg::Use-Pty=0)
if [ -f "$ca" ]; then apt_opts+=(-o "Acquire::https::CAInfo=$ca"); fi

# The key with Python (in every base) instead of curl + gnupg: apt reads an armored key as .asc,
# a binary one as .gpg.
key=$(python3 - "$key_url" "$ca" 2>"$log" <<'EOF'
import os, ssl, sys, urllib.request
url, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
data = urllib.request.urlopen(url, timeout=30, context=ctx).read()
path = "/usr/share/keyrings/coral-edgetpu." + ("asc" if data.lstrip().startswith(b"-----BEGIN") else "gpg")
open(path, "wb").write(data)
print(path)
EOF
) || skip "cannot fetch Coral's apt key ($key_url): $(grep -v '^ *$' "$log" | tail -n 1)"

echo "deb [signed-by=$key] $repo" > /etc/apt/sources.list.d/coral-edgetpu.list
before=$(dpkg-query -W -f '${Package}\n' | sort)
apt-get "${apt_opts[@]}" update >"$log" 2>&1 \
  && apt-get "${apt_opts[@]}" install -y --no-install-recommends edgetpu-compiler >>"$log" 2>&1 \
  || skip "apt could not install edgetpu-compiler from $repo: $(grep -E '^(E|W):' "$log" | tail -n 1)"
after=$(dpkg-query -W -f '${Package}\n' | sort)

# Stage every file (and symlink) of the newly installed packages, paths kept.
comm -13 <(echo "$before") <(echo "$after") | while read -r pkg; do dpkg -L "$pkg"; done \
  | while read -r f; do
      if [ -f "$f" ] || [ -L "$f" ]; then cp -a --parents "$f" "$out"; fi
    done
if ! version=$(edgetpu_compiler --version 2>&1); then
  rm -rf "${out:?}"/*   # nothing half-working in the image
  skip "edgetpu_compiler was installed but does not run: $(echo "$version" | tail -n 1)"
fi
echo "Edge TPU compiler installed: $(echo "$version" | head -n 1)"
