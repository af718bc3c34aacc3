#!/usr/bin/env bash
# Gives a PCI NIC to DPDK (vfio-pci) for ferryd, and back to the kernel.
#
#   deploy/bind-nic.sh [--dry-run] [--force] [--driver=vfio-pci] bind IFACE|PCI
#   deploy/bind-nic.sh [--dry-run] [--driver=KERNEL_DRIVER] unbind PCI
#   deploy/bind-nic.sh status
#
# bind takes a kernel interface name (eth1) or a PCI address (0000:3b:00.0,
# or 3b:00.0). It refuses a NIC whose kernel interface carries a default
# route or an IP address (the host's own connection would go with it) unless
# --force. --dry-run prints every step and changes nothing; a refused
# --dry-run also prints what --force would do. The kernel driver a NIC had
# is remembered (/run/ferry/bind-nic/PCI.driver) so that unbind restores
# it; --driver overrides.
#
# Binding goes through Debian's dpdk-devbind.py (package dpdk). With no
# IOMMU (many VMs), vfio-pci needs its no-IOMMU mode: the step is printed,
# and taken only with --force, since it gives the device DMA to all memory.
#
# Exit status: 0 done (or planned, with --dry-run), 2 bad usage, 3 refused,
# 1 a step failed.
set -euo pipefail

# Overridable for the unit test: a fake sysfs tree, state directory and
# commands.
SYSFS=${BIND_NIC_SYSFS:-/sys}
STATE_DIR=${BIND_NIC_STATE_DIR:-/run/ferry/bind-nic}
DEVBIND=${BIND_NIC_DEVBIND:-dpdk-devbind.py}
IP=${BIND_NIC_IP:-ip}
MODPROBE=${BIND_NIC_MODPROBE:-modprobe}

usage() {
  echo "bind-nic: $*" >&2
  echo "usage: bind-nic.sh [--dry-run] [--force] [--driver=D] bind IFACE|PCI" \
    "| unbind PCI | status" >&2
  exit 2
}

# Prints the full PCI address (domain included) of a PCI address in either
# form; fails for anything else.
normalize_pci() {
  local a=${1,,}
  if [[ $a =~ ^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]]; then
    a=0000:$a
  fi
  [[ $a =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] || return 1
  echo "$a"
}

# The PCI device under a kernel interface: its device link, or the nearest
# PCI ancestor of it (a virtio NIC's interface hangs off virtioN, whose
# parent is the PCI function).
pci_of_interface() {
  local iface=$1 path part
  [[ -e $SYSFS/class/net/$iface ]] || return 1
  [[ -e $SYSFS/class/net/$iface/device ]] || return 1
  path=$(readlink -f "$SYSFS/class/net/$iface/device")
  while [[ $path == "$SYSFS"/* ]]; do
    part=${path##*/}
    if normalize_pci "$part" >/dev/null 2>&1; then
      echo "$part"
      return 0
    fi
    path=${path%/*}
  done
  return 1
}

# Kernel interfaces that belong to a PCI device, one per line.
interfaces_of_pci() {
  local pci=$1 link iface
  for link in "$SYSFS"/class/net/*; do
    [[ -e $link/device ]] || continue
    iface=${link##*/}
    [[ $(pci_of_interface "$iface" || true) == "$pci" ]] && echo "$iface"
  done
  return 0
}

# The driver a PCI device is bound to now (empty: none).
driver_of_pci() {
  local link=$SYSFS/bus/pci/devices/$1/driver
  [[ -e $link ]] || return 0
  basename "$(readlink -f "$link")"
}

# Why an interface must not be taken from the kernel, one line per reason;
# nothing when it is free.
reasons_in_use() {
  local iface=$1
  if [[ -n $($IP -4 route show default dev "$iface" 2>/dev/null) ||
    -n $($IP -6 route show default dev "$iface" 2>/dev/null) ]]; then
    echo "$iface carries a default route (the host's own connection)"
  fi
  local addresses
  addresses=$($IP -o addr show dev "$iface" scope global 2>/dev/null |
    awk '{print $4}' | paste -sd, -)
  if [[ -n $addresses ]]; then
    echo "$iface has addresses in use: $addresses"
  fi
}

iommu_present() {
  [[ -n $(ls -A "$SYSFS/kernel/iommu_groups" 2>/dev/null) ]]
}

plan=()
step() { plan+=("$*"); }

run_plan() {  # DRY_RUN
  local s
  for s in "${plan[@]}"; do
    if (($1)); then
      echo "would run: $s"
    else
      echo "running: $s"
      bash -c "$s"
    fi
  done
}

main() {
  local dry_run=0 force=0 driver="" words=()
  local arg
  for arg in "$@"; do
    case $arg in
      --dry-run) dry_run=1 ;;
      --force) force=1 ;;
      --driver=*)
        driver=${arg#--driver=}
        [[ $driver =~ ^[a-z0-9_-]+$ ]] || usage "bad driver name '$driver'"
        ;;
      -h | --help)
        sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
      -*) usage "unknown flag $arg" ;;
      *) words+=("$arg") ;;
    esac
  done
  ((${#words[@]} > 0)) || usage "no command"
  case ${words[0]} in
    status)
      ((${#words[@]} == 1)) || usage "status takes no argument"
      exec $DEVBIND --status-dev net
      ;;
    bind)
      ((${#words[@]} == 2)) || usage "bind takes one IFACE or PCI address"
      bind_nic "${words[1]}" "${driver:-vfio-pci}" "$dry_run" "$force"
      ;;
    unbind)
      ((${#words[@]} == 2)) || usage "unbind takes one PCI address"
      unbind_nic "${words[1]}" "$driver" "$dry_run"
      ;;
    *) usage "unknown command '${words[0]}'" ;;
  esac
}

bind_nic() {  # TARGET DRIVER DRY_RUN FORCE
  local target=$1 driver=$2 dry_run=$3 force=$4 pci
  if pci=$(normalize_pci "$target"); then
    [[ -e $SYSFS/bus/pci/devices/$pci ]] ||
      usage "no PCI device $pci on this host"
  elif [[ $target =~ ^[A-Za-z0-9_.-]{1,15}$ && -e $SYSFS/class/net/$target ]]; then
    pci=$(pci_of_interface "$target") ||
      usage "$target is not a PCI NIC (a virtual interface: use it with" \
        "net_af_packet or net_af_xdp instead)"
  else
    usage "'$target' is neither a PCI address nor an interface here"
  fi
  local current
  current=$(driver_of_pci "$pci")
  if [[ $current == "$driver" ]]; then
    echo "bind-nic: $pci is already bound to $driver"
    return 0
  fi
  local ifaces reasons="" iface
  ifaces=$(interfaces_of_pci "$pci")
  for iface in $ifaces; do
    reasons+=$(reasons_in_use "$iface")$'\n'
  done
  reasons=$(grep . <<<"$reasons" || true)

  local in_use=$reasons
  if [[ $driver == vfio-pci ]]; then
    step "$MODPROBE vfio-pci"
    if ! iommu_present; then
      # Without an IOMMU, vfio-pci only binds in its unsafe mode.
      reasons+=${reasons:+$'\n'}"no IOMMU: vfio-pci needs its unsafe no-IOMMU mode (the device can DMA to any memory)"
      step "echo 1 > $SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode"
    fi
  fi
  for iface in $ifaces; do step "$IP link set dev $iface down"; done
  if [[ -n $current ]]; then
    step "mkdir -p $STATE_DIR && echo $current > $STATE_DIR/$pci.driver"
  fi
  # dpdk-devbind.py refuses an interface with routes unless forced too.
  step "$DEVBIND --bind=$driver $pci${in_use:+ --force}"

  echo "bind-nic: $pci (${ifaces:-no kernel interface}, driver" \
    "${current:-none}) -> $driver"
  if [[ -n $reasons && $force -eq 0 ]]; then
    echo "bind-nic: refused:" >&2
    sed 's/^/  /' <<<"$reasons" >&2
    echo "bind-nic: with --force it would:" >&2
    local s
    for s in "${plan[@]}"; do echo "  $s" >&2; done
    exit 3
  fi
  if [[ -n $reasons ]]; then
    echo "bind-nic: --force: taking it anyway:"
    sed 's/^/  /' <<<"$reasons"
  fi
  run_plan "$dry_run"
}

unbind_nic() {  # PCI DRIVER DRY_RUN
  local pci driver=$2 dry_run=$3
  pci=$(normalize_pci "$1") || usage "'$1' is not a PCI address"
  [[ -e $SYSFS/bus/pci/devices/$pci ]] || usage "no PCI device $pci on this host"
  if [[ -z $driver && -f $STATE_DIR/$pci.driver ]]; then
    driver=$(<"$STATE_DIR/$pci.driver")
  fi
  [[ -n $driver ]] ||
    usage "no kernel driver remembered for $pci: give --driver=NAME"
  step "$DEVBIND --bind=$driver $pci"
  step "rm -f $STATE_DIR/$pci.driver"
  echo "bind-nic: $pci ($(driver_of_pci "$pci")) -> $driver"
  run_plan "$dry_run"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
