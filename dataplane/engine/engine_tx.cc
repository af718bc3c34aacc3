// Engine, transmitting: the TX batch, its flush to the port queue, and
// fault injection on the way out (tests and experiments).
#include <algorithm>
#include <cstring>

#include "dataplane/base/logging.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/engine.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {

dpdk::Packet* Engine::AllocPacket_st() {
  return dpdk::AllocPacket(config_.queue);
}

void Engine::SendVia_st(dpdk::Packet* pkt, int engine) {
  if (config_.group != nullptr &&
      config_.group->HandTx(group_index(), engine, pkt)) {
    counters_.tx_via_out.Inc();
    return;
  }
  counters_.tx_via_drops.Inc();
  dpdk::FreePacket(pkt);
}

void Engine::SendForOther_st(dpdk::Packet* pkt, uint64_t now_ns) {
  // Copied into this NIC's pool: the frame then never outlives its own
  // NIC's pool in our queue (a NIC may be detached while the other's
  // frames wait for their transmit completion). A segment is at most an
  // MTU, so the copy is small next to building it.
  const absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkt);
  dpdk::Packet* copy = nullptr;
  if (bytes.size() >= net::kEtherHeaderSize + net::kIpv4HeaderSize &&
      bytes.size() <=
          net::kEtherHeaderSize + static_cast<size_t>(config_.mtu)) {
    copy = AllocPacket_st();
  }
  if (copy == nullptr) {
    counters_.tx_via_drops.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  std::memcpy(dpdk::FrameRoom(copy).data(), bytes.data(), bytes.size());
  dpdk::SetFrameLength(copy, static_cast<uint32_t>(bytes.size()));
  const net::Ipv4Address dst{net::LoadBe32(
      bytes.data() + net::kEtherHeaderSize + net::kIpv4DstOffset)};
  dpdk::FreePacket(pkt);
  counters_.tx_via_in.Inc();
  SendIpv4_st(copy, dst, now_ns);
}

bool Engine::AppendExternal_st(dpdk::Packet* pkt, const uint8_t* data,
                               uint32_t length) {
  if (external_ == nullptr || length > UINT16_MAX) return false;
  return external_->Append(config_.queue, pkt, data,
                           static_cast<uint16_t>(length));
}

dpdk::Packet* Engine::Privatize_st(dpdk::Packet* pkt) {
  if (dpdk::IsPlainFrame(pkt)) return pkt;
  dpdk::Packet* copy = dpdk::Privatize(config_.queue, pkt);
  if (copy == nullptr) {
    counters_.tx_alloc_failed.Inc();
  } else {
    counters_.tx_privatized.Inc();
  }
  return copy;
}

void Engine::ReleaseExternal_st() {
  if (external_ == nullptr) return;
  FlushTx_st();
  // The port copied out what it took, and what waits was made private:
  // nothing points into any channel now.
  if (const uint64_t left = external_->in_flight(); left != 0) {
    FERRY_LOG(Error,
              "engine %u: %u segments still point into channel buffers "
              "after a flush (a port that keeps frames?)",
              config_.id, left);
  }
}

uint16_t Engine::InjectFaults_st(dpdk::Packet** out) {
  uint16_t n = 0;
  // Frames held back earlier whose time has come go first.
  while (held_count_ > 0 && held_[held_head_].release_ns <= now_ns_ &&
         n < kTxBatchSize) {
    out[n++] = held_[held_head_].pkt;
    held_head_ = (held_head_ + 1) % kMaxHeld;
    --held_count_;
  }
  for (uint16_t i = 0; i < tx_count_; ++i) {
    dpdk::Packet* pkt = tx_batch_[i];
    switch (faults_.Decide()) {
      case FaultInjector::Verdict::kDrop:
        counters_.fault_dropped.Inc();
        dpdk::FreePacket(pkt);
        continue;
      case FaultInjector::Verdict::kDuplicate:
        if (dpdk::Packet* copy = dpdk::CopyPacket(config_.queue, pkt)) {
          counters_.fault_duplicated.Inc();
          out[n++] = copy;
        }
        break;
      case FaultInjector::Verdict::kDelay:
        pkt = Privatize_st(pkt);
        if (pkt == nullptr) continue;
        if (Hold_st(pkt, now_ns_ + faults_.delay_ns())) {
          counters_.fault_delayed.Inc();
          continue;
        }
        break;
      case FaultInjector::Verdict::kReorder:
        // Held until the next flush: the rest of this batch goes first.
        pkt = Privatize_st(pkt);
        if (pkt == nullptr) continue;
        if (Hold_st(pkt, now_ns_)) {
          counters_.fault_reordered.Inc();
          continue;
        }
        break;
      case FaultInjector::Verdict::kCorrupt: {
        // A copy takes the flip: the payload of a zero-copy frame is the
        // application's message, which a retransmission sends again.
        pkt = Privatize_st(pkt);
        if (pkt == nullptr) continue;
        const absl::Span<uint8_t> bytes = dpdk::MutableFrameBytes(pkt);
        if (!bytes.empty()) {
          const uint64_t bit = faults_.BitToFlip(bytes.size());
          bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          dpdk::CancelChecksumOffload(pkt);
          counters_.fault_corrupted.Inc();
        }
        break;
      }
      case FaultInjector::Verdict::kPass:
        break;
    }
    out[n++] = pkt;
  }
  return n;
}

bool Engine::Hold_st(dpdk::Packet* pkt, uint64_t release_ns) {
  if (held_count_ == kMaxHeld) return false;
  held_[(held_head_ + held_count_) % kMaxHeld] = HeldFrame{pkt, release_ns};
  ++held_count_;
  next_timer_ns_ = std::min(next_timer_ns_, release_ns);
  return true;
}

void Engine::Transmit_st(dpdk::Packet* pkt) {
  if (tx_count_ == kTxBatchSize) FlushTx_st();
  tx_batch_[tx_count_++] = pkt;
}

uint16_t Engine::SendBurst_st(dpdk::Packet** pkts, uint16_t count) {
  uint64_t bytes = 0;
  const uint16_t sent = dpdk::TxBurst(config_.queue, pkts, count);
  for (uint16_t i = 0; i < sent; ++i) bytes += pkts[i]->pkt_len;
  counters_.tx_packets.Add(sent);
  counters_.tx_bytes.Add(bytes);
  return sent;
}

bool Engine::DrainTxOverflow_st() {
  while (tx_overflow_count_ > 0) {
    const uint32_t run = std::min<uint32_t>(
        {tx_overflow_count_, kTxOverflow - tx_overflow_head_, kTxBatchSize});
    const uint16_t sent = SendBurst_st(&tx_overflow_[tx_overflow_head_],
                                       static_cast<uint16_t>(run));
    tx_overflow_head_ = (tx_overflow_head_ + sent) % kTxOverflow;
    tx_overflow_count_ -= sent;
    if (sent < run) return false;
  }
  return true;
}

void Engine::FlushTx_st() {
  dpdk::Packet** pkts = tx_batch_;
  uint16_t count = tx_count_;
  // Released, passed and duplicated frames: at most a batch of each.
  dpdk::Packet* faulted[3 * kTxBatchSize];
  // Frames held back before the faults were turned off still go out.
  if (faults_.enabled() || held_count_ > 0) {
    count = InjectFaults_st(faulted);
    pkts = faulted;
  }
  tx_count_ = 0;
  const bool clear = DrainTxOverflow_st();
  if (count == 0) return;
  const uint16_t sent = clear ? SendBurst_st(pkts, count) : 0;
  // The rest waits behind what the queue refused, in order, while there
  // is room.
  for (uint16_t i = sent; i < count; ++i) {
    if (tx_overflow_count_ < kTxOverflow) {
      dpdk::Packet* pkt = Privatize_st(pkts[i]);
      if (pkt == nullptr) continue;
      tx_overflow_[(tx_overflow_head_ + tx_overflow_count_) % kTxOverflow] =
          pkt;
      ++tx_overflow_count_;
      counters_.tx_deferred.Inc();
    } else {
      counters_.tx_drop_full.Inc();
      dpdk::FreePacket(pkts[i]);
    }
  }
}

}  // namespace ferry::engine
