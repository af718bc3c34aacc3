#!/usr/bin/env bash
# Two ferryd processes joined by net_memif (one server, one client). Each
# pings the other: each must learn the other's MAC through ARP and answer
# the other's ICMP echo requests.
set -euo pipefail
FERRYD=$(realpath "$1")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

# An abstract Unix socket: nothing on disk to clean up, unique per run.
socket=/ferry-memif-test-$$
dir=${TEST_TMPDIR:-/tmp}
log_a=$dir/ferryd_memif_a.log
log_b=$dir/ferryd_memif_b.log
common=(--ping_count=5 --ping_interval_ms=100 --stats_interval_s=1
        --memory_mb=256 --metrics_address=127.0.0.1:0)

start_bg "$log_a" "$FERRYD" \
  --device=net_memif0,role=server,id=0,socket=$socket --ip=10.88.0.1/24 \
  --channel_socket=@ferry-memif-test-a-$$ --grpc_socket=@ferry-memif-grpc-a-$$ \
  --ping=10.88.0.2 "${common[@]}"
pid_a=$LAST_PID
# The client's port start fails unless the server's socket already exists.
wait_for_line "$log_a" "ferryd ready" 60
start_bg "$log_b" "$FERRYD" \
  --device=net_memif0,role=client,id=0,socket=$socket --ip=10.88.0.2/24 \
  --channel_socket=@ferry-memif-test-b-$$ --grpc_socket=@ferry-memif-grpc-b-$$ \
  --ping=10.88.0.1 "${common[@]}"
pid_b=$LAST_PID
wait_for_line "$log_b" "ferryd ready" 60

wait_for_line "$log_a" "stats engine=0 .*icmp_echo_replies_rx=5 " 60
wait_for_line "$log_b" "stats engine=0 .*icmp_echo_replies_rx=5 " 60
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20

for log in "$log_a" "$log_b"; do
  echo "== $log"
  resolved=$(stat "$log" 0 arp_resolved)
  learned=$(stat "$log" 0 arp_learned)
  # Each side knows the other through ARP: by its own request, or by the
  # other's request to it, whichever came first.
  ((resolved + learned >= 1)) ||
    fail "$log: peer MAC not learned by ARP (resolved=$resolved learned=$learned)"
  echo "ok: arp_resolved=$resolved arp_learned=$learned"
  expect_stat_eq "$log" 0 icmp_echo_requests_tx 5
  expect_stat_eq "$log" 0 icmp_echo_replies_rx 5
  expect_stat_eq "$log" 0 icmp_echo_requests_rx 5
  expect_stat_eq "$log" 0 icmp_echo_replies_tx 5
done
# Between them, at least one ARP request was answered.
replies=$(($(stat "$log_a" 0 arp_replies_tx) + $(stat "$log_b" 0 arp_replies_tx)))
((replies >= 1)) || fail "no ARP reply was sent by either side"
echo "PASS: two ferryd over net_memif resolve each other and answer echo"
