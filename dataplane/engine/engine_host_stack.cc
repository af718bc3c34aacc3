// Engine, the host stack: ARP (answering, resolving next hops, the
// neighbour table's pending frames), ICMP echo (answering and the debug
// pinger) and routing to the next hop (the subnet or the gateway).
#include <cstring>

#include "dataplane/base/logging.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/engine.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {

net::Ipv4Address Engine::NextHop(net::Ipv4Address dst) const {
  if (config_.ip.Contains(dst)) return dst;
  return config_.gateway.value_or(net::Ipv4Address{});
}

bool Engine::NextHopResolved_st(net::Ipv4Address dst, uint64_t now_ns) {
  const net::Ipv4Address hop = NextHop(dst);
  return hop.value != 0 && neighbors_.Find(hop, now_ns) != nullptr;
}

void Engine::ConfirmNextHop_st(net::Ipv4Address dst, uint64_t now_ns) {
  const net::Ipv4Address hop = NextHop(dst);
  if (hop.value == 0 || !neighbors_.ShouldReprobe(hop, now_ns)) return;
  counters_.arp_reprobes.Inc();
  SendArpRequest_st(hop);
}

void Engine::AnnounceAddress_st(uint64_t now_ns) {
  if (announcements_left_ == 0 || now_ns < next_announcement_ns_) return;
  // A gratuitous ARP request (sender and target our address): neighbours
  // that knew this address at another MAC (a ferryd that restarted, a NIC
  // attached again) update their entry at once instead of sending to the
  // old MAC until it expires.
  if (SendArp_st(config_.ip.address)) counters_.arp_announcements_tx.Inc();
  --announcements_left_;
  next_announcement_ns_ = now_ns + kAnnouncementIntervalNs;
}

void Engine::HandleArp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                          uint64_t now_ns) {
  const net::Ipv4Address sender = frame.arp_sender_ip;
  const bool for_us = frame.arp_target_ip == config_.ip.address;
  const bool sender_ok = sender.value != 0 && sender != config_.ip.address &&
                         !frame.arp_sender_mac.IsMulticast() &&
                         config_.ip.Contains(sender);
  if (!sender_ok) {
    // Our own announcement seen again (a wire that loops frames back, or
    // net_null handing out buffers that still hold what we sent) is no
    // conflict: only another MAC with our address is.
    if (sender == config_.ip.address && frame.arp_sender_mac != config_.mac) {
      counters_.arp_address_conflicts.Inc();
      FERRY_LOG_EVERY_SEC(Warning, "engine %d: %s claims our address %s",
                          config_.id, frame.arp_sender_mac.ToString(),
                          sender.ToString());
    }
    counters_.arp_ignored.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  // RFC 826: update a known sender always; add it only when it asks us for
  // our address (it is about to talk to us). A reply adds nothing we did not
  // ask for, so unsolicited replies cannot fill or poison the table.
  const bool create = for_us && frame.arp_op == net::kArpOpRequest;
  dpdk::Packet* released[NeighborTable::kMaxPendingPerEntry];
  size_t n = 0;
  switch (neighbors_.Learn(sender, frame.arp_sender_mac, create, now_ns,
                           released, &n)) {
    case NeighborTable::LearnResult::kResolved:
      counters_.arp_resolved.Inc();
      FERRY_LOG_EVERY_SEC(Info, "engine %d: resolved %s is at %s", config_.id,
                          sender.ToString(), frame.arp_sender_mac.ToString());
      break;
    case NeighborTable::LearnResult::kCreated:
      counters_.arp_learned.Inc();
      FERRY_LOG_EVERY_SEC(Info, "engine %d: learned %s is at %s", config_.id,
                          sender.ToString(), frame.arp_sender_mac.ToString());
      break;
    case NeighborTable::LearnResult::kUpdated:
    case NeighborTable::LearnResult::kIgnored:
      break;
  }
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(
        dpdk::MutableFrameBytes(released[i]).data() + net::kEtherDstOffset,
        frame.arp_sender_mac.bytes.data(), 6);
    Transmit_st(released[i]);
  }
  if (frame.arp_op == net::kArpOpReply) {
    counters_.arp_replies_rx.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (!for_us) {
    counters_.arp_ignored.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  counters_.arp_requests_rx.Inc();
  net::TurnArpRequestIntoReply(dpdk::MutableFrameBytes(pkt), frame,
                               config_.mac);
  counters_.arp_replies_tx.Inc();
  Transmit_st(pkt);
}

void Engine::HandleIcmp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                           uint64_t now_ns) {
  if (frame.icmp_type == net::kIcmpTypeEchoRequest && frame.icmp_code == 0) {
    counters_.icmp_echo_requests_rx.Inc();
    net::TurnIcmpEchoRequestIntoReply(dpdk::MutableFrameBytes(pkt), frame,
                                      config_.mac);
    counters_.icmp_echo_replies_tx.Inc();
    Transmit_st(pkt);
    return;
  }
  if (frame.icmp_type == net::kIcmpTypeEchoReply &&
      frame.icmp_id == pinger_.id && pinger_.id != 0 &&
      frame.payload_length >= kPingTimestampSize) {
    counters_.icmp_echo_replies_rx.Inc();
    uint64_t sent_ns;
    std::memcpy(&sent_ns, dpdk::FrameBytes(pkt).data() + frame.payload_offset,
                sizeof(sent_ns));
    if (sent_ns <= now_ns) {
      const uint64_t rtt = now_ns - sent_ns;
      counters_.ping_rtt_ns_sum.Add(rtt);
      if (rtt > counters_.ping_rtt_ns_max.Get()) {
        counters_.ping_rtt_ns_max.Set(rtt);
      }
      FERRY_LOG_EVERY_SEC(
          Info, "engine %d: echo reply from %s seq %d rtt %.1f us", config_.id,
          frame.ip_src.ToString(), frame.icmp_seq, rtt / 1e3);
    }
    dpdk::FreePacket(pkt);
    return;
  }
  counters_.rx_icmp_unhandled.Inc();
  dpdk::FreePacket(pkt);
}

void Engine::SendPing_st(uint64_t now_ns) {
  dpdk::Packet* pkt = dpdk::AllocPacket(config_.queue);
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    pinger_.next_send_ns = now_ns + pinger_.interval_ns;
    return;
  }
  uint8_t data[net::kIcmpEchoHeaderSize + 9000];
  std::memcpy(data, &now_ns, sizeof(now_ns));
  for (size_t i = kPingTimestampSize; i < pinger_.payload_size; ++i) {
    data[i] = static_cast<uint8_t>(i);
  }
  net::IcmpEcho echo;
  echo.type = net::kIcmpTypeEchoRequest;
  echo.id = pinger_.id;
  echo.seq = ++pinger_.seq;
  echo.ip_id = ++ip_id_;
  echo.data = absl::MakeConstSpan(data, pinger_.payload_size);
  echo.ipv4_checksum_in_software = !config_.capabilities.tx_ipv4_checksum;
  const size_t length = net::BuildIcmpEcho(
      dpdk::FrameRoom(pkt),
      {config_.mac, net::MacAddress{}, config_.ip.address, pinger_.dst}, echo);
  if (length == 0) {
    dpdk::FreePacket(pkt);
    pinger_.active = false;
    return;
  }
  dpdk::SetFrameLength(pkt, static_cast<uint32_t>(length));
  if (!echo.ipv4_checksum_in_software) dpdk::RequestIpv4ChecksumOffload(pkt);
  counters_.icmp_echo_requests_tx.Inc();
  SendIpv4_st(pkt, pinger_.dst, now_ns);
  if (--pinger_.remaining == 0) {
    pinger_.active = false;
  } else {
    pinger_.next_send_ns = now_ns + pinger_.interval_ns;
  }
}

void Engine::SendArpRequest_st(net::Ipv4Address target) {
  if (SendArp_st(target)) counters_.arp_requests_tx.Inc();
}

bool Engine::SendArp_st(net::Ipv4Address target) {
  dpdk::Packet* pkt = dpdk::AllocPacket(config_.queue);
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    return false;
  }
  net::ArpFrame arp;
  arp.op = net::kArpOpRequest;
  arp.eth_dst = net::MacAddress::Broadcast();
  arp.sender_mac = config_.mac;
  arp.sender_ip = config_.ip.address;
  arp.target_ip = target;
  const size_t length = net::BuildArp(dpdk::FrameRoom(pkt), arp);
  dpdk::SetFrameLength(pkt, static_cast<uint32_t>(length));
  Transmit_st(pkt);
  return true;
}

void Engine::SendIpv4_st(dpdk::Packet* pkt, net::Ipv4Address dst,
                         uint64_t now_ns) {
  const net::Ipv4Address next_hop = NextHop(dst);
  if (next_hop.value == 0) {
    counters_.tx_drop_no_route.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (const net::MacAddress* mac = neighbors_.Find(next_hop, now_ns)) {
    std::memcpy(dpdk::MutableFrameBytes(pkt).data() + net::kEtherDstOffset,
                mac->bytes.data(), 6);
    Transmit_st(pkt);
    return;
  }
  // It waits for ARP: it must not point into a channel meanwhile.
  pkt = Privatize_st(pkt);
  if (pkt == nullptr) return;
  switch (neighbors_.QueuePending(next_hop, pkt, now_ns)) {
    case NeighborTable::QueueResult::kQueuedSendRequest:
      SendArpRequest_st(next_hop);
      HousekeepingDue_st(neighbors_.NextDeadline());
      break;
    case NeighborTable::QueueResult::kQueued:
      break;
    case NeighborTable::QueueResult::kTableFull:
      counters_.arp_table_full.Inc();
      dpdk::FreePacket(pkt);
      break;
    case NeighborTable::QueueResult::kPendingFull:
      counters_.arp_pending_dropped.Inc();
      dpdk::FreePacket(pkt);
      break;
  }
}

}  // namespace ferry::engine
