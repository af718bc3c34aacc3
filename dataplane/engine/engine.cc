#include "dataplane/engine/engine.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "dataplane/base/clock.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {
namespace {

// Timers run at least this often, so that nothing waits on a deadline that
// was computed before a new entry was added.
constexpr uint64_t kHousekeepingNs = 10 * kNanosPerMilli;
// Echo data starts with the send time, for the round-trip time.
constexpr size_t kPingTimestampSize = sizeof(uint64_t);

}  // namespace

Engine::Engine(const EngineConfig& config)
    : config_(config),
      rx_checksum_offload_(config.capabilities.rx_ipv4_checksum),
      neighbors_(config.neighbor_capacity, config.neighbor_timings),
      faults_(config.faults) {
  // Channels need the doorbell before the thread starts.
  init_status_ = waker_.Init();
  TransportConfig transport = config.transport;
  transport.flow.mss = transport::MssForMtu(static_cast<uint32_t>(config.mtu));
  PacketIo& io = *this;  // a private base: only we hand it out
  transport_ = std::make_unique<TransportEndpoint>(
      transport, config.mac, config.ip.address,
      config.capabilities.tx_ipv4_checksum, io, counters_, config.group,
      config.id);
  if (config.group != nullptr) config.group->Register(config.id, this);
}

void Engine::Nudge() {
  // Pairs with the fence in IdleWait_st, as for commands.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) waker_.Ring();
}

bool Engine::TakeSteered_st(uint64_t now_ns) {
  EngineGroup* group = config_.group;
  bool work = false;
  for (int from = 0; from < group->size(); ++from) {
    if (from == config_.id) continue;
    const uint16_t n = group->Take(from, config_.id, rx_burst_, kBurstSize);
    for (uint16_t i = 0; i < n; ++i) {
      // Checked by the engine that received it: only the frame's offsets
      // are needed again.
      net::ParseOptions options;
      options.verify_ipv4_checksum = false;
      options.verify_l4_checksum = false;
      net::ParsedFrame frame;
      if (net::ParseFrame(dpdk::FrameBytes(rx_burst_[i]), options, &frame) !=
          net::DropReason::kNone) {
        dpdk::FreePacket(rx_burst_[i]);
        continue;
      }
      counters_.transport_steered_in.Inc();
      transport_->OnUdp_st(rx_burst_[i], frame, now_ns);
    }
    work |= n > 0;
  }
  return work;
}

Engine::~Engine() {
  Stop();
  // Flows hold received packets; nothing is sent any more.
  transport_.reset();
  FlushTx_st();
  for (; held_count_ > 0; --held_count_) {
    dpdk::FreePacket(held_[held_head_].pkt);
    held_head_ = (held_head_ + 1) % kMaxHeld;
  }
  // Drop whatever is still parked on unresolved next hops.
  neighbors_.Tick(
      std::numeric_limits<uint64_t>::max(), [](net::Ipv4Address) {},
      [](dpdk::Packet* pkt) { dpdk::FreePacket(pkt); },
      [](net::Ipv4Address) {});
  EngineCommand command;
  while (commands_.TryPop(&command)) {
    if (command.completion != nullptr) {
      command.completion->Complete(absl::StatusCode::kCancelled,
                                   "engine stopped");
    }
  }
}

absl::Status Engine::Start() {
  if (!init_status_.ok()) return init_status_;
  stop_.store(false);
  running_.store(true);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Engine::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  waker_.Ring();
  thread_.join();
  running_.store(false);
}

absl::Status Engine::AttachChannel(
    std::unique_ptr<channel::EngineChannel> channel) {
  if (channels_.PostAttach(std::move(channel)) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("engine %d cannot take more channels (at most %d)",
                        config_.id, channel::ChannelSet::kMaxChannels));
  }
  waker_.Ring();
  return absl::OkStatus();
}

void Engine::DetachChannel(uint64_t channel_id, uint64_t linger_ns) {
  channels_.PostDetach(channel_id, linger_ns);
  waker_.Ring();
}

absl::Status Engine::Post(const EngineCommand& command) {
  if (!commands_.TryPush(command)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("engine %d command ring is full", config_.id));
  }
  // Pairs with the fence in IdleWait_st: either the engine sees the command
  // before it sleeps, or we see it sleeping and ring.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) waker_.Ring();
  return absl::OkStatus();
}

absl::Status Engine::Execute(EngineCommand command, absl::Duration timeout) {
  std::unique_ptr<Completion> completion = std::make_unique<Completion>();
  return Execute(command, timeout, completion);
}

absl::Status Engine::Execute(EngineCommand command, absl::Duration timeout,
                             std::unique_ptr<Completion>& completion) {
  if (!running_.load()) {
    return absl::UnavailableError(
        absl::StrFormat("engine %d is not running", config_.id));
  }
  command.completion = completion.get();
  if (absl::Status s = Post(command); !s.ok()) return s;
  return Await(completion, timeout, config_.id);
}

absl::Status Engine::Await(std::unique_ptr<Completion>& completion,
                           absl::Duration timeout, int engine_id) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Microseconds(5);
  while (!completion->done()) {
    if (absl::Now() >= deadline && completion->TryAbandon()) {
      // The engine will still complete it, and frees it then.
      completion.release();
      return absl::DeadlineExceededError(
          absl::StrFormat("engine %d did not answer within %s", engine_id,
                          absl::FormatDuration(timeout)));
    }
    absl::SleepFor(backoff);
    // Capped low: a connect waits here for its handshake, and every
    // microsecond past the answer is control-plane overhead.
    backoff = std::min(backoff * 2, absl::Microseconds(100));
  }
  return completion->status();
}

void Engine::Run() {
  pthread_setname_np(pthread_self(),
                     absl::StrFormat("ferry-eng%d", config_.id).c_str());
  if (config_.core >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(config_.core, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
      FERRY_LOG(Warning, "engine %d: cannot pin to CPU %d", config_.id,
                config_.core);
    }
  }
  if (absl::Status s = dpdk::RegisterEngineThread(); !s.ok()) {
    FERRY_LOG(Warning, "engine %d: %s (mempool caches off)", config_.id,
              s.message());
  }
  if (config_.idle.mode == PollingMode::kAdaptive) {
    rx_interrupt_epfd_ = dpdk::ArmRxInterrupts(config_.queue);
    if (rx_interrupt_epfd_ >= 0 &&
        !waker_.AddRxInterruptSource(rx_interrupt_epfd_).ok()) {
      close(rx_interrupt_epfd_);
      rx_interrupt_epfd_ = -1;
    }
  }
  FERRY_LOG(Info, "engine %d running on %s, %s polling", config_.id,
            config_.core >= 0 ? absl::StrFormat("CPU %d", config_.core)
                              : std::string("any CPU"),
            PollingModeName(config_.idle.mode));
  last_work_ns_ = MonotonicNanos();
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t now = MonotonicNanos();
    if (PollOnce(now)) {
      last_work_ns_ = now;
    } else {
      IdleWait_st(now);
    }
  }
  // Peers of our flows hear a RST now rather than time out later.
  transport_->Shutdown_st(MonotonicNanos());
  FlushTx_st();
  if (rx_interrupt_epfd_ >= 0) {
    close(rx_interrupt_epfd_);
    rx_interrupt_epfd_ = -1;
  }
  dpdk::UnregisterEngineThread();
}

void Engine::IdleWait_st(uint64_t now_ns) {
  const bool has_interrupts = rx_interrupt_epfd_ >= 0;
  const IdleAction action = DecideIdleAction(
      config_.idle, has_interrupts, now_ns, last_work_ns_, next_timer_ns_);
  switch (action.kind) {
    case IdleAction::kSpin:
      return;
    case IdleAction::kYield:
      sched_yield();
      return;
    case IdleAction::kSleep:
      break;
  }
  sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!commands_.EmptyHint() || stop_.load(std::memory_order_relaxed)) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  // Applications kick the doorbell only if their channel says we sleep.
  if (!channels_.PrepareToSleep_st()) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  if (has_interrupts) {
    dpdk::EnableRxInterrupt(config_.queue);
    // A frame that arrived before the interrupt was armed raises nothing:
    // look once more before sleeping.
    const uint16_t n = dpdk::RxBurst(config_.queue, rx_burst_, kBurstSize);
    if (n > 0) {
      dpdk::DisableRxInterrupt(config_.queue);
      channels_.DoneSleeping_st();
      sleeping_.store(false, std::memory_order_relaxed);
      HandleBurst_st(rx_burst_, n, now_ns);
      FlushTx_st();
      last_work_ns_ = now_ns;
      return;
    }
  }
  counters_.sleeps.Inc();
  const unsigned woken_by = waker_.Sleep(action.sleep_ns);
  if (woken_by & Waker::kRxInterrupt) {
    counters_.wakeups_rx_interrupt.Inc();
    dpdk::AcknowledgeRxInterrupts(rx_interrupt_epfd_);
  }
  if (woken_by & Waker::kDoorbell) counters_.wakeups_doorbell.Inc();
  if (has_interrupts) dpdk::DisableRxInterrupt(config_.queue);
  channels_.DoneSleeping_st();
  sleeping_.store(false, std::memory_order_relaxed);
  counters_.sleep_ns.Add(MonotonicNanos() - now_ns);
}

bool Engine::PollOnce(uint64_t now_ns) {
  now_ns_ = now_ns;
  bool work = DrainCommands_st(now_ns);
  const uint16_t n = dpdk::RxBurst(config_.queue, rx_burst_, kBurstSize);
  if (n > 0) {
    HandleBurst_st(rx_burst_, n, now_ns);
    work = true;
  }
  if (config_.group != nullptr) work |= TakeSteered_st(now_ns);
  if (now_ns >= next_timer_ns_) RunTimers_st(now_ns);
  work |= ServeChannels_st();
  next_timer_ns_ = std::min(next_timer_ns_, transport_->NextTimerNs());
  if (held_count_ > 0) {
    // Held frames are due at known times: keep polling (or wake) for them.
    next_timer_ns_ = std::min(next_timer_ns_, held_[held_head_].release_ns);
  }
  if (tx_count_ > 0 || held_count_ > 0) {
    work |= tx_count_ > 0;
    FlushTx_st();
  }
  return work;
}

bool Engine::ApplyChannelChanges_st(uint64_t now_ns) {
  return channels_.ApplyPending_st(
      now_ns,
      [&](channel::EngineChannel& gone) {
        transport_->DetachChannel_st(gone, now_ns);
      },
      [&](channel::EngineChannel& draining) {
        transport_->BeginDrain_st(draining, now_ns);
      });
}

bool Engine::ServeChannels_st() {
  const uint64_t now = now_ns_;
  bool work = ApplyChannelChanges_st(now);
  work |= channels_.Poll_st(
              kBurstSize,
              [&](channel::EngineChannel& channel, const ferry_ctrl& request,
                  ferry_ctrl* reply) {
                return transport_->OnCtrl_st(channel, request, reply, now);
              },
              [&](channel::EngineChannel& channel, const ferry_desc& desc,
                  absl::Span<const channel::MessagePiece> pieces) {
                return transport_->OnTxMessage_st(channel, desc, pieces, now);
              }) > 0;
  work |= transport_->Poll_st(now);
  if (channels_.draining_st() > 0) {
    // Draining moves on with its flows (ACKs, timers) and ends by its
    // deadline at the latest: wake for that, but do not spin for it (the
    // cores may be shared with the peer that is to acknowledge).
    next_timer_ns_ = std::min(
        next_timer_ns_, channels_.FinishDrained_st(
                            now,
                            [&](channel::EngineChannel& channel) {
                              return transport_->DrainStep_st(channel, now);
                            },
                            [&](channel::EngineChannel& gone) {
                              transport_->DetachChannel_st(gone, now);
                            }));
  }
  channels_.Flush_st();
  return work;
}

dpdk::Packet* Engine::AllocPacket_st() {
  return dpdk::AllocPacket(config_.queue);
}

std::optional<net::Ipv4Address> Engine::NextHop(net::Ipv4Address dst) const {
  if (config_.ip.Contains(dst)) return dst;
  return config_.gateway;
}

bool Engine::NextHopResolved_st(net::Ipv4Address dst, uint64_t now_ns) {
  const std::optional<net::Ipv4Address> hop = NextHop(dst);
  return hop.has_value() && neighbors_.Lookup(*hop, now_ns).has_value();
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
        if (held_count_ < kMaxHeld) {
          counters_.fault_delayed.Inc();
          held_[(held_head_ + held_count_) % kMaxHeld] =
              HeldFrame{pkt, now_ns_ + faults_.delay_ns()};
          ++held_count_;
          next_timer_ns_ =
              std::min(next_timer_ns_, now_ns_ + faults_.delay_ns());
          continue;
        }
        break;
      case FaultInjector::Verdict::kPass:
        break;
    }
    out[n++] = pkt;
  }
  return n;
}

bool Engine::DrainCommands_st(uint64_t now_ns) {
  if (commands_.EmptyHint()) return false;
  EngineCommand command;
  while (commands_.TryPop(&command)) {
    counters_.commands.Inc();
    ExecuteCommand_st(command, now_ns);
  }
  return true;
}

void Engine::ExecuteCommand_st(const EngineCommand& command, uint64_t now_ns) {
  absl::StatusCode code = absl::StatusCode::kOk;
  const char* message = "";
  switch (command.type) {
    case CommandType::kNoop:
      break;
    case CommandType::kStartPing:
      if (command.count == 0 || command.interval_ns == 0 ||
          command.payload_size < kPingTimestampSize ||
          static_cast<int>(command.payload_size) >
              config_.mtu - static_cast<int>(net::kIpv4HeaderSize +
                                             net::kIcmpEchoHeaderSize)) {
        code = absl::StatusCode::kInvalidArgument;
        message = "ping needs count > 0, interval > 0, 8 <= size <= MTU-28";
        break;
      }
      pinger_.active = true;
      pinger_.dst = command.ip;
      pinger_.remaining = command.count;
      pinger_.interval_ns = command.interval_ns;
      pinger_.payload_size = command.payload_size;
      pinger_.next_send_ns = now_ns;
      pinger_.id = static_cast<uint16_t>(0xfe00 | config_.id);
      next_timer_ns_ = now_ns;
      break;
    case CommandType::kStopPing:
      pinger_.active = false;
      break;
    case CommandType::kListFlows:
      if (command.flow_list == nullptr) {
        code = absl::StatusCode::kInvalidArgument;
        message = "no result buffer";
        break;
      }
      transport_->ListFlows_st(command.start, command.flow_list);
      break;
    case CommandType::kCloseFlow:
      if (!transport_->CloseFlow_st(command.flow_id, command.abort, now_ns,
                                    command.channel_id)) {
        code = absl::StatusCode::kNotFound;
        message = "no such flow on this engine";
      }
      break;
    case CommandType::kChannelCtrl: {
      auto* completion = static_cast<CtrlCompletion*>(command.completion);
      // The channel may have been posted to this engine just before the
      // request (an application listens right after it attached).
      ApplyChannelChanges_st(now_ns);
      channel::EngineChannel* channel = channels_.Find_st(command.channel_id);
      if (channel == nullptr || channel->draining() || completion == nullptr) {
        code = absl::StatusCode::kNotFound;
        message = "no such channel on this engine";
        break;
      }
      ferry_ctrl reply = {};
      reply.id = command.ctrl.id;
      reply.op = command.ctrl.op;
      if (!transport_->OnCtrl_st(*channel, command.ctrl, &reply, now_ns,
                                 completion)) {
        return;  // the transport completes it when the handshake ends
      }
      completion->reply = reply;
      break;
    }
  }
  if (command.completion != nullptr) {
    command.completion->Complete(code, message);
  }
}

void Engine::HandleBurst_st(dpdk::Packet** pkts, uint16_t n, uint64_t now_ns) {
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) __builtin_prefetch(dpdk::FrameBytes(pkts[i + 1]).data());
    HandleFrame_st(pkts[i], now_ns);
  }
}

void Engine::HandleFrame_st(dpdk::Packet* pkt, uint64_t now_ns) {
  const absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkt);
  counters_.rx_packets.Inc();
  counters_.rx_bytes.Add(bytes.size());
  if (dpdk::IsChained(pkt)) {
    counters_.rx_drop_chained.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  net::ParseOptions options;
  if (rx_checksum_offload_ && dpdk::RxIpv4ChecksumGood(pkt)) {
    options.verify_ipv4_checksum = false;
  }
  if (config_.capabilities.rx_udp_checksum && dpdk::RxL4ChecksumGood(pkt)) {
    options.verify_l4_checksum = false;
  }
  net::ParsedFrame frame;
  const net::DropReason reason = net::ParseFrame(bytes, options, &frame);
  if (reason != net::DropReason::kNone) {
    counters_.rx_drop_malformed[static_cast<size_t>(reason)].Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (frame.eth_dst != config_.mac && !frame.eth_dst.IsBroadcast()) {
    counters_.rx_drop_foreign.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (frame.ether_type == net::kEtherTypeArp) {
    HandleArp_st(pkt, frame, now_ns);
    return;
  }
  if (frame.ip_dst != config_.ip.address || frame.eth_dst.IsBroadcast()) {
    counters_.rx_drop_foreign.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  if (frame.ip_protocol == net::kIpProtoIcmp) {
    HandleIcmp_st(pkt, frame, now_ns);
    return;
  }
  if (frame.ip_protocol == net::kIpProtoUdp) {
    transport_->OnUdp_st(pkt, frame, now_ns);
    return;
  }
  counters_.rx_udp_unhandled.Inc();
  dpdk::FreePacket(pkt);
}

void Engine::HandleArp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                          uint64_t now_ns) {
  const net::Ipv4Address sender = frame.arp_sender_ip;
  const bool for_us = frame.arp_target_ip == config_.ip.address;
  const bool sender_ok = sender.value != 0 && sender != config_.ip.address &&
                         !frame.arp_sender_mac.IsMulticast() &&
                         config_.ip.Contains(sender);
  if (!sender_ok) {
    if (sender == config_.ip.address) {
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

void Engine::RunTimers_st(uint64_t now_ns) {
  neighbors_.Tick(
      now_ns, [&](net::Ipv4Address ip) { SendArpRequest_st(ip); },
      [&](dpdk::Packet* pkt) {
        counters_.arp_pending_dropped.Inc();
        dpdk::FreePacket(pkt);
      },
      [&](net::Ipv4Address ip) {
        counters_.arp_resolve_failed.Inc();
        FERRY_LOG_EVERY_SEC(Warning, "engine %d: %s does not answer ARP",
                            config_.id, ip.ToString());
      });
  if (pinger_.active && now_ns >= pinger_.next_send_ns) SendPing_st(now_ns);
  uint64_t next = std::min(neighbors_.NextDeadline(), now_ns + kHousekeepingNs);
  if (pinger_.active) next = std::min(next, pinger_.next_send_ns);
  next_timer_ns_ = next;
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
  dpdk::Packet* pkt = dpdk::AllocPacket(config_.queue);
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    return;
  }
  net::ArpFrame arp;
  arp.op = net::kArpOpRequest;
  arp.eth_dst = net::MacAddress::Broadcast();
  arp.sender_mac = config_.mac;
  arp.sender_ip = config_.ip.address;
  arp.target_ip = target;
  const size_t length = net::BuildArp(dpdk::FrameRoom(pkt), arp);
  dpdk::SetFrameLength(pkt, static_cast<uint32_t>(length));
  counters_.arp_requests_tx.Inc();
  Transmit_st(pkt);
}

void Engine::SendIpv4_st(dpdk::Packet* pkt, net::Ipv4Address dst,
                         uint64_t now_ns) {
  const std::optional<net::Ipv4Address> hop = NextHop(dst);
  if (!hop.has_value()) {
    counters_.tx_drop_no_route.Inc();
    dpdk::FreePacket(pkt);
    return;
  }
  const net::Ipv4Address next_hop = *hop;
  if (std::optional<net::MacAddress> mac =
          neighbors_.Lookup(next_hop, now_ns)) {
    std::memcpy(dpdk::MutableFrameBytes(pkt).data() + net::kEtherDstOffset,
                mac->bytes.data(), 6);
    Transmit_st(pkt);
    return;
  }
  switch (neighbors_.QueuePending(next_hop, pkt, now_ns)) {
    case NeighborTable::QueueResult::kQueuedSendRequest:
      SendArpRequest_st(next_hop);
      next_timer_ns_ = std::min(next_timer_ns_, neighbors_.NextDeadline());
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

void Engine::Transmit_st(dpdk::Packet* pkt) {
  if (tx_count_ == kTxBatchSize) FlushTx_st();
  tx_batch_[tx_count_++] = pkt;
}

void Engine::FlushTx_st() {
  dpdk::Packet** pkts = tx_batch_;
  uint16_t count = tx_count_;
  // Released, passed and duplicated frames: at most a batch of each.
  dpdk::Packet* faulted[3 * kTxBatchSize];
  if (faults_.enabled()) {
    count = InjectFaults_st(faulted);
    pkts = faulted;
  }
  tx_count_ = 0;
  if (count == 0) return;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) bytes += pkts[i]->pkt_len;
  const uint16_t sent = dpdk::TxBurst(config_.queue, pkts, count);
  for (uint16_t i = sent; i < count; ++i) bytes -= pkts[i]->pkt_len;
  counters_.tx_packets.Add(sent);
  counters_.tx_bytes.Add(bytes);
  if (sent < count) {
    counters_.tx_drop_full.Add(count - sent);
    dpdk::FreePackets(pkts + sent, count - sent);
  }
}

}  // namespace ferry::engine
