#!/usr/bin/env bash
# The container image, built offline (debootstrap root imported as the base,
# the package installed by the Containerfile), then run: ferryd on a
# net_null port answers health from the host (through the mounted
# /run/ferry) and from inside the container, and stops on `podman stop`.
#
#   container_test.sh BUILD_SH FERRY_DEB FERRYCTL
# Tagged "podman" and "debootstrap"; deploy/install-deps.sh installs both.
set -euo pipefail
build=$(realpath "$1")
deb=$(realpath "$2")
ferryctl=$(realpath "$3")
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
command -v podman >/dev/null || fail "podman is missing (deploy/install-deps.sh)"

tag=$$
export FERRY_BASE_IMAGE=localhost/ferry-test-base-$tag:bookworm
export FERRY_IMAGE=localhost/ferry-test-$tag
name=ferry-test-$tag
run_dir=$(mktemp -d /tmp/ferry-container.XXXXXX)
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman rmi -f "$FERRY_IMAGE:latest" "${image:-$FERRY_IMAGE:latest}" \
    "$FERRY_BASE_IMAGE" >/dev/null 2>&1 || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

echo "== build"
image=$("$build" "$deb" | tail -1)
[[ $image == "$FERRY_IMAGE:"* ]] || fail "build printed '$image'"
podman image exists "$image" || fail "no image $image"

echo "== run"
# The OCI runtime: crun refuses this kernel's hybrid cgroup layout (v1 with
# controllers also on v2), runc runs it. The limits are given as they are:
# raising them needs CAP_SYS_RESOURCE, which a test runner may lack.
runtime=()
if [[ $(podman info --format '{{.Host.CgroupsVersion}}') == v1 ]] &&
  command -v runc >/dev/null; then
  runtime=(--runtime=runc)
fi
# --health-interval=disable: podman schedules periodic checks through
# systemd, which is not PID 1 here; the check is run once below instead.
podman "${runtime[@]}" run -d --name "$name" --network=host \
  --health-interval=disable \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768 \
  -v "$run_dir:/run/ferry" "$image" \
  --device=net_null0 --ip=10.99.0.1/24 --hugepages=off --memory_mb=256 \
  --metrics_address= >/dev/null ||
  fail "podman run failed"
health=""
for _ in $(seq 100); do
  health=$(podman exec "$name" ferryctl health 2>&1 || true)
  [[ $health == SERVING ]] && break
  [[ $(podman inspect -f '{{.State.Running}}' "$name") == true ]] || break
  sleep 0.2
done
[[ $health == SERVING ]] ||
  { podman logs "$name" | tail -20; fail "health in the container: $health"; }
# From the host, through the socket the container left in /run/ferry, as
# an application on the node would reach it.
host_health=$("$ferryctl" --socket="$run_dir/ferryd.sock" health 2>&1 || true)
[[ $host_health == SERVING ]] || fail "health from the host: $host_health"
# The image's own HEALTHCHECK (docker format) runs ferryctl health too.
podman healthcheck run "$name" || fail "the image's healthcheck failed"
echo "health in the container: $health; from the host: $host_health"
grep -q "ferryd ready" <(podman logs "$name" 2>&1) || fail "no ready line"
podman stop -t 20 "$name" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
[[ $code == 0 ]] || fail "ferryd exited $code on podman stop"
echo "PASS: image built offline, ferryd served in it and stopped cleanly"
