#!/usr/bin/env bash
# Installs every Debian package that Ferry's build, tests and demo need, then
# reserves hugepages and mounts hugetlbfs when the machine allows it.
# Idempotent: a second run installs nothing and prints one line.
set -euo pipefail

PACKAGES=(
  # Build: Bazel 4.2.3 and the C++ toolchain.
  bazel-bootstrap bazel-platforms bazel-skylib g++ pkg-config clang-format
  # Dataplane.
  dpdk dpdk-dev libdpdk-dev
  # AF_XDP: ferryd's XDP program (clang targets BPF) and libbpf to set it up.
  clang libbpf-dev libxdp-dev linux-libc-dev
  # Encrypted flows: X25519 and HKDF (OpenSSL), AES-GCM (intel-ipsec-mb);
  # tcpdump checks the wire.
  libssl-dev libipsec-mb-dev tcpdump
  # Control plane.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev
  # Tests and benchmarks.
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # Machnet-style test programs (gflags), built with Machnet's compile line.
  libgflags-dev
  # Testbed: namespaces, veth, ping, netem; promtool for the metrics test.
  iproute2 iputils-ping procps python3 prometheus
  # The API test from Python.
  python3-grpcio python3-grpc-tools
  # The Python binding's tests.
  python3-pytest
  # report.html is checked in a headless browser.
  chromium
  # Test certificates for the TLS listener.
  openssl
  # Coverage-guided fuzzing (libFuzzer, ASan, UBSan).
  clang-14 libclang-rt-14-dev
  # The trust-boundary test runs an application as a user it creates.
  passwd util-linux
  # The Debian package (dpkg-shlibdeps) and its test: a fresh Debian 12
  # root (debootstrap) booted with systemd-nspawn.
  dpkg-dev debootstrap systemd-container
  # The container image's test (runc: crun cannot run on hybrid cgroups).
  podman runc
  # The Kubernetes manifests' check: the API schema as the Python client
  # carries it.
  python3-kubernetes python3-yaml
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: must run as root (apt-get, hugepages, hugetlbfs)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != *"ok installed"* ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

"$(dirname "$0")/setup-hugepages.sh" || true
