# Zazu on CPU, with Coral's Edge TPU compiler when Coral's apt repository answers.
# Build with `bash docker/build.sh` (picks the base, passes the host's pip settings and CA bundle);
# a plain `docker build .` works too, with pip's defaults.
# Works with the classic builder (no BuildKit features).

# Any image with python3 >= 3.11 and its venv module (python:3.11-slim-bookworm, or a Debian bookworm
# made with mmdebstrap, see docker/build.sh). Both stages use it, so the venv's interpreter links hold.
ARG BASE=python:3.11-slim-bookworm

# ---- builder: the venv (and the Edge TPU compiler's files); the only stage that sees the host's
# pip settings and CA bundle.
FROM ${BASE} AS builder
ARG EDGETPU=1
# .docker-host/ (pip.conf, ca.crt) is written by docker/build.sh; the glob lets it be absent.
COPY requirements.txt .docker-hos[t] /tmp/host/
RUN python3 -c 'import sys; assert sys.version_info >= (3, 11), "Zazu needs Python >= 3.11, base has " + sys.version' \
 && python3 -m venv /opt/zazu
ENV PATH=/opt/zazu/bin:$PATH
# The dependencies first: their layer survives edits to Zazu's code.
RUN if [ -f /tmp/host/pip.conf ]; then export PIP_CONFIG_FILE=/tmp/host/pip.conf; fi \
 && pip install --no-cache-dir --disable-pip-version-check -r /tmp/host/requirements.txt
# Coral's compiler: installed here (apt may need the host's CA bundle), its files staged in
# /opt/edgetpu for the final stage, so no apt lists, key or bundle reach the final image.
COPY docker/edgetpu.sh /tmp/edgetpu.sh
RUN mkdir -p /opt/edgetpu \
 && if [ "$EDGETPU" = 1 ]; then \
      bash /tmp/edgetpu.sh /opt/edgetpu || echo "Edge TPU compiler not installed: docker/edgetpu.sh failed"; \
    else echo "Edge TPU compiler not installed: EDGETPU=$EDGETPU"; fi
# A real (non-editable) install: the wheel carries what Zazu reads at run time.
COPY . /tmp/src
RUN if [ -f /tmp/host/pip.conf ]; then export PIP_CONFIG_FILE=/tmp/host/pip.conf; fi \
 && pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/src

# ---- final: the base, the venv, the compiler's files; nothing else from the build.
FROM ${BASE}
ARG BASE
LABEL org.opencontainers.image.title="zazu" zazu.base="${BASE}"
# A named user for plain `docker run`; /work (cwd, default runs/) and HOME=/tmp (caches: keras,
# matplotlib, $ZAZU_CACHE's default ~/.cache/zazu) are writable by any `--user uid:gid` too.
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /tmp --shell /bin/sh zazu \
 && install -d -m 1777 /work
COPY --from=builder /opt/zazu /opt/zazu
COPY --from=builder /opt/edgetpu/ /
ENV PATH=/opt/zazu/bin:$PATH \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    TF_CPP_MIN_LOG_LEVEL=3 \
    PYTHONUNBUFFERED=1
USER zazu
WORKDIR /work
ENTRYPOINT ["zazu"]
CMD ["--help"]
