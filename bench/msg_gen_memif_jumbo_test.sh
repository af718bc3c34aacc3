#!/usr/bin/env bash
# Jumbo frames over net_memif: two ferryd with --mtu=9000 (ferryd gives the
# memif a buffer size that holds such frames) and zero-copy transmit carry
# verified 64 KiB, 1 MiB and 1 KiB messages; a 64 KiB message takes 8
# segments instead of 46, and no frame arrives chained (which the engine
# would drop). A port whose bsize cannot hold the MTU's frames is refused
# with the limit named. In clear (--encryption=off): an encrypted segment
# is sealed into its frame, never sent from the application's buffer.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair jumbo 10.89.0 --mtu=9000 --tx_zero_copy_min_bytes=1024 --encryption=off \
  --memory_mb=512 --metrics_address=127.0.0.1:0
grep -q "mtu 9000" "$PAIR_LOG_A" || fail "A's port is not up at MTU 9000"
grep -q "mtu 9000" "$PAIR_LOG_B" || fail "B's port is not up at MTU 9000"
url_a=$(metrics_url "$PAIR_LOG_A")
url_b=$(metrics_url "$PAIR_LOG_B")

# Each size against its own server, every byte checked on both sides.
exchange() {  # exchange PORT SIZE WINDOW MESSAGES
  msg_gen_server "$dir/server_$1.log" $PAIR_GRPC_B "$1" --size="$2" --verify
  echo "== $4 messages of $2 B at window $3"
  timeout 120 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
    --remote=10.89.0.2:"$1" --size="$2" --window="$3" --messages="$4" \
    --verify --warmup_s=0 --quiet || fail "$4 messages of $2 B failed"
}
metrics_scrape "$url_a" >"$dir/a0.txt"
exchange 7001 65536 8 2000
metrics_scrape "$url_a" >"$dir/a1.txt"
exchange 7002 1048576 4 40
exchange 7003 1024 32 20000

# Segments A sent per 64 KiB request: ceil(65536 / (9000 - 76)) = 8 with
# data (at MTU 1500, 46), and the ACKs of B's responses that rode alone
# (10 in all measured here; well over 50 at MTU 1500).
messages=$(($(metric_sum ferry_engine_transport_messages_tx_total "$dir/a1.txt") -
  $(metric_sum ferry_engine_transport_messages_tx_total "$dir/a0.txt")))
segments=$(($(metric_sum ferry_engine_transport_segments_tx_total "$dir/a1.txt") -
  $(metric_sum ferry_engine_transport_segments_tx_total "$dir/a0.txt")))
echo "64 KiB run: $messages messages in $segments segments"
((messages >= 2000)) || fail "64 KiB run: $messages messages counted"
((segments >= 8 * messages && segments <= 16 * messages)) ||
  fail "64 KiB run: $segments segments for $messages messages (want 8 with data each)"
for url in "$url_a" "$url_b"; do
  metrics_scrape "$url" >"$dir/end.txt"
  chained=$(metric_sum ferry_engine_rx_drop_chained_total "$dir/end.txt")
  ((chained == 0)) || fail "$chained chained frames dropped"
  zc=$(metric_sum ferry_engine_tx_payload_zero_copy_total "$dir/end.txt")
  ((zc > 0)) || fail "no segment went out zero-copy"
done
testbed_cleanup

# A memif whose buffers cannot hold the frames: refused, saying why.
"$FERRYD" --device=net_memif0,role=server,id=0,socket=/ferry-jumbo-bad-$$,bsize=2048 \
  --ip=10.89.1.1/24 --mtu=9000 --channel_socket=@ferry-jumbo-bad-$$ \
  --grpc_socket=@ferry-jumbo-bad-grpc-$$ --metrics_address= --memory_mb=256 \
  >"$dir/bad.log" 2>&1 && fail "ferryd took MTU 9000 on 2048-byte memif buffers"
grep -q "takes frames of at most 2048 bytes: MTU 2030 at most, 9000 asked (its bsize devarg sets the limit)" \
  "$dir/bad.log" || { cat "$dir/bad.log"; fail "no clear refusal"; }
echo "PASS: jumbo frames over memif, every message verified"
