#!/usr/bin/env bash
# deploy/bind-nic.sh: its parsing and decisions against a fake sysfs with
# fake ip and dpdk-devbind.py (nothing on this host is touched), then a
# --dry-run against this machine's own NIC, which carries the default route
# and must be refused.
#
#   bind_nic_test.sh BIND_NIC_SH
set -euo pipefail
script=$(realpath "$1")
t=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bind-nic.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# --- A fake host: an Intel NIC (eth1, free) and a virtio NIC (eth0, the
# default route, its interface under virtio2 as on a VM).
sys=$t/sys
mkdir -p "$sys/bus/pci/drivers/ixgbe" "$sys/bus/pci/drivers/virtio-pci" \
  "$sys/devices/pci0000:00/0000:3b:00.0" \
  "$sys/devices/pci0000:00/0000:00:03.0/virtio2" "$sys/class/net/eth0" \
  "$sys/class/net/eth1" "$sys/class/net/lo" "$sys/bus/pci/devices" \
  "$sys/module/vfio/parameters" "$sys/kernel/iommu_groups/7"
ln -s ../../../devices/pci0000:00/0000:3b:00.0 "$sys/bus/pci/devices/0000:3b:00.0"
ln -s ../../../devices/pci0000:00/0000:00:03.0 "$sys/bus/pci/devices/0000:00:03.0"
ln -s ../../../bus/pci/drivers/ixgbe "$sys/devices/pci0000:00/0000:3b:00.0/driver"
ln -s ../../../bus/pci/drivers/virtio-pci "$sys/devices/pci0000:00/0000:00:03.0/driver"
ln -s ../../../devices/pci0000:00/0000:3b:00.0 "$sys/class/net/eth1/device"
ln -s ../../../devices/pci0000:00/0000:00:03.0/virtio2 "$sys/class/net/eth0/device"
cat >"$t/ip" <<'SH'
#!/bin/sh
# Fake ip: eth0 has the default route and addresses; others nothing.
echo "$*" >>"$(dirname "$0")/ip.calls"
case "$*" in
  "-4 route show default dev eth0") echo "default via 192.0.2.1" ;;
  "-o addr show dev eth0 scope global")
    echo "2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0" ;;
esac
SH
printf '#!/bin/sh\necho "$*" >>"%s/devbind.calls"\n' "$t" >"$t/devbind"
printf '#!/bin/sh\necho "$*" >>"%s/modprobe.calls"\n' "$t" >"$t/modprobe"
chmod +x "$t/ip" "$t/devbind" "$t/modprobe"
export BIND_NIC_SYSFS=$sys BIND_NIC_STATE_DIR=$t/state BIND_NIC_IP=$t/ip \
  BIND_NIC_DEVBIND=$t/devbind BIND_NIC_MODPROBE=$t/modprobe

# run EXPECTED_STATUS ARGS...: runs the script, output in $out.
run() {
  local want=$1
  shift
  local rc=0
  out=$("$script" "$@" 2>&1) || rc=$?
  ((rc == want)) || fail "bind-nic.sh $*: exit $rc, wanted $want: $out"
}

# --- PCI addresses, parsed on their own.
source "$script"
[[ $(normalize_pci 3B:00.0) == 0000:3b:00.0 ]] || fail "short form"
[[ $(normalize_pci 0000:3b:00.7) == 0000:3b:00.7 ]] || fail "long form"
for bad in 3b:00 zz:00.0 0000:3b:00.8 "" "3b:00.0;x"; do
  normalize_pci "$bad" >/dev/null 2>&1 && fail "accepted '$bad'"
done
[[ $(pci_of_interface eth0) == 0000:00:03.0 ]] || fail "virtio's PCI parent"
[[ $(pci_of_interface eth1) == 0000:3b:00.0 ]] || fail "eth1's device"
pci_of_interface lo >/dev/null && fail "lo is no PCI device"
[[ $(interfaces_of_pci 0000:00:03.0) == eth0 ]] || fail "interfaces of 00:03.0"
echo "ok: parsing"

# --- Usage errors: exit 2, nothing run.
run 2
run 2 frobnicate
run 2 --bogus bind eth1
run 2 bind
run 2 bind eth1 eth0
run 2 '--driver=vfio;reboot' bind eth1
run 2 bind 0000:99:00.0
run 2 bind no-such-if
run 2 bind lo
[[ $out == *"not a PCI NIC"* ]] || fail "lo: $out"
run 2 unbind eth1
run 2 unbind 0000:3b:00.0  # no driver remembered yet
[[ ! -e $t/devbind.calls ]] || fail "usage errors ran dpdk-devbind"
echo "ok: usage errors"

# --- The host's NIC is refused, and the refusal shows the --force plan.
run 3 bind eth0
[[ $out == *"eth0 carries a default route"* ]] || fail "no route reason: $out"
[[ $out == *"eth0 has addresses in use: 192.0.2.2/24"* ]] || fail "$out"
[[ $out == *"with --force it would:"*"--bind=vfio-pci 0000:00:03.0 --force"* ]] ||
  fail "no plan: $out"
run 3 --dry-run bind 00:03.0
run 0 --dry-run --force bind eth0
[[ $out == *"would run: $t/devbind --bind=vfio-pci 0000:00:03.0 --force"* ]] ||
  fail "dry run: $out"
[[ ! -e $t/devbind.calls && ! -e $t/modprobe.calls ]] ||
  fail "a refusal or dry run changed something"
echo "ok: refusals and dry runs"

# --- A free NIC binds: interface down, driver remembered, then unbound.
run 0 bind eth1
[[ $(<"$t/devbind.calls") == "--bind=vfio-pci 0000:3b:00.0" ]] ||
  fail "devbind got: $(<"$t/devbind.calls")"
[[ $(<"$t/modprobe.calls") == vfio-pci ]] || fail "no modprobe"
grep -qx "link set dev eth1 down" "$t/ip.calls" || fail "eth1 not set down"
[[ $(<"$t/state/0000:3b:00.0.driver") == ixgbe ]] || fail "driver not kept"
rm "$t/devbind.calls"
run 0 unbind 3b:00.0
[[ $(<"$t/devbind.calls") == "--bind=ixgbe 0000:3b:00.0" ]] ||
  fail "unbind: $(<"$t/devbind.calls")"
[[ ! -e $t/state/0000:3b:00.0.driver ]] || fail "state kept after unbind"
echo "ok: bind and unbind"

# --- Without an IOMMU, the unsafe mode needs --force.
rm -rf "$sys/kernel/iommu_groups/7" "$t/devbind.calls"
run 3 bind eth1
[[ $out == *"no IOMMU"* ]] || fail "no IOMMU reason: $out"
run 0 --force bind eth1
[[ $(<"$sys/module/vfio/parameters/enable_unsafe_noiommu_mode") == 1 ]] ||
  fail "no-IOMMU mode not set"
echo "ok: no IOMMU"

# --- This machine's own NIC: the one with the default route.
unset BIND_NIC_SYSFS BIND_NIC_STATE_DIR BIND_NIC_IP BIND_NIC_DEVBIND \
  BIND_NIC_MODPROBE
iface=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | head -1)
if [[ -z $iface ]]; then
  echo "SKIP: this machine has no default route"
elif [[ ! -e /sys/class/net/$iface/device ]]; then
  echo "SKIP: $iface (the default route) is not a device NIC"
else
  driver_before=$(readlink -f "/sys/class/net/$iface/device/driver" ||
    readlink -f "/sys/class/net/$iface/device/../driver")
  run 3 --dry-run bind "$iface"
  printf '%s\n' "$out"
  [[ $out == *"$iface carries a default route"* &&
    $out == *"with --force it would:"* && $out == *"--bind=vfio-pci"* ]] ||
    fail "the host's NIC $iface was not refused with a plan"
  run 0 --dry-run --force bind "$iface"
  [[ $out == *"would run: dpdk-devbind.py --bind=vfio-pci"* ]] || fail "$out"
  [[ $(readlink -f "/sys/class/net/$iface/device/driver" ||
    readlink -f "/sys/class/net/$iface/device/../driver") == "$driver_before" ]] ||
    fail "a dry run changed $iface's driver"
  ip -4 route show default | grep -q "dev $iface" || fail "the route went"
fi
echo "PASS: bind-nic.sh"
