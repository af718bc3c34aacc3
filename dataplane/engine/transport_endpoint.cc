// The transport endpoint: its flow table (slots, generations, the SYN
// index, quotas and half-open bounds), its lifecycle and the poll that
// pumps flows and runs their timers. The other files of the class:
// transport_endpoint_wire.cc (segments in and out), transport_endpoint_
// channels.cc (what applications ask of it) and transport_endpoint_flow_
// env.cc (what its flows tell it).
#include "dataplane/engine/transport_endpoint.h"

#include <algorithm>
#include <cstring>

#include "dataplane/base/check.h"
#include "dataplane/base/clock.h"
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

TransportEndpoint::TransportEndpoint(const TransportConfig& config,
                                     net::MacAddress mac, net::Ipv4Address ip,
                                     bool tx_ipv4_checksum_offload,
                                     PacketIo& io, EngineCounters& counters,
                                     EngineGroup* group, int index,
                                     int interface)
    : config_(config),
      group_(group),
      index_(index),
      interface_(interface),
      mac_(mac),
      ip_(ip),
      tx_ipv4_checksum_offload_(tx_ipv4_checksum_offload),
      io_(io),
      counters_(counters),
      entries_(std::min(config.max_flows, kSlotMask)),
      listeners_(65536, nullptr),
      parked_(config.max_parked_messages),
      half_open_(config.max_half_open),
      timers_(static_cast<uint32_t>(entries_.size()), kTimerSlotsLog2,
              kTimerTickNs, 0),
      next_ephemeral_(config.ephemeral_first) {
  free_slots_.reserve(entries_.size());
  for (uint32_t i = static_cast<uint32_t>(entries_.size()); i > 0; --i) {
    free_slots_.push_back(i - 1);
  }
  syn_index_.reserve(entries_.size());
  pump_.Reserve(entries_.size());
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

void TransportEndpoint::PrefetchFlow(uint32_t flow_id) const {
  const uint32_t slot = flow_id & kSlotMask;
  if (slot >= entries_.size()) return;
  const auto* flow = reinterpret_cast<const char*>(entries_[slot].flow.get());
  if (flow == nullptr) return;
  for (size_t line = 0; line < sizeof(transport::Flow); line += 64) {
    __builtin_prefetch(flow + line);
  }
  if (const crypto::FlowCrypto* c = entries_[slot].crypto.get()) {
    c->PrefetchHead();
  }
}

void TransportEndpoint::PrefetchOpenKey(uint32_t flow_id) const {
  const uint32_t slot = flow_id & kSlotMask;
  if (slot >= entries_.size()) return;
  if (const crypto::FlowCrypto* c = entries_[slot].crypto.get()) {
    c->PrefetchOpenKey();
  }
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

bool TransportEndpoint::RouteOf(int slot, Route* route) {
  if (slot == interface_) {
    *route = OwnRoute();
    return true;
  }
  Interface iface;
  if (group_ == nullptr || !group_->interfaces().Read(slot, &iface)) {
    return false;
  }
  // Spread the engines that send for other NICs over that NIC's engines.
  const int engines = __builtin_popcount(iface.engines);
  if (engines == 0) return false;
  int pick = index_ % engines;
  uint32_t mask = iface.engines;
  while (pick-- > 0) mask &= mask - 1;
  route->interface = static_cast<int8_t>(slot);
  route->via = static_cast<int8_t>(__builtin_ctz(mask));
  route->mac = iface.mac;
  route->ip = iface.ip.address;
  route->mtu = iface.mtu;
  return true;
}

bool TransportEndpoint::RouteTo(net::Ipv4Address dst, net::Ipv4Address local,
                                Route* route) {
  if (group_ == nullptr) {
    *route = OwnRoute();
    return local.value == 0 || local == ip_;
  }
  const int slot =
      ChooseInterface(group_->interfaces().Snapshot(), interface_, dst, local);
  if (slot < 0) {
    // No table (an engine alone, in tests): this engine's own NIC.
    *route = OwnRoute();
    return local.value == 0 || local == ip_;
  }
  return RouteOf(slot, route);
}

TransportEndpoint::Route TransportEndpoint::RouteFrom(net::Ipv4Address local) {
  Route route = OwnRoute();
  if (local == ip_ || group_ == nullptr) return route;
  const int slot = InterfaceWithAddress(group_->interfaces().Snapshot(), local);
  if (slot >= 0 && !RouteOf(slot, &route)) route = OwnRoute();
  return route;
}

bool TransportEndpoint::IsLocalAddress(net::Ipv4Address ip) {
  if (ip == ip_) return true;
  return group_ != nullptr &&
         InterfaceWithAddress(group_->interfaces().Snapshot(), ip) >= 0;
}

TransportEndpoint::Entry* TransportEndpoint::NewFlow(
    channel::EngineChannel& channel, const Route& route,
    net::Ipv4Address remote_ip, uint16_t remote_port, uint16_t local_port,
    bool secure) {
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
  e.route = route;
  e.remote_ip = remote_ip;
  e.remote_port = remote_port;
  e.local_port = local_port;
  e.remote_flow = 0;
  e.in_pump_list = false;
  e.connect_pending = false;
  e.connect_answer = {};
  e.reaping = false;
  e.drain_closed = false;
  e.half_open = false;
  e.announced = false;
  e.blocked = false;
  e.close_when_unparked = false;
  e.parked = {};
  uint32_t mss = config_.flow.mss;
  if (route.mtu > 0) {
    // Another NIC's frames must fit its MTU too.
    mss = std::min(mss, transport::MssForMtu(static_cast<uint32_t>(route.mtu)));
  }
  if (secure) {
    mss -= static_cast<uint32_t>(crypto::kSecureHeaderSize +
                                 crypto::FlowCrypto::kTagSize);
  }
  e.flow = std::make_unique<Flow>(FlowId(slot), random_.Next(), ProfileFor(mss),
                                  *this);
  e.flow->owner = slot;
  ++active_flows_;
  counters_.transport_flows_active.Set(active_flows_);
  return &e;
}

const transport::FlowProfile& TransportEndpoint::ProfileFor(uint32_t mss) {
  for (const auto& profile : flow_profiles_) {
    if (profile->config().mss == mss) return *profile;
  }
  transport::FlowConfig flow_config = config_.flow;
  flow_config.mss = mss;
  flow_profiles_.push_back(
      std::make_unique<transport::FlowProfile>(flow_config));
  return *flow_profiles_.back();
}

void TransportEndpoint::Touch(uint32_t slot) {
  Entry& e = entries_[slot];
  if (e.in_pump_list) return;
  e.in_pump_list = true;
  pump_.Add(slot);
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
  DropParked(e);
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
  timers_.Cancel(slot);
  e.flow.reset();
  e.crypto.reset();  // wipes its keys
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
  FERRY_DCHECK(active_flows_ > 0);
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

bool TransportEndpoint::Poll_st(uint64_t now_ns) {
  now_ns_ = now_ns;
  bool work = !pump_.empty() || !orphan_flows_.empty();
  // Flows whose connect nobody waits for any more: their handle was never
  // handed out, so nobody could use or close them.
  for (uint32_t id : orphan_flows_) {
    if (Entry* e = Lookup(id); e != nullptr) CloseOrReset(*e, /*reset=*/true);
  }
  orphan_flows_.clear();
  // Flows touched since the last poll send what they may; those that still
  // want to (a burst limit, new window) stay listed. A backed-up transmit
  // ends the round: the rest go first at the next poll (pump_rounds.h).
  pump_.Run([&] { return io_.TxBackedUp_st(); },
            [&](uint32_t slot) {
              Entry& e = entries_[slot];
              e.in_pump_list = false;
              if (e.flow == nullptr || e.reaping) return false;
              if (e.blocked || !e.parked.empty()) Unpark(e);
              e.flow->Pump(now_ns);
              timers_.Schedule(slot, e.flow->next_timer_ns());
              if (!e.flow->wants_pump() || e.in_pump_list) return false;
              e.in_pump_list = true;
              return true;
            });

  // Due timers run; each flow is filed again at its next deadline.
  timers_.Advance(now_ns, [&](uint32_t slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.reaping) return;
    if (e.flow->next_timer_ns() <= now_ns) {
      e.flow->OnTimer(now_ns);
      e.flow->Pump(now_ns);
      if (e.flow->wants_pump()) Touch(slot);
      work = true;
    }
    timers_.Schedule(slot, e.flow->next_timer_ns());
  });
  // The safety net (see TransportConfig::timer_audit).
  if (now_ns >= next_audit_ns_ && high_water_ > 0) {
    next_audit_ns_ = now_ns + kNanosPerMilli;
    for (uint32_t k = 0; k < std::min(config_.timer_audit, high_water_); ++k) {
      if (audit_cursor_ >= high_water_) audit_cursor_ = 0;
      const uint32_t slot = audit_cursor_++;
      const Entry& e = entries_[slot];
      if (e.flow != nullptr && !e.reaping) {
        timers_.Schedule(slot, e.flow->next_timer_ns());
      }
    }
  }
  next_timer_ns_ = timers_.NextDueNs();

  for (uint32_t slot : reap_list_) Reap(slot);
  work |= !reap_list_.empty();
  reap_list_.clear();
  return work;
}

}  // namespace ferry::engine
