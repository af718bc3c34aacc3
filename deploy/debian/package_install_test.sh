#!/usr/bin/env bash
# The Debian package on a fresh Debian 12: debootstrap a minimal root
# (Debian's mirror), `apt-get install ./ferry_amd64.deb` there (its
# dependencies come from the mirror), run ferryd --help, ferryctl --help,
# ferryd from its packaged configuration on a net_null port with ferryctl
# health answering SERVING, check the unit with systemd-analyze, boot the
# root with systemd-nspawn and see ferryd.service become active (Type=notify),
# answer health and stop cleanly; then remove the package: nothing it
# installed may remain but its configuration, and purge removes that too.
#
#   package_install_test.sh FERRY_DEB DEBIAN_ROOT_SH
# Tagged "debootstrap" (skip with --test_tag_filters=-debootstrap where
# there is no debootstrap or no mirror); deploy/install-deps.sh installs it.
set -euo pipefail
deb=$(realpath "$1")
debian_root=$(realpath "$2")
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

root=$(mktemp -d /var/tmp/ferry-package-root.XXXXXX)
chmod 0755 "$root"  # apt's _apt user reads below it
mounts=()
nspawn_pid=""
unmount_all() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[i]}" 2>/dev/null || true
  done
  mounts=()
}
mount_all() {  # /proc, /sys, /dev and the host's apt cache inside the root
  mount -t proc proc "$root/proc"
  mounts+=("$root/proc")
  bind /sys
  bind /dev
  bind /var/cache/apt/archives
}
cleanup() {
  # Stop whatever still runs in the root before unmounting under it.
  pkill -KILL -f "^/usr/bin/ferryd.*ferry-package-test" 2>/dev/null || true
  if [[ -n $nspawn_pid ]]; then
    pkill -KILL -P "$nspawn_pid" 2>/dev/null || true
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    sleep 1
  fi
  unmount_all
  rm -rf --one-file-system "$root" "$root.nspawn.log"
}
trap cleanup EXIT
bind() {  # bind HOST_PATH: the same path inside the root, with submounts
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  mount --make-rslave "$root$1"
  mounts+=("$root$1")
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive "$@"; }

echo "== debootstrap bookworm (minbase) from $mirror"
"$debian_root" "$root" "$mirror" || fail "debootstrap failed"
mount_all
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/ferry_amd64.deb"

echo "== apt-get install ./ferry_amd64.deb"
in_root apt-get update -qq
# systemd first, as on any Debian host: the unit is then enabled by the
# package's postinst and checked against a real systemd tree.
in_root apt-get install -y -qq --no-install-recommends systemd systemd-sysv \
  dbus >"$root/tmp/apt-systemd.log" 2>&1 ||
  { tail -30 "$root/tmp/apt-systemd.log"; fail "installing systemd failed"; }
in_root apt-get install -y -qq /tmp/ferry_amd64.deb >"$root/tmp/apt.log" 2>&1 ||
  { tail -30 "$root/tmp/apt.log"; fail "apt-get install failed"; }
in_root dpkg -s ferry | grep -q '^Status: install ok installed' ||
  fail "ferry is not installed"
in_root dpkg -L ferry >"$root/tmp/files.before"
in_root getent group ferry >/dev/null || fail "postinst made no ferry group"

echo "== the commands answer --help"
out=$(in_root ferryd --help 2>&1 || true)
[[ $out == *"attaches NICs through DPDK"* && $out == *"--check_config"* ]] ||
  fail "ferryd --help: $out"
out=$(in_root ferryctl --help 2>&1 || true)
[[ $out == *"config check FILE"* ]] || fail "ferryctl --help: $out"
out=$(in_root ferry-orchestrator --help 2>&1) ||
  fail "ferry-orchestrator --help: $out"
out=$(in_root python3 -c 'import ferry; print(ferry.__name__)' 2>&1) ||
  fail "the Python binding does not import: $out"
in_root ferryctl config check /etc/ferry/ferryd.conf ||
  fail "the packaged configuration does not check"

echo "== ferryd from the packaged configuration, on net_null"
mkdir -p "$root/run/ferry"
# Not through in_root: $! must be ferryd itself (chroot and env exec it).
# The admin socket's name tags it for cleanup's pkill.
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin /usr/bin/ferryd --flagfile=/etc/ferry/ferryd.conf \
  --device=net_null0 --ip=10.99.0.1/24 --hugepages=off --memory_mb=256 \
  --metrics_address=127.0.0.1:0 \
  --admin_socket=/run/ferry/admin-ferry-package-test.sock \
  >"$root/tmp/ferryd.log" 2>&1 &
ferryd_pid=$!
health=""
for _ in $(seq 100); do
  health=$(in_root ferryctl --socket=/run/ferry/ferryd.sock health 2>&1 || true)
  [[ $health == *SERVING* ]] && break
  kill -0 "$ferryd_pid" 2>/dev/null || break
  sleep 0.2
done
[[ $health == *SERVING* && $health != *NOT_SERVING* ]] ||
  { cat "$root/tmp/ferryd.log"; fail "ferryctl health: $health"; }
echo "ferryctl health: $health"
# The application socket belongs to the ferry group, as configured.
group=$(in_root stat -c %G /run/ferry/ferryd.sock)
[[ $group == ferry ]] || fail "ferryd.sock's group is $group"
# The packaged configuration encrypts: the NIC requires it, and ferryd made
# its node key (root only) and trusts nobody yet.
node=$(in_root ferryctl --socket=/run/ferry/ferryd.sock \
  --admin_socket=/run/ferry/admin-ferry-package-test.sock node 2>&1) ||
  fail "ferryctl node: $node"
echo "$node"
grep -q "trusted peers: 0" <<<"$node" || fail "ferryctl node: $node"
[[ $(in_root stat -c %a /var/lib/ferry/node.key) == 600 ]] ||
  fail "node key mode: $(in_root stat -c %a /var/lib/ferry/node.key)"
in_root ferryctl --socket=/run/ferry/ferryd.sock \
  --admin_socket=/run/ferry/admin-ferry-package-test.sock nic get net_null0 |
  grep "^encryption: required, aes-128-gcm" ||
  fail "the packaged NIC does not require encryption"
kill -TERM "$ferryd_pid"
wait "$ferryd_pid" || fail "ferryd exited $? on SIGTERM: $(tail -5 "$root/tmp/ferryd.log")"

echo "== systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --root="$root" \
    /lib/systemd/system/ferryd.service 2>&1) ||
    fail "systemd-analyze verify: $out"
  # Complaints about units of the bare root (no systemd in it) are not ours.
  if grep -i "ferryd" <<<"$out"; then
    fail "systemd-analyze verify complained about ferryd.service"
  fi
  echo "systemd-analyze verify: clean"
else
  fail "systemd-analyze is missing"
fi

echo "== systemd-nspawn --boot: ferryd.service from the package"
unmount_all
# --keep-unit and --register=no: this host's PID 1 is not systemd, so there
# is no bus to register with. The host's network: with --private-network
# nspawn mounts a sysfs without /sys/module, and DPDK's EAL then fails
# ("Cannot init VFIO"): ferryd in any container needs the host's sysfs.
timeout 180 systemd-nspawn --boot --directory="$root" \
  --machine="ferry-pkg-$$" --console=passive --register=no --keep-unit \
  >"$root.nspawn.log" 2>&1 &
nspawn_pid=$!
# The container's init: the child of systemd-nspawn (itself timeout's).
leader=""
for _ in $(seq 100); do
  nspawn=$(pgrep -P "$nspawn_pid" | head -1 || true)
  [[ -n $nspawn ]] && leader=$(pgrep -P "$nspawn" -x systemd | head -1 || true)
  [[ -n $leader ]] && break
  sleep 0.1
done
[[ -n $leader ]] || { cat "$root.nspawn.log"; fail "nspawn started no init"; }
in_container() { nsenter --target="$leader" --all "$@"; }
state=""
for _ in $(seq 120); do
  state=$(in_container /usr/bin/systemctl is-active ferryd.service 2>/dev/null ||
    true)
  [[ $state == active || $state == failed ]] && break
  sleep 0.5
done
[[ $state == active ]] || {
  in_container /usr/bin/journalctl -u ferryd --no-pager | tail -20 || true
  fail "ferryd.service is '$state' in the booted root"
}
status=$(in_container /usr/bin/systemctl show ferryd.service -p StatusText)
[[ $status == "StatusText=serving channels at /run/ferry/channels.sock" ]] ||
  fail "no readiness status from ferryd (Type=notify): $status"
health=$(in_container /usr/bin/ferryctl health 2>&1 || true)
[[ $health == SERVING ]] || fail "ferryctl health in the container: $health"
# Journal lines carry their level and no time of ferryd's own.
in_container /usr/bin/journalctl -u ferryd -o json --no-pager |
  /usr/bin/python3 -c '
import json, sys
entries = [json.loads(line) for line in sys.stdin if line.strip()]
ready = [e for e in entries if "] ferryd ready" in str(e.get("MESSAGE"))]
assert ready, "no ferryd ready line in the journal"
e = ready[-1]
assert e["PRIORITY"] == "6", e
assert e["MESSAGE"].startswith("daemon.cc:"), e["MESSAGE"]
print("journal:", e["PRIORITY"], e["MESSAGE"][:60])
' || fail "ferryd's journal lines are not in the journal's format"
in_container /usr/bin/systemctl stop ferryd.service
result=$(in_container /usr/bin/systemctl show ferryd.service \
  -p ActiveState -p Result -p ExecMainStatus | sort | tr '\n' ' ')
[[ $result == "ActiveState=inactive ExecMainStatus=0 Result=success " ]] ||
  fail "ferryd.service did not stop cleanly: $result"
echo "booted: active, $health, stopped: $result"
in_container /usr/bin/systemctl poweroff || true
for _ in $(seq 300); do
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$nspawn_pid" 2>/dev/null; then
  kill -KILL "$nspawn_pid"
  fail "the container did not power off: $(tail -5 "$root.nspawn.log")"
fi
wait "$nspawn_pid" || true
nspawn_pid=""
rm -f "$root.nspawn.log"
mount_all

echo "== apt-get remove: only configuration stays; purge: nothing"
in_root apt-get remove -y -qq ferry >/dev/null
left=()
while read -r path; do
  [[ -e $root$path && ! -d $root$path ]] || continue
  case $path in
    /etc/ferry/ferryd.conf | /etc/ferry/trusted_peers) ;;
    /etc/sysctl.d/60-ferry-hugepages.conf) ;;
    *) left+=("$path") ;;
  esac
done <"$root/tmp/files.before"
((${#left[@]} == 0)) || fail "left after remove: ${left[*]}"
[[ -f $root/etc/ferry/ferryd.conf ]] || fail "remove took the configuration"
listed=$(in_root dpkg -L ferry 2>/dev/null | grep -v '^/etc' | grep -v '^/\.$' || true)
[[ -z $listed ]] || fail "dpkg -L still lists: $listed"
in_root apt-get purge -y -qq ferry >/dev/null
[[ ! -e $root/etc/ferry/ferryd.conf ]] || fail "purge left ferryd.conf"
[[ ! -e $root/var/lib/ferry ]] || fail "purge left the node key"
[[ ! -e $root/usr/lib/x86_64-linux-gnu/libferryclient.so ]] ||
  fail "purge left the library"
echo "PASS: installed, served, verified, removed"
