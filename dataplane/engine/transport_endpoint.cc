#include "dataplane/engine/transport_endpoint.h"

#include <algorithm>
#include <cstring>

#include "dataplane/base/logging.h"
#include "dataplane/dpdk/packet.h"
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

constexpr size_t kSegmentHeadroom = net::kEtherHeaderSize +
                                    net::kIpv4HeaderSize + net::kUdpHeaderSize +
                                    net::kFerryHeaderSize;

ferry_status StatusForEnd(FlowEndReason reason) {
  switch (reason) {
    case FlowEndReason::kNone:
      return FERRY_STATUS_OK;
    case FlowEndReason::kClosed:
      return FERRY_STATUS_CLOSED;
    case FlowEndReason::kRefused:
      return FERRY_STATUS_REFUSED;
    case FlowEndReason::kTimedOut:
      return FERRY_STATUS_TIMED_OUT;
    case FlowEndReason::kReset:
      return FERRY_STATUS_RESET;
    case FlowEndReason::kPeerDead:
      return FERRY_STATUS_PEER_DEAD;
    case FlowEndReason::kProtocolError:
      return FERRY_STATUS_PROTOCOL_ERROR;
    case FlowEndReason::kAborted:
      return FERRY_STATUS_ABORTED;
  }
  return FERRY_STATUS_ABORTED;
}

ferry_ctrl_flow_args ReadArgs(const ferry_ctrl& request) {
  ferry_ctrl_flow_args args;
  static_assert(sizeof(args) == sizeof(request.args));
  std::memcpy(&args, request.args, sizeof(args));
  return args;
}

void WriteArgs(const ferry_ctrl_flow_args& args, ferry_ctrl* reply) {
  std::memcpy(reply->args, &args, sizeof(args));
}

}  // namespace

TransportEndpoint::TransportEndpoint(const TransportConfig& config,
                                     net::MacAddress mac, net::Ipv4Address ip,
                                     bool tx_ipv4_checksum_offload,
                                     PacketIo& io, EngineCounters& counters,
                                     EngineGroup* group, int index)
    : config_(config),
      group_(group),
      index_(index),
      mac_(mac),
      ip_(ip),
      tx_ipv4_checksum_offload_(tx_ipv4_checksum_offload),
      io_(io),
      counters_(counters),
      entries_(std::min(config.max_flows, kSlotMask)),
      listeners_(65536, nullptr),
      half_open_(config.max_half_open),
      next_ephemeral_(config.ephemeral_first) {
  free_slots_.reserve(entries_.size());
  for (uint32_t i = static_cast<uint32_t>(entries_.size()); i > 0; --i) {
    free_slots_.push_back(i - 1);
  }
  syn_index_.reserve(entries_.size());
  pump_list_.reserve(entries_.size());
  pump_next_.reserve(entries_.size());
  reap_list_.reserve(entries_.size());
}

TransportEndpoint::~TransportEndpoint() {
  // Flows hold packets from the engine's pool: give them back first. The
  // engine is going away: nothing is sent (Shutdown_st sent the RSTs).
  sending_ = false;
  for (Entry& e : entries_) {
    if (e.flow != nullptr && e.flow->state() != FlowState::kClosed) {
      e.flow->Abort(now_ns_);
    }
  }
}

void TransportEndpoint::Shutdown_st(uint64_t now_ns) {
  now_ns_ = now_ns;
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr) continue;
    AbortConnect(e, FERRY_STATUS_ABORTED);
    e.flow->Abort(now_ns);
  }
  for (uint32_t slot : reap_list_) Reap(slot);
  reap_list_.clear();
}

TransportEndpoint::Entry* TransportEndpoint::Lookup(uint64_t flow_id) {
  if (flow_id > UINT32_MAX) return nullptr;
  const uint32_t slot = static_cast<uint32_t>(flow_id) & kSlotMask;
  if (slot >= entries_.size()) return nullptr;
  Entry& e = entries_[slot];
  if (e.flow == nullptr || e.reaping || FlowId(slot) != flow_id) {
    return nullptr;
  }
  return &e;
}

TransportEndpoint::Entry* TransportEndpoint::NewFlow(
    channel::EngineChannel& channel, net::Ipv4Address remote_ip,
    uint16_t remote_port, uint16_t local_port) {
  if (free_slots_.empty()) return nullptr;
  uint32_t& channel_flows = flows_per_channel_[&channel];
  if (channel_flows >= config_.max_flows_per_channel) return nullptr;
  uint32_t& owner_flows = flows_per_owner_[channel.quota_owner()];
  if (owner_flows >= config_.max_flows_per_session) return nullptr;
  ++channel_flows;
  ++owner_flows;
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  high_water_ = std::max(high_water_, slot + 1);
  Entry& e = entries_[slot];
  e.channel = &channel;
  e.remote_ip = remote_ip;
  e.remote_port = remote_port;
  e.local_port = local_port;
  e.remote_flow = 0;
  e.in_pump_list = false;
  e.connect_pending = false;
  e.connect_completion = nullptr;
  e.reaping = false;
  e.drain_closed = false;
  e.half_open = false;
  e.announced = false;
  e.flow =
      std::make_unique<Flow>(FlowId(slot), random_.Next(), config_.flow, *this);
  e.flow->owner = slot;
  ++active_flows_;
  counters_.transport_flows_active.Set(active_flows_);
  return &e;
}

void TransportEndpoint::Touch(uint32_t slot) {
  Entry& e = entries_[slot];
  if (e.in_pump_list) return;
  e.in_pump_list = true;
  pump_list_.push_back(slot);
}

void TransportEndpoint::HalfOpenDone(Entry& e) {
  if (!e.half_open) return;
  e.half_open = false;
  half_open_.Done();
  auto it = half_open_by_port_.find(e.local_port);
  if (it == half_open_by_port_.end()) return;
  it->second.Done();
  if (it->second.count() == 0) half_open_by_port_.erase(it);
}

bool TransportEndpoint::MakeRoomForHalfOpen(uint16_t port) {
  const auto is_live = [&](uint32_t id) {
    const Entry* e = Lookup(id);
    return e != nullptr && e->half_open;
  };
  const auto evict = [&](uint32_t id) {
    Entry& e = *Lookup(id);
    HalfOpenDone(e);
    // Silently: a flood's SYNs come from addresses that sent nothing.
    e.flow->Drop();
    counters_.transport_syn_listener_full.Inc();
  };
  // Half-open flows at a port (its queue goes away with its last one).
  const auto count_at = [&](uint16_t p) -> uint32_t {
    auto it = half_open_by_port_.find(p);
    return it == half_open_by_port_.end() ? 0 : it->second.count();
  };
  const auto evict_oldest_at = [&](uint16_t p) {
    auto it = half_open_by_port_.find(p);
    uint32_t id;
    if (it == half_open_by_port_.end() ||
        !it->second.PopOldestLive(is_live, &id)) {
      return false;
    }
    evict(id);
    return true;
  };
  // A listener at its own bound makes room from its own flows.
  while (count_at(port) >= config_.max_half_open_per_listener &&
         evict_oldest_at(port)) {
  }
  // The engine at its bound: the listener holding the most half-open flows
  // gives up its oldest (the incoming SYN's own listener when tied). A
  // flood at one listener so cannot push out another's handshakes, while a
  // lone listener may still use the engine's whole room for a burst of
  // real connects (evicting the oldest of those would reset flows whose
  // ACK was on its way). The scan is over ports with half-open flows.
  while (half_open_.full()) {
    uint16_t victim = port;
    uint32_t most = count_at(port);
    for (const auto& [p, queue] : half_open_by_port_) {
      if (queue.count() > most) {
        most = queue.count();
        victim = p;
      }
    }
    if (evict_oldest_at(victim)) continue;
    // Its ids were forgotten (see HalfOpenQueue): the engine's oldest.
    uint32_t id;
    if (!half_open_.PopOldestLive(is_live, &id)) break;
    evict(id);
  }
  return !half_open_.full() &&
         count_at(port) < config_.max_half_open_per_listener;
}

void TransportEndpoint::Reap(uint32_t slot) {
  Entry& e = entries_[slot];
  HalfOpenDone(e);
  if (e.remote_flow != 0) {
    syn_index_.erase(
        SynKey{e.remote_ip.value, e.remote_flow, e.remote_port, e.local_port});
  }
  if (auto it = flows_per_channel_.find(e.channel);
      it != flows_per_channel_.end() && it->second > 0) {
    --it->second;
  }
  if (auto it = flows_per_owner_.find(e.channel->quota_owner());
      it != flows_per_owner_.end() && --it->second == 0) {
    flows_per_owner_.erase(it);
  }
  e.flow.reset();
  e.channel = nullptr;
  e.reaping = false;
  e.in_pump_list = false;
  // A new generation, random (a flow id tells nothing of the next one) and
  // never the old one: ids of the old flow no longer match this slot.
  uint16_t generation = e.generation;
  while (generation == e.generation || generation == 0) {
    generation = static_cast<uint16_t>(random_.Next() & 0xfff);
  }
  e.generation = generation;
  free_slots_.push_back(slot);
  --active_flows_;
  counters_.transport_flows_active.Set(active_flows_);
}

uint16_t TransportEndpoint::NextEphemeralPort() {
  // Flows are told apart by flow id, so ports may repeat; only a listener's
  // port is skipped, to keep its SYN index unambiguous.
  for (uint32_t tries = 0; tries < 65536; ++tries) {
    const uint16_t port = next_ephemeral_;
    next_ephemeral_ = next_ephemeral_ >= config_.ephemeral_last
                          ? config_.ephemeral_first
                          : static_cast<uint16_t>(next_ephemeral_ + 1);
    if (listeners_[port] == nullptr) return port;
  }
  return config_.ephemeral_first;
}

template <typename Fill>
void TransportEndpoint::SendSegment(net::Ipv4Address dst, uint16_t dst_port,
                                    uint16_t src_port,
                                    const FerryHeader& header, uint32_t length,
                                    Fill&& fill) {
  if (!sending_) return;
  dpdk::Packet* pkt = io_.AllocPacket_st();
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    return;  // the flow's retransmission timer covers it
  }
  const absl::Span<uint8_t> room = dpdk::FrameRoom(pkt);
  const net::FerrySegmentAddress address = {{mac_, net::MacAddress{}, ip_, dst},
                                            src_port,
                                            dst_port,
                                            ++ip_id_,
                                            !tx_ipv4_checksum_offload_};
  const size_t at = net::StartFerrySegment(room, address, header, length);
  if (at == 0) {
    dpdk::FreePacket(pkt);
    counters_.tx_alloc_failed.Inc();
    return;
  }
  fill(room.data() + at);
  dpdk::SetFrameLength(pkt, static_cast<uint32_t>(net::FinishFerrySegment(
                                room, address, length)));
  if (tx_ipv4_checksum_offload_) dpdk::RequestIpv4ChecksumOffload(pkt);
  counters_.transport_segments_tx.Inc();
  io_.SendIpv4_st(pkt, dst, now_ns_);
}

void TransportEndpoint::SendReset(const net::ParsedFrame& frame,
                                  const FerryHeader& header) {
  FerryHeader rst;
  rst.type = FerryPacketType::kRst;
  rst.dst_flow = header.src_flow;
  rst.ack = header.seq + 1;
  SendSegment(frame.ip_src, frame.udp_src_port, frame.udp_dst_port, rst, 0,
              [](uint8_t*) {});
}

void TransportEndpoint::OnUdp_st(dpdk::Packet* pkt,
                                 const net::ParsedFrame& frame,
                                 uint64_t now_ns) {
  now_ns_ = now_ns;
  // Ferry always checksums its segments: one with none was not sent by an
  // engine, and nothing vouches for its bytes.
  if (frame.udp_unchecked) {
    counters_.transport_rx_no_checksum.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  const absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkt);
  const absl::Span<const uint8_t> udp_payload =
      bytes.subspan(frame.payload_offset, frame.payload_length);
  FerryHeader header;
  size_t payload_offset = 0;
  if (net::ParseFerryHeader(udp_payload, &header, &payload_offset) !=
      net::FerryHeaderError::kNone) {
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
    OnSyn(pkt, frame, header, now_ns);
    return;
  }
  Entry* e = Lookup(header.dst_flow);
  // The id must come from the peer the flow talks to: another host cannot
  // inject into a flow by guessing its id.
  if (e == nullptr || e->remote_ip != frame.ip_src ||
      e->remote_port != frame.udp_src_port ||
      e->local_port != frame.udp_dst_port) {
    counters_.transport_rx_unknown_flow.Inc();
    if (header.type != FerryPacketType::kRst) SendReset(frame, header);
    dpdk::FreePacket(pkt);
    return;
  }
  counters_.transport_segments_rx.Inc();
  const uint32_t slot = e->flow->owner;
  const bool can_hold = held_packets_ < config_.max_held_packets;
  const uint64_t handle =
      can_hold ? reinterpret_cast<uint64_t>(pkt) : kNoHandle;
  const bool kept = e->flow->OnSegment(
      header, udp_payload.subspan(payload_offset), handle, now_ns);
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
                              const FerryHeader& header, uint64_t now_ns) {
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
  Entry* e =
      NewFlow(*listener, frame.ip_src, frame.udp_src_port, frame.udp_dst_port);
  if (e == nullptr) {
    // No RST: the peer retries, and a slot may free up meanwhile.
    counters_.transport_syn_no_slot.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  dpdk::FreePacket(pkt);
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

bool TransportEndpoint::OnCtrl_st(channel::EngineChannel& channel,
                                  const ferry_ctrl& request, ferry_ctrl* reply,
                                  uint64_t now_ns, CtrlCompletion* completion) {
  now_ns_ = now_ns;
  const ferry_ctrl_flow_args args = ReadArgs(request);
  ferry_ctrl_flow_args out = {};
  out.local_ip = ip_.value;
  reply->status = FERRY_STATUS_OK;
  switch (request.op) {
    case FERRY_CTRL_NOOP:
      break;
    case FERRY_CTRL_LISTEN:
      if (args.local_port == 0) {
        reply->status = FERRY_STATUS_BAD_REQUEST;
      } else if (listeners_[args.local_port] != nullptr ||
                 (group_ != nullptr &&
                  !group_->ClaimListener(args.local_port, index_))) {
        reply->status = FERRY_STATUS_ADDRESS_IN_USE;
      } else {
        listeners_[args.local_port] = &channel;
      }
      out.local_port = args.local_port;
      break;
    case FERRY_CTRL_UNLISTEN:
      if (listeners_[args.local_port] != &channel) {
        reply->status = FERRY_STATUS_BAD_REQUEST;
      } else {
        listeners_[args.local_port] = nullptr;
        if (group_ != nullptr) {
          group_->ReleaseListener(args.local_port, index_);
        }
      }
      out.local_port = args.local_port;
      break;
    case FERRY_CTRL_CONNECT: {
      const net::Ipv4Address remote{args.remote_ip};
      if (args.remote_port == 0 || remote.value == 0 || remote == ip_ ||
          remote.value == 0xffffffffu || (remote.value >> 28) == 0xe) {
        reply->status = FERRY_STATUS_BAD_REQUEST;
        break;
      }
      const uint16_t local_port =
          args.local_port != 0 ? args.local_port : NextEphemeralPort();
      Entry* e = NewFlow(channel, remote, args.remote_port, local_port);
      if (e == nullptr) {
        reply->status = FERRY_STATUS_LIMIT;
        break;
      }
      e->connect_pending = true;
      e->ctrl_id = request.id;
      e->connect_completion = completion;
      e->flow->StartConnect(now_ns);
      Touch(e->flow->owner);
      return false;  // answered when the handshake ends
    }
    case FERRY_CTRL_CLOSE: {
      Entry* e = Lookup(args.flow);
      if (e == nullptr || e->channel != &channel) {
        reply->status = FERRY_STATUS_UNKNOWN_FLOW;
        break;
      }
      out.flow = args.flow;
      e->flow->Close(now_ns);
      Touch(e->flow->owner);
      break;
    }
    default:
      reply->status = FERRY_STATUS_BAD_REQUEST;
      break;
  }
  WriteArgs(out, reply);
  return true;
}

int TransportEndpoint::OnTxMessage_st(
    channel::EngineChannel& channel, const ferry_desc& desc,
    absl::Span<const channel::MessagePiece> pieces, uint64_t now_ns) {
  now_ns_ = now_ns;
  Entry* e = Lookup(desc.flow);
  if (e == nullptr || e->channel != &channel) return FERRY_STATUS_UNKNOWN_FLOW;
  Flow& flow = *e->flow;
  if (!flow.accepting_messages()) {
    if (flow.state() == FlowState::kConnecting) return channel::kTxNotNow;
    return FERRY_STATUS_CLOSED;
  }
  // A full queue holds the whole channel back (its later messages may be
  // for this flow too, and order must hold): the app sees its tx ring fill.
  if (flow.queue_full()) return channel::kTxNotNow;
  const uint64_t handle = pieces.empty() ? kEmptyMessage : desc.head + 1;
  if (!flow.Enqueue(handle, desc.length)) return FERRY_STATUS_BAD_LENGTH;
  Touch(flow.owner);
  return channel::kTxKeep;
}

bool TransportEndpoint::Poll_st(uint64_t now_ns) {
  now_ns_ = now_ns;
  bool work = !pump_list_.empty() || !orphan_flows_.empty();
  // Flows whose connect nobody waits for any more: their handle was never
  // handed out, so nobody could use or close them.
  for (uint32_t id : orphan_flows_) CloseFlow_st(id, /*abort=*/true, now_ns);
  orphan_flows_.clear();
  // Flows touched since the last poll send what they may; those that still
  // want to (a burst limit, new window) stay listed.
  pump_next_.clear();
  for (size_t i = 0; i < pump_list_.size(); ++i) {
    const uint32_t slot = pump_list_[i];
    Entry& e = entries_[slot];
    e.in_pump_list = false;
    if (e.flow == nullptr || e.reaping) continue;
    e.flow->Pump(now_ns);
    sweep_min_ = std::min(sweep_min_, e.flow->next_timer_ns());
    if (e.flow->wants_pump() && !e.in_pump_list) {
      e.in_pump_list = true;
      pump_next_.push_back(slot);
    }
  }
  pump_list_.swap(pump_next_);

  // A slice of the flow table per poll: due timers run.
  const uint32_t n = std::min(config_.timer_sweep, high_water_);
  for (uint32_t k = 0; k < n; ++k) {
    if (sweep_cursor_ >= high_water_) {
      sweep_cursor_ = 0;
      next_timer_ns_ = sweep_min_;
      sweep_min_ = UINT64_MAX;
    }
    const uint32_t slot = sweep_cursor_++;
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.reaping) continue;
    if (e.flow->next_timer_ns() <= now_ns) {
      e.flow->OnTimer(now_ns);
      e.flow->Pump(now_ns);
      if (e.flow->wants_pump()) Touch(slot);
      work = true;
    }
    sweep_min_ = std::min(sweep_min_, e.flow->next_timer_ns());
  }
  if (high_water_ <= config_.timer_sweep) {
    // The whole table fits one sweep: the minimum is exact.
    next_timer_ns_ = sweep_min_;
  } else {
    next_timer_ns_ = std::min(next_timer_ns_, sweep_min_);
  }

  for (uint32_t slot : reap_list_) Reap(slot);
  work |= !reap_list_.empty();
  reap_list_.clear();
  return work;
}

uint32_t TransportEndpoint::ResetChannelFlows(channel::EngineChannel& channel,
                                              uint64_t now_ns) {
  uint32_t reset = 0;
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping) continue;
    AbortConnect(e, FERRY_STATUS_ABORTED);  // the channel hears nothing more
    e.flow->Abort(now_ns);
    ++reset;
  }
  return reset;
}

void TransportEndpoint::DetachChannel_st(channel::EngineChannel& channel,
                                         uint64_t now_ns) {
  now_ns_ = now_ns;
  const uint32_t reset = ResetChannelFlows(channel, now_ns);
  if (channel.draining()) {
    if (reset == 0) {
      counters_.transport_channels_drained.Inc();
    } else {
      counters_.transport_linger_resets.Add(reset);
    }
  }
  for (size_t port = 0; port < listeners_.size(); ++port) {
    if (listeners_[port] != &channel) continue;
    listeners_[port] = nullptr;
    if (group_ != nullptr) {
      group_->ReleaseListener(static_cast<uint16_t>(port), index_);
    }
  }
  // Before the channel leaves, nothing may point at it.
  for (uint32_t slot : reap_list_) Reap(slot);
  reap_list_.clear();
  flows_per_channel_.erase(&channel);
}

void TransportEndpoint::BeginDrain_st(channel::EngineChannel& channel,
                                      uint64_t now_ns) {
  now_ns_ = now_ns;
  for (size_t port = 0; port < listeners_.size(); ++port) {
    if (listeners_[port] != &channel) continue;
    listeners_[port] = nullptr;
    if (group_ != nullptr) {
      group_->ReleaseListener(static_cast<uint16_t>(port), index_);
    }
  }
  // A connect still in its handshake was never handed to the application:
  // nothing was accepted for it.
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping) continue;
    if (e.flow->state() == FlowState::kConnecting) {
      AbortConnect(e, FERRY_STATUS_ABORTED);
      e.flow->Abort(now_ns);
    }
  }
}

bool TransportEndpoint::DrainStep_st(channel::EngineChannel& channel,
                                     uint64_t now_ns) {
  now_ns_ = now_ns;
  auto it = flows_per_channel_.find(&channel);
  if (it == flows_per_channel_.end() || it->second == 0) return true;
  // Messages still in the ring go first (a flow whose queue is full holds
  // them back); each flow's FIN then follows its last message.
  if (!channel.TxEmpty_st()) return false;
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping ||
        e.drain_closed) {
      continue;
    }
    e.drain_closed = true;
    e.flow->Close(now_ns);
    Touch(slot);
  }
  return false;
}

void TransportEndpoint::ListFlows_st(uint32_t start, FlowListResult* result) {
  result->count = 0;
  result->next = UINT32_MAX;
  const uint32_t capacity = static_cast<uint32_t>(result->flows.size());
  for (uint32_t slot = start; slot < high_water_; ++slot) {
    const Entry& e = entries_[slot];
    if (e.flow == nullptr || e.reaping) continue;
    if (result->count == capacity) {
      result->next = slot;
      return;
    }
    const Flow& flow = *e.flow;
    FlowInfo& info = result->flows[result->count++];
    info.id = flow.local_id();
    info.channel_id = e.channel->segment().channel_id();
    info.accepted = e.remote_flow != 0;
    info.local_port = e.local_port;
    info.remote_ip = e.remote_ip.value;
    info.remote_port = e.remote_port;
    info.state = flow.state();
    info.srtt_ns = flow.srtt_ns();
    info.rto_ns = flow.rto_ns();
    info.congestion_window = flow.congestion_window();
    info.peer_window = flow.peer_window();
    info.in_flight = flow.in_flight();
    info.queued_messages = flow.queued_messages();
    info.held_segments = flow.held_segments();
    info.stats = flow.stats();
  }
}

bool TransportEndpoint::CloseFlow_st(uint64_t flow_id, bool abort,
                                     uint64_t now_ns, uint64_t owner_channel) {
  now_ns_ = now_ns;
  Entry* e = Lookup(flow_id);
  if (e == nullptr) return false;
  if (owner_channel != 0 &&
      e->channel->segment().channel_id() != owner_channel) {
    return false;
  }
  if (abort) {
    e->flow->Abort(now_ns);
  } else {
    e->flow->Close(now_ns);
  }
  Touch(e->flow->owner);
  return true;
}

ferry_status TransportEndpoint::EndStatus(const Entry& e, const Flow& flow) {
  ferry_status status = StatusForEnd(flow.end_reason());
  if (status == FERRY_STATUS_TIMED_OUT &&
      !io_.NextHopResolved_st(e.remote_ip, now_ns_)) {
    status = FERRY_STATUS_UNREACHABLE;
  }
  return status;
}

void TransportEndpoint::StateChanged(Flow& flow) {
  Entry& e = EntryOf(flow);
  const uint32_t slot = flow.owner;
  if (flow.state() != FlowState::kConnecting) HalfOpenDone(e);
  if (flow.state() == FlowState::kEstablished) {
    counters_.transport_flows_opened.Inc();
    if (e.connect_pending) {
      e.connect_pending = false;
      ferry_ctrl reply = {};
      reply.id = e.ctrl_id;
      reply.op = FERRY_CTRL_CONNECT;
      reply.status = FERRY_STATUS_OK;
      ferry_ctrl_flow_args out = {};
      out.flow = flow.local_id();
      out.remote_ip = e.remote_ip.value;
      out.remote_port = e.remote_port;
      out.local_port = e.local_port;
      out.local_ip = ip_.value;
      WriteArgs(out, &reply);
      if (!AnswerConnect(e, reply)) orphan_flows_.push_back(flow.local_id());
    } else {
      e.announced = true;
      e.channel->PostEvent_st(FERRY_DESC_FLOW_ACCEPTED, flow.local_id(),
                              PeerCookie(e), FERRY_STATUS_OK);
    }
    return;
  }
  if (flow.state() != FlowState::kClosed) return;
  const ferry_status status = EndStatus(e, flow);
  switch (status) {
    case FERRY_STATUS_CLOSED:
      counters_.transport_flows_closed.Inc();
      break;
    case FERRY_STATUS_REFUSED:
      counters_.transport_handshake_refused.Inc();
      break;
    case FERRY_STATUS_TIMED_OUT:
      counters_.transport_handshake_timed_out.Inc();
      break;
    case FERRY_STATUS_UNREACHABLE:
      counters_.transport_handshake_unreachable.Inc();
      break;
    default:
      counters_.transport_flows_reset.Inc();
      break;
  }
  if (e.connect_pending) {
    e.connect_pending = false;
    ferry_ctrl reply = {};
    reply.id = e.ctrl_id;
    reply.op = FERRY_CTRL_CONNECT;
    reply.status = static_cast<uint16_t>(status);
    ferry_ctrl_flow_args out = {};
    out.remote_ip = e.remote_ip.value;
    out.remote_port = e.remote_port;
    out.local_ip = ip_.value;
    WriteArgs(out, &reply);
    AnswerConnect(e, reply);
  } else if (e.channel != nullptr && (e.remote_flow == 0 || e.announced)) {
    // An accepted flow that never completed its handshake was never
    // announced: its end is not the application's news.
    e.channel->PostEvent_st(FERRY_DESC_FLOW_CLOSED, flow.local_id(),
                            PeerCookie(e), status);
  }
  if (!e.reaping) {
    e.reaping = true;
    reap_list_.push_back(slot);
  }
}

void TransportEndpoint::Transmit(Flow& flow, const FerryHeader& header,
                                 uint64_t message, uint32_t offset,
                                 uint32_t length) {
  Entry& e = EntryOf(flow);
  channel::EngineChannel* channel = e.channel;
  SendSegment(e.remote_ip, e.remote_port, e.local_port, header, length,
              [&](uint8_t* payload) {
                if (length == 0 || message == kEmptyMessage) return;
                channel->CopyTx_st(static_cast<uint32_t>(message - 1), offset,
                                   payload, length);
              });
}

void TransportEndpoint::MessageDone(Flow& flow, uint64_t message,
                                    bool delivered) {
  uint64_t bytes = 0;
  if (message != kEmptyMessage) {
    bytes =
        EntryOf(flow).channel->ReleaseTx_st(static_cast<uint32_t>(message - 1));
  }
  if (delivered) {
    counters_.transport_messages_tx.Inc();
    counters_.transport_bytes_tx.Add(bytes);
  }
}

void TransportEndpoint::SegmentRefused(Flow&) {
  counters_.transport_rx_bad_ack.Inc();
}

void TransportEndpoint::RstRefused(Flow&, bool challenged) {
  if (challenged) {
    counters_.transport_rst_challenged.Inc();
  } else {
    counters_.transport_rst_dropped.Inc();
  }
}

void TransportEndpoint::Retransmitting(Flow&, bool after_timeout) {
  if (after_timeout) {
    counters_.transport_retransmits_timeout.Inc();
  } else {
    counters_.transport_retransmits_fast.Inc();
  }
}

uint64_t TransportEndpoint::BeginReceive(Flow& flow, uint32_t length) {
  channel::EngineChannel& channel = *EntryOf(flow).channel;
  // Nobody reads a draining channel: taking what its peer sends lets the
  // peer finish its own messages and answer the FIN.
  if (channel.draining()) return kDiscardReceive;
  return channel.BeginRx_st(length);
}

void TransportEndpoint::WriteReceive(Flow& flow, uint64_t handle,
                                     uint32_t offset,
                                     absl::Span<const uint8_t> bytes) {
  if (handle == kDiscardReceive) return;
  EntryOf(flow).channel->WriteRx_st(handle, offset, bytes);
}

void TransportEndpoint::EndReceive(Flow& flow, uint64_t handle, bool complete) {
  if (handle == kDiscardReceive) {
    if (complete) counters_.transport_drain_discarded.Inc();
    return;
  }
  Entry& e = EntryOf(flow);
  const uint32_t bytes =
      e.channel->EndRx_st(handle, complete, flow.local_id(), PeerCookie(e));
  if (complete) {
    counters_.transport_messages_rx.Inc();
    counters_.transport_bytes_rx.Add(bytes);
  }
}

uint32_t TransportEndpoint::ReceiveRoom(Flow& flow) {
  channel::EngineChannel& channel = *EntryOf(flow).channel;
  if (channel.draining()) return config_.flow.receive_window;
  const uint64_t bytes = channel.RxRoomBytes_st();
  return static_cast<uint32_t>(
      std::min<uint64_t>(bytes / config_.flow.mss, UINT32_MAX));
}

void TransportEndpoint::ReleasePacket(uint64_t packet) {
  --held_packets_;
  dpdk::FreePacket(reinterpret_cast<dpdk::Packet*>(packet));
}

bool TransportEndpoint::AnswerConnect(Entry& e, const ferry_ctrl& reply) {
  e.connect_pending = false;
  if (e.connect_completion == nullptr) {
    e.channel->CompleteCtrl_st(reply);
    return true;
  }
  CtrlCompletion* completion = e.connect_completion;
  e.connect_completion = nullptr;
  completion->reply = reply;
  return completion->Complete(absl::StatusCode::kOk, "");
}

void TransportEndpoint::AbortConnect(Entry& e, ferry_status status) {
  if (!e.connect_pending) return;
  e.connect_pending = false;
  if (e.connect_completion == nullptr) return;  // the channel is leaving
  CtrlCompletion* completion = e.connect_completion;
  e.connect_completion = nullptr;
  completion->reply.op = FERRY_CTRL_CONNECT;
  completion->reply.status = static_cast<uint16_t>(status);
  completion->Complete(absl::StatusCode::kOk, "");
}

}  // namespace ferry::engine
