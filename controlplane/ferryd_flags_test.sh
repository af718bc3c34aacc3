#!/usr/bin/env bash
# Bad configuration ends ferryd with one clear error line and a non-zero
# exit, never a crash or a hang.
set -euo pipefail
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh

good=(--device=net_null0 --ip=10.0.0.2/24 --hugepages=off --memory_mb=128)
free_mb=$(($(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0) * 2))

# expect_error EXPECTED_SUBSTRING ARGS...
expect_error() {
  local want=$1
  shift
  local out rc=0
  out=$(timeout 60 "$FERRYD" "$@" 2>&1 >/dev/null) || rc=$?
  ((rc != 0)) || fail "exit 0 for: $*"
  ((rc < 124)) || fail "exit $rc (timeout or signal) for: $*"
  # Informational progress lines ("I1125 14:03:07.123 ...") may come first;
  # beyond them there must be exactly one line, the error.
  local problems
  problems=$(printf '%s\n' "$out" | grep -Ev '^I[0-9]{4} ' | grep . || true)
  local lines
  lines=$(printf '%s\n' "$problems" | grep -c . || true)
  ((lines == 1)) || fail "$lines non-info lines for: $* ---
$out"
  [[ $(printf '%s\n' "$out" | tail -n 1) == "$problems" ]] ||
    fail "the error is not the last line for: $*"
  [[ $problems == *"$want"* ]] ||
    fail "'$problems' does not mention '$want' for: $*"
  echo "ok (exit $rc): $problems"
}

expect_error "net_bogus0" --device=net_bogus0 --ip=10.0.0.2/24 --hugepages=off
expect_error "--device: '0000:zz:00.0' is not a PCI address" \
  --device=0000:zz:00.0 --ip=10.0.0.2/24
expect_error "--device: 'eth0' is neither" --device=eth0 --ip=10.0.0.2/24
expect_error "cannot attach device '0000:00:1f.7'" --device=0000:00:1f.7 \
  --ip=10.0.0.2/24 --hugepages=off
expect_error "--device: no device given" --ip=10.0.0.2/24
expect_error "--nics_file: cannot read /nonexistent/nics.conf" \
  --nics_file=/nonexistent/nics.conf
nics=${TEST_TMPDIR:-/tmp}/flags_test_nics.conf
printf 'device=net_null1 ip=10.0.1.2/24 colour=blue\n' >"$nics"
expect_error "line 1: unknown key 'colour'" --nics_file="$nics"
# Expect: the same address on two NICs is refused at start.
printf 'device=net_null1 ip=10.0.0.2/24\n' >"$nics"
expect_error "--nics_file (net_null1): address 10.0.0.2 is already used" \
  "${good[@]}" --nics_file="$nics"
expect_error "--ip: '10.0.0.300' is not an IPv4 address" \
  --device=net_null0 --ip=10.0.0.300/24
expect_error "--ip: '10.0.0.2/33': prefix length" \
  --device=net_null0 --ip=10.0.0.2/33
expect_error "--ip: '' is not an IPv4 address with prefix" --device=net_null0
expect_error "--gateway: 10.1.0.1 must be another address inside" \
  "${good[@]}" --gateway=10.1.0.1
expect_error "--mac: '02:00:00:00:00' is not a MAC address" \
  "${good[@]}" --mac=02:00:00:00:00
expect_error "--mac: 01:00:5e:00:00:01 is not a unicast address" \
  "${good[@]}" --mac=01:00:5e:00:00:01
expect_error "--cores: CPU 99 does not exist" "${good[@]}" --cores=99
expect_error "--cores: 'x' is not a CPU list" "${good[@]}" --cores=x
expect_error "--cores: 2 CPUs listed for 1 engines" "${good[@]}" --cores=0-1
expect_error "--mtu: 575 is out of range [576, 9000] (flows need at least 576" "${good[@]}" --mtu=575
expect_error "--mtu: 76 is out of range" "${good[@]}" --mtu=76
expect_error "--mtu: 9001 is out of range" "${good[@]}" --mtu=9001
expect_error "--engines: 0 is out of range" "${good[@]}" --engines=0
expect_error "--polling: 'lazy' is not busy or adaptive" \
  "${good[@]}" --polling=lazy
expect_error "--hugepages: 'maybe' is not auto, require or off" \
  --device=net_null0 --ip=10.0.0.2/24 --hugepages=maybe
# More hugepage memory than the machine has free, with --no-huge refused.
expect_error "--hugepages=require:" --device=net_null0 --ip=10.0.0.2/24 \
  --hugepages=require --memory_mb=$((free_mb + 2048))
expect_error "--channel_socket_mode: '0999' is not an octal permission" \
  "${good[@]}" --channel_socket_mode=0999
expect_error "--channel_pages: 'tiny' is not auto, huge or small" \
  "${good[@]}" --channel_pages=tiny
expect_error "--grpc_tls_address needs --grpc_tls_cert and --grpc_tls_key" \
  "${good[@]}" --channel_socket=@ferry-flags-$$ --grpc_socket=@ferry-flags-$$ \
  --metrics_address= --grpc_tls_address=127.0.0.1:0
expect_error "--admin_socket_mode: the admin socket is root's alone" \
  "${good[@]}" --admin_socket_mode=0660
expect_error "--grpc_socket_group: no group 'no-such-group-$$'" \
  "${good[@]}" --grpc_socket_group=no-such-group-$$
expect_error "--admin_socket: must differ from --grpc_socket" \
  "${good[@]}" --grpc_socket=@ferry-flags-$$ --admin_socket=@ferry-flags-$$
expect_error "--grpc_tls_admin_names needs --grpc_tls_client_ca" \
  "${good[@]}" --grpc_tls_admin_names=ops
expect_error "--fault_*: fault probability 2 is not in [0, 1]" \
  "${good[@]}" --fault_drop=2
expect_error "--cc: 'cubic' is not swift or none" "${good[@]}" --cc=cubic
expect_error "--cc_target_delay_us: must be 1..1000000" \
  "${good[@]}" --cc_target_delay_us=0
expect_error "Unknown command line flag 'bogus'" "${good[@]}" --bogus=1
expect_error "Illegal value 'many' specified for flag 'mtu'" \
  "${good[@]}" --mtu=many
# The config file is a flag file: its values are read and checked the same.
flagfile=${TEST_TMPDIR:-/tmp}/ferryd-$$.flags
printf '%s\n' --device=net_null0 --ip=10.0.0.2/24 --mtu=70000 >"$flagfile"
expect_error "--mtu: 70000 is out of range" --flagfile="$flagfile"

# ferryctl config check FILE runs ferryd --check_config on the file: the same
# checks, nothing started (a ferryd that started would not exit by itself).
printf '%s\n' --device=net_null0 --ip=10.0.0.2/24 --engines=1 \
  --hugepages=off >"$flagfile"
out=$(FERRYD=$FERRYD timeout 30 "$FERRYCTL" config check "$flagfile" 2>&1) ||
  fail "config check of a good file: $out"
[[ $out == "ferryd: configuration OK" ]] || fail "config check said: $out"
echo "ok: config check: $out"
printf '%s\n' --device=net_null0 --ip=10.0.0.2/33 >"$flagfile"
rc=0
out=$(FERRYD=$FERRYD timeout 30 "$FERRYCTL" config check "$flagfile" 2>&1) ||
  rc=$?
((rc == 2)) || fail "config check of a bad file: exit $rc: $out"
[[ $out == *"--ip: '10.0.0.2/33': prefix length must be 1..32"* ]] ||
  fail "config check of a bad file said: $out"
echo "ok (exit $rc): config check: $out"
rm -f "$flagfile"
rc=0
out=$("$FERRYCTL" config check "$flagfile" 2>&1) || rc=$?
((rc == 2)) && [[ $out == *"cannot read $flagfile"* ]] ||
  fail "config check of a missing file: exit $rc: $out"
echo "PASS: every bad flag ends with one clear line and a non-zero exit"
