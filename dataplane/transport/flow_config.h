// Every tunable of a flow, in one place.
#ifndef FERRY_DATAPLANE_TRANSPORT_FLOW_CONFIG_H_
#define FERRY_DATAPLANE_TRANSPORT_FLOW_CONFIG_H_

#include <cstdint>

#include "dataplane/transport/congestion_control.h"
#include "dataplane/transport/handshake.h"
#include "dataplane/transport/message_segments.h"
#include "dataplane/transport/rtt_estimator.h"

namespace ferry::transport {

struct FlowConfig {
  // Payload bytes per segment (MssForMtu of the path MTU).
  uint32_t mss = MssForMtu(1500);
  // Segments in flight at most, whatever the windows say (the send
  // tracker's ring): 256 x 1424 B is 356 KiB, several round trips of a
  // 100 Gb/s datacenter path at 10 us.
  uint32_t max_in_flight = 256;
  // Messages queued per flow (sent or not, not yet acknowledged).
  uint32_t max_queued_messages = 128;
  // Out-of-order segments held per flow (rounded up to a power of two):
  // also the most the receive window ever advertises.
  uint32_t receive_window = 256;
  // Most new segments one Pump sends, so one flow cannot monopolize a
  // poll iteration.
  uint32_t max_burst = 32;
  // Delayed ACKs: an ACK goes out after this many segments or this long,
  // whichever first; at once when the sender asks (the last segment its
  // windows let out while it has more to send), for a gap, a duplicate or
  // a probe. ACKs ride on data when there is data: the delay is how long
  // a request's ACK waits for the response to carry it. A bare ACK is a
  // frame each way as costly as the data's, and an application under load
  // takes hundreds of microseconds to answer. The sender's RTO learns how
  // long its peer holds ACKs (Flow::answer_rtt_).
  uint32_t ack_every_segments = 8;
  uint64_t ack_delay_ns = 500'000;
  // A flow that waits for an answer (data in flight, a keepalive or a
  // window probe unanswered) and hears nothing at all from its peer for
  // this long ends: the peer is dead (kPeerDead). Retransmissions (at most
  // rtt.max_rto_ns apart) and keepalives go on until then. ferryd's
  // --peer_timeout_ms.
  uint64_t peer_timeout_ns = 2'000'000'000;
  // An idle flow sends a keepalive after keepalive_idle_ns of silence,
  // then one every keepalive_interval_ns until the peer answers (or
  // peer_timeout_ns has passed since the first).
  uint64_t keepalive_idle_ns = 1'000'000'000;
  uint64_t keepalive_interval_ns = 200'000'000;
  CongestionConfig congestion;
  RttBounds rtt;
  HandshakeTimings handshake;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_FLOW_CONFIG_H_
