// Per-engine counters, declared once in an X-macro list. Each has one
// writer, its engine thread, and is read by the control plane at scrape time
// (see dataplane/base/counter.h).
#ifndef FERRY_DATAPLANE_ENGINE_ENGINE_COUNTERS_H_
#define FERRY_DATAPLANE_ENGINE_ENGINE_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/base/counter.h"
#include "dataplane/base/spsc_ring.h"
#include "dataplane/net/frame_parser.h"

namespace ferry::engine {

// X(name, help)
#define FERRY_ENGINE_COUNTERS(X)                                              \
  X(rx_packets, "Frames received from the port queue")                        \
  X(rx_bytes, "Bytes received from the port queue")                           \
  X(tx_packets, "Frames the port queue accepted for transmission")            \
  X(tx_bytes, "Bytes the port queue accepted for transmission")               \
  X(tx_drop_full, "Frames dropped: the TX queue and its overflow were full")  \
  X(tx_deferred, "Frames the TX queue refused, kept for the next burst")      \
  X(tx_alloc_failed, "Frames not built because the mempool was empty")        \
  X(tx_drop_no_route, "Frames dropped: destination off-subnet, no gateway")   \
  X(rx_drop_foreign, "Frames for another MAC or IPv4 address")                \
  X(rx_drop_chained, "Multi-segment frames (not expected with this MTU)")     \
  X(rx_udp_unhandled, "UDP datagrams with no transport to take them")         \
  X(rx_icmp_unhandled, "ICMP messages other than echo request/reply")         \
  X(arp_requests_rx, "ARP requests received for this engine's address")       \
  X(arp_replies_rx, "ARP replies received")                                   \
  X(arp_requests_tx, "ARP requests sent to resolve a next hop")               \
  X(arp_replies_tx, "ARP replies sent")                                       \
  X(arp_ignored, "ARP packets neither for us nor about a known neighbour")    \
  X(arp_address_conflicts,                                                    \
    "ARP packets from another MAC claiming our address")                      \
  X(arp_resolved, "Next hops resolved by our ARP request")                    \
  X(arp_learned, "Neighbours learned from their ARP request to us")           \
  X(arp_resolve_failed, "Next hops that never answered ARP")                  \
  X(arp_reprobes,                                                             \
    "ARP requests confirming a next hop a flow got no answer through")        \
  X(arp_announcements_tx, "Gratuitous ARP announcements of our address sent") \
  X(arp_pending_dropped, "Frames dropped while waiting for ARP")              \
  X(arp_table_full, "Frames dropped: the neighbour table was full")           \
  X(icmp_echo_requests_rx, "ICMP echo requests received")                     \
  X(icmp_echo_replies_tx, "ICMP echo replies sent")                           \
  X(icmp_echo_requests_tx, "ICMP echo requests sent (ping command)")          \
  X(icmp_echo_replies_rx, "ICMP echo replies received for our pings")         \
  X(ping_rtt_ns_sum, "Sum of ping round-trip times in nanoseconds")           \
  X(ping_rtt_ns_max, "Largest ping round-trip time in nanoseconds")           \
  X(fault_dropped, "Frames dropped by fault injection")                       \
  X(fault_duplicated, "Frames sent twice by fault injection")                 \
  X(fault_delayed, "Frames held back by fault injection")                     \
  X(fault_corrupted, "Frames with one bit flipped by fault injection")        \
  X(fault_reordered, "Frames sent after later ones by fault injection")       \
  X(commands, "Control commands executed")                                    \
  X(sleeps, "Times the engine slept (adaptive polling)")                      \
  X(wakeups_rx_interrupt, "Sleeps ended by an RX interrupt")                  \
  X(wakeups_doorbell, "Sleeps ended by the doorbell (commands, channels)")    \
  X(sleep_ns, "Time spent asleep (adaptive polling)")                         \
  X(transport_segments_rx, "Ferry segments received for a flow")              \
  X(transport_segments_tx, "Ferry segments sent")                             \
  X(transport_messages_rx, "Messages received whole and delivered")           \
  X(transport_bytes_rx, "Message bytes received and delivered")               \
  X(transport_messages_tx, "Messages sent and acknowledged by the peer")      \
  X(transport_bytes_tx, "Message bytes sent and acknowledged by the peer")    \
  X(transport_retransmits_fast, "Segments resent on SACK evidence")           \
  X(transport_retransmits_timeout, "Segments resent after a timeout")         \
  X(transport_timeouts_spurious,                                              \
    "Timeouts whose first transmission the peer had after all (undone)")      \
  X(transport_rx_duplicates, "Data segments received again (dropped)")        \
  X(transport_rx_no_room,                                                     \
    "In-order segments refused: no room in the application's channel")        \
  X(transport_rx_beyond_window,                                               \
    "Data segments beyond the window advertised (dropped)")                   \
  X(transport_flows_opened, "Flows established (either side)")                \
  X(transport_flows_closed, "Flows closed in order")                          \
  X(transport_flows_reset, "Flows ended by a reset, dead peer or error")      \
  X(transport_flows_active, "Flows currently open (a gauge)")                 \
  X(transport_handshake_refused, "Connects refused: nobody listening")        \
  X(transport_handshake_timed_out, "Connects with no answer")                 \
  X(transport_handshake_unreachable,                                          \
    "Connects whose next hop never answered ARP")                             \
  X(transport_syn_no_listener, "SYNs refused: no listener on the port")       \
  X(transport_syn_no_slot, "SYNs refused: the flow table was full")           \
  X(transport_rx_unknown_flow, "Segments for no flow here (answered RST)")    \
  X(transport_rx_bad_header, "UDP datagrams with a bad Ferry header")         \
  X(transport_tx_parked,                                                      \
    "Messages held in order for a full flow while its channel went on")       \
  X(transport_flows_blocked,                                                  \
    "Times a flow's queue filled: its sends refused, other flows unaffected") \
  X(transport_rx_held_full,                                                   \
    "Out-of-order segments dropped: hold budget spent")                       \
  X(transport_steered_out, "Segments handed to the engine owning their flow") \
  X(transport_steered_in, "Segments another engine handed to this one")       \
  X(transport_steer_drops,                                                    \
    "Segments dropped: the steering ring was full or its engine gone")        \
  X(tx_via_out, "Frames handed to another NIC's engine to send")              \
  X(tx_via_in, "Frames sent for an engine of another NIC")                    \
  X(tx_via_drops,                                                             \
    "Frames for another NIC dropped: its ring was full or it was gone")       \
  X(transport_flows_interface_gone,                                           \
    "Flows reset because the NIC they left through was detached")             \
  X(transport_channels_drained,                                               \
    "Channels whose application left and whose queued messages all went out") \
  X(transport_linger_resets,                                                  \
    "Flows reset because their channel did not drain within its linger time") \
  X(transport_drain_discarded,                                                \
    "Messages received for an application that had left (acked, discarded)")  \
  X(transport_rx_no_checksum,                                                 \
    "Segments dropped: UDP checksum 0, and no hardware checked them")         \
  X(transport_rx_bad_ack,                                                     \
    "Segments dropped: they acknowledged what this side never sent")          \
  X(transport_rst_dropped,                                                    \
    "RSTs for a flow that matched neither its sequence nor its sends")        \
  X(transport_rst_challenged,                                                 \
    "RSTs inside the window but not exact: answered with a challenge ACK")    \
  X(transport_syn_listener_full,                                              \
    "SYNs refused: the listener already had its half-open flows")             \
  X(tx_payload_copies, "Segment payloads copied into a frame to send")        \
  X(tx_payload_copied_bytes, "Payload bytes copied into frames to send")      \
  X(tx_payload_zero_copy,                                                     \
    "Segment payloads sent from the application's buffers, not copied")       \
  X(tx_payload_zero_copy_bytes,                                               \
    "Payload bytes sent from the application's buffers, not copied")          \
  X(tx_privatized,                                                            \
    "Zero-copy frames copied after all, to wait (full port, ARP, faults)")    \
  X(transport_flows_secured,                                                  \
    "Encrypted flows whose handshake set up keys (either side)")              \
  X(transport_rx_auth_failed,                                                 \
    "Segments dropped before any flow state: forged or corrupted")            \
  X(transport_rx_replayed,                                                    \
    "Sealed segments dropped as replays (a packet number already seen)")      \
  X(transport_syn_untrusted,                                                  \
    "SYNs refused: the initiator's node key is not trusted")                  \
  X(transport_syn_plain_refused,                                              \
    "SYNs refused: not encrypted, and encryption is required")                \
  X(transport_handshake_untrusted,                                            \
    "Connects failed: the responder's node key is not trusted")               \
  X(transport_key_rotations,                                                  \
    "Encrypted flows' sending keys moved to the next epoch")                  \
  X(transport_queueing_ns,                                                    \
    "Round trips above their flow's base RTT, summed (queueing on the path)") \
  X(transport_cc_cuts_delay,                                                  \
    "Congestion windows cut: a round trip above the delay target")            \
  X(transport_cc_cuts_loss, "Congestion windows cut: segments were lost")

// Upper bounds (microseconds) of the flow RTT histogram's buckets; one more
// bucket takes everything above the last.
inline constexpr std::array<uint64_t, 13> kRttBucketBoundsUs = {
    5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000, 1000000};

struct alignas(kCacheLineSize) EngineCounters {
#define FERRY_COUNTER_FIELD(name, help) Counter name;
  FERRY_ENGINE_COUNTERS(FERRY_COUNTER_FIELD)
#undef FERRY_COUNTER_FIELD
  // Indexed by net::DropReason.
  std::array<Counter, net::kDropReasonCount + 1> rx_drop_malformed;
  // Flow round-trip samples: per bucket (not cumulative), and their sum.
  std::array<Counter, kRttBucketBoundsUs.size() + 1> rtt_buckets;
  Counter rtt_sum_ns;

  void RecordRtt(uint64_t rtt_ns) {
    const uint64_t us = rtt_ns / 1000;
    size_t i = 0;
    while (i < kRttBucketBoundsUs.size() && us > kRttBucketBoundsUs[i]) ++i;
    rtt_buckets[i].Inc();
    rtt_sum_ns.Add(rtt_ns);
  }
};

// A plain copy, taken by the control plane.
struct EngineStats {
#define FERRY_STATS_FIELD(name, help) uint64_t name = 0;
  FERRY_ENGINE_COUNTERS(FERRY_STATS_FIELD)
#undef FERRY_STATS_FIELD
  std::array<uint64_t, net::kDropReasonCount + 1> rx_drop_malformed{};
  std::array<uint64_t, kRttBucketBoundsUs.size() + 1> rtt_buckets{};
  uint64_t rtt_sum_ns = 0;
};

inline EngineStats Snapshot(const EngineCounters& c) {
  EngineStats s;
#define FERRY_SNAPSHOT_FIELD(name, help) s.name = c.name.Get();
  FERRY_ENGINE_COUNTERS(FERRY_SNAPSHOT_FIELD)
#undef FERRY_SNAPSHOT_FIELD
  for (size_t i = 0; i < s.rx_drop_malformed.size(); ++i) {
    s.rx_drop_malformed[i] = c.rx_drop_malformed[i].Get();
  }
  for (size_t i = 0; i < s.rtt_buckets.size(); ++i) {
    s.rtt_buckets[i] = c.rtt_buckets[i].Get();
  }
  s.rtt_sum_ns = c.rtt_sum_ns.Get();
  return s;
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_ENGINE_COUNTERS_H_
