// The transport endpoint, wire side: building and sending segments, and
// receiving them: demultiplexing by flow id (and steering to the engine
// that owns the flow), SYNs to listeners, RSTs for unknown flows.
#include <algorithm>
#include <cstring>

#include "dataplane/base/logging.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/transport_endpoint.h"
#include "dataplane/engine/transport_endpoint_send_segment.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/ferry_segment_builder.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {

using net::FerryHeader;
using net::FerryPacketType;
using transport::Flow;
using transport::FlowEndReason;
using transport::FlowState;

namespace {

// A segment sealed under a flow's keys (TransmitSecure sends these without
// a UDP checksum). The handshake's SYN and SYN-ACK are not: their key
// shares travel in clear and need the checksum.
bool SealedAfterHandshake(const FerryHeader& header) {
  return (header.flags & net::kFerryFlagSecure) != 0 &&
         header.type != FerryPacketType::kSyn &&
         header.type != FerryPacketType::kSynAck;
}

}  // namespace

void TransportEndpoint::SendReset(const net::ParsedFrame& frame,
                                  const FerryHeader& header, uint8_t flags) {
  FerryHeader rst;
  rst.type = FerryPacketType::kRst;
  rst.flags = flags;
  rst.dst_flow = header.src_flow;
  rst.ack = header.seq + 1;
  SendSegment(RouteFrom(frame.ip_dst), frame.ip_src, frame.udp_src_port,
              frame.udp_dst_port, rst, 0, [](uint8_t*) {});
}

void TransportEndpoint::OnUdp_st(dpdk::Packet* pkt,
                                 const net::ParsedFrame& frame,
                                 uint64_t now_ns) {
  now_ns_ = now_ns;
  const absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkt);
  const absl::Span<const uint8_t> udp_payload =
      bytes.subspan(frame.payload_offset, frame.payload_length);
  FerryHeader header;
  size_t payload_offset = 0;
  const net::FerryHeaderError header_error =
      net::ParseFerryHeader(udp_payload, &header, &payload_offset);
  // Ferry checksums every segment but the sealed ones after a handshake,
  // whose tag vouches for them (SecureIn_st opens them before anything
  // else): any other without a checksum was not sent by an engine.
  if (frame.udp_unchecked && (header_error != net::FerryHeaderError::kNone ||
                              !SealedAfterHandshake(header))) {
    counters_.transport_rx_no_checksum.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (header_error != net::FerryHeaderError::kNone) {
    counters_.transport_rx_bad_header.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  const bool syn = header.type == FerryPacketType::kSyn && header.dst_flow == 0;
  if (group_ != nullptr) {
    // Whose packet is it? A SYN's, the listener's engine; any other, the
    // engine named in its destination flow id.
    int owner = index_;
    if (syn) {
      const int listener = group_->ListenerEngine(frame.udp_dst_port);
      if (listener >= 0) owner = listener;
    } else if (EngineOfFlow(header.dst_flow) < group_->size()) {
      owner = EngineOfFlow(header.dst_flow);
    }
    if (owner != index_) {
      if (group_->Hand(index_, owner, pkt)) {
        counters_.transport_steered_out.Inc();
      } else {
        counters_.transport_steer_drops.Inc();
        dpdk::FreePacket(pkt);
      }
      return;
    }
  }
  if (syn) {
    OnSyn(pkt, frame, header, udp_payload.subspan(payload_offset), now_ns);
    return;
  }
  Entry* e = Lookup(header.dst_flow);
  // The id must come from the peer the flow talks to: another host cannot
  // inject into a flow by guessing its id.
  if (e == nullptr || e->remote_ip != frame.ip_src ||
      e->remote_port != frame.udp_src_port ||
      e->local_port != frame.udp_dst_port || e->route.ip != frame.ip_dst) {
    counters_.transport_rx_unknown_flow.Inc();
    if (header.type != FerryPacketType::kRst) SendReset(frame, header);
    dpdk::FreePacket(pkt);
    return;
  }
  absl::Span<const uint8_t> payload = udp_payload.subspan(payload_offset);
  if ((e->crypto != nullptr || (header.flags & net::kFerryFlagSecure) != 0) &&
      !SecureIn_st(*e, pkt, frame, header, payload_offset, &payload)) {
    dpdk::FreePacket(pkt);
    return;
  }
  counters_.transport_segments_rx.Inc();
  const uint32_t slot = e->flow->owner;
  const bool can_hold = held_packets_ < config_.max_held_packets;
  const uint64_t handle =
      can_hold ? reinterpret_cast<uint64_t>(pkt) : kNoHandle;
  const bool kept = e->flow->OnSegment(header, payload, handle, now_ns);
  if (kept) {
    ++held_packets_;
  } else {
    if (!can_hold && header.type == FerryPacketType::kData) {
      counters_.transport_rx_held_full.Inc();
    }
    dpdk::FreePacket(pkt);
  }
  Touch(slot);
}

void TransportEndpoint::OnSyn(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                              const FerryHeader& header,
                              absl::Span<const uint8_t> payload,
                              uint64_t now_ns) {
  const SynKey key{frame.ip_src.value, header.src_flow, frame.udp_src_port,
                   frame.udp_dst_port};
  if (auto it = syn_index_.find(key); it != syn_index_.end()) {
    // A repeated SYN: our SYN-ACK was lost. The flow answers it again.
    Entry& e = entries_[it->second];
    e.flow->OnSegment(header, {}, kNoHandle, now_ns);
    Touch(it->second);
    dpdk::FreePacket(pkt);
    return;
  }
  channel::EngineChannel* listener = listeners_[frame.udp_dst_port];
  if (listener != nullptr && !listener_addresses_.empty()) {
    auto it = listener_addresses_.find(frame.udp_dst_port);
    if (it != listener_addresses_.end() && it->second != frame.ip_dst) {
      listener = nullptr;  // it listens on another NIC only
    }
  }
  if (listener == nullptr || header.src_flow == 0) {
    counters_.transport_syn_no_listener.Inc();
    SendReset(frame, header);
    dpdk::FreePacket(pkt);
    return;
  }
  if (!MakeRoomForHalfOpen(frame.udp_dst_port)) {
    counters_.transport_syn_listener_full.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  std::unique_ptr<crypto::FlowCrypto> flow_crypto;
  if (!SecureSyn_st(frame, header, payload, &flow_crypto)) {
    dpdk::FreePacket(pkt);
    return;
  }
  Entry* e =
      NewFlow(*listener, RouteFrom(frame.ip_dst), frame.ip_src,
              frame.udp_src_port, frame.udp_dst_port, flow_crypto != nullptr);
  if (e == nullptr) {
    // No RST: the peer retries, and a slot may free up meanwhile.
    counters_.transport_syn_no_slot.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  dpdk::FreePacket(pkt);
  e->crypto = std::move(flow_crypto);
  e->remote_flow = header.src_flow;
  syn_index_.emplace(key, e->flow->owner);
  e->half_open = true;
  half_open_.Add(e->flow->local_id());
  half_open_by_port_
      .try_emplace(frame.udp_dst_port, config_.max_half_open_per_listener)
      .first->second.Add(e->flow->local_id());
  e->flow->StartAccept(header, now_ns);
  Touch(e->flow->owner);
}

bool TransportEndpoint::SendSegmentBeside(const Entry& e,
                                          const FerryHeader& header,
                                          uint32_t length,
                                          const channel::MessagePiece* pieces,
                                          uint32_t count) {
  if (!sending_) return true;
  dpdk::Packet* pkt = io_.AllocPacket_st();
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    return true;  // the flow's retransmission timer covers it
  }
  const absl::Span<uint8_t> room = dpdk::FrameRoom(pkt);
  const bool offload = tx_ipv4_checksum_offload_;
  const net::FerrySegmentAddress address = {
      {e.route.mac, net::MacAddress{}, e.route.ip, e.remote_ip},
      e.local_port,
      e.remote_port,
      static_cast<uint16_t>(ip_id_ + 1),
      !offload};
  const size_t at = net::StartFerrySegment(room, address, header, length);
  if (at == 0) {
    dpdk::FreePacket(pkt);
    return false;
  }
  dpdk::SetFrameLength(pkt, static_cast<uint32_t>(at));
  uint32_t sum = 0;
  uint32_t offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!io_.AppendExternal_st(pkt, pieces[i].data, pieces[i].length)) {
      dpdk::FreePacket(pkt);  // with the pieces appended so far
      return false;
    }
    sum = net::ChecksumAddAt(
        sum, absl::MakeConstSpan(pieces[i].data, pieces[i].length), offset);
    offset += pieces[i].length;
  }
  ++ip_id_;
  net::FinishFerrySegmentBeside(room, address, header, length, sum);
  if (offload) dpdk::RequestIpv4ChecksumOffload(pkt);
  counters_.transport_segments_tx.Inc();
  counters_.tx_payload_zero_copy.Inc();
  counters_.tx_payload_zero_copy_bytes.Add(length);
  io_.SendIpv4_st(pkt, e.remote_ip, now_ns_);
  return true;
}

void TransportEndpoint::Transmit(Flow& flow, const FerryHeader& header,
                                 uint64_t message, uint32_t offset,
                                 uint32_t length) {
  Entry& e = EntryOf(flow);
  if (e.crypto != nullptr) {
    TransmitSecure(e, header, message, offset, length);
    return;
  }
  channel::EngineChannel* channel = e.channel;
  const bool has_payload = length > 0 && message != kEmptyMessage;
  // Zero-copy only for frames this engine sends itself: another NIC's
  // engine copies what it is handed (Engine::SendForOther_st).
  if (has_payload && config_.zero_copy_min_bytes != 0 &&
      length >= config_.zero_copy_min_bytes && e.route.via < 0 &&
      io_.TxExternal_st()) {
    channel::MessagePiece pieces[kMaxZeroCopyPieces];
    const uint32_t count =
        channel->TxPieces_st(static_cast<uint32_t>(message - 1), offset, length,
                             pieces, kMaxZeroCopyPieces);
    if (count > 0 && SendSegmentBeside(e, header, length, pieces, count)) {
      return;
    }
  }
  SendSegment(e.route, e.remote_ip, e.remote_port, e.local_port, header, length,
              [&](uint8_t* payload) -> uint32_t {
                if (!has_payload) return 0;
                counters_.tx_payload_copies.Inc();
                counters_.tx_payload_copied_bytes.Add(length);
                return channel->CopyTxSummed_st(
                    static_cast<uint32_t>(message - 1), offset, payload,
                    length);
              });
}

}  // namespace ferry::engine
