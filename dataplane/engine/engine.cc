#include "dataplane/engine/engine.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "dataplane/base/check.h"
#include "dataplane/base/clock.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {
namespace {

// Timers run at least this often, so that nothing waits on a deadline that
// was computed before a new entry was added.
constexpr uint64_t kHousekeepingNs = 10 * kNanosPerMilli;

}  // namespace

Engine::Engine(const EngineConfig& config)
    : config_(config),
      rx_checksum_offload_(config.capabilities.rx_ipv4_checksum),
      neighbors_(config.neighbor_capacity, config.neighbor_timings),
      faults_(config.faults) {
  if (config.queue.tx_external && config.transport.zero_copy_min_bytes != 0) {
    external_ = std::make_unique<dpdk::ExternalPayloads>();
  }
  // Channels need the doorbell before the thread starts.
  init_status_ = waker_.Init();
  TransportConfig transport = config.transport;
  transport.flow.mss = transport::MssForMtu(static_cast<uint32_t>(config.mtu));
  PacketIo& io = *this;  // a private base: only we hand it out
  transport_ = std::make_unique<TransportEndpoint>(
      transport, config.mac, config.ip.address,
      config.capabilities.tx_ipv4_checksum, io, counters_, config.group,
      group_index(), config.interface);
  if (config.group != nullptr) config.group->Register(group_index(), this);
}

void Engine::Nudge() {
  // Pairs with the fence in IdleWait_st, as for commands.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) waker_.Ring();
}

bool Engine::TakeSteered_st(uint64_t now_ns) {
  EngineGroup* group = config_.group;
  const int self = group_index();
  bool work = false;
  const int active = group->active();
  for (int from = 0; from < active; ++from) {
    if (from == self) continue;
    uint16_t n = group->TakeTx(from, self, rx_burst_, kBurstSize);
    for (uint16_t i = 0; i < n; ++i) SendForOther_st(rx_burst_[i], now_ns);
    work |= n > 0;
    n = group->Take(from, self, rx_burst_, kBurstSize);
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
  // What the queue never took goes back to the pool.
  for (; tx_overflow_count_ > 0; --tx_overflow_count_) {
    dpdk::FreePacket(tx_overflow_[tx_overflow_head_]);
    tx_overflow_head_ = (tx_overflow_head_ + 1) % kTxOverflow;
  }
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
  kernel_thread_id_.store(gettid(), std::memory_order_relaxed);
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
  if (config_.id == 0) {
    announcements_left_ = 3;
    next_announcement_ns_ = last_work_ns_;
    HousekeepingDue_st(last_work_ns_);
  }
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
  thread_owner_.Release();
  kernel_thread_id_.store(0, std::memory_order_relaxed);
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
    dpdk::AcknowledgeRxInterrupts(config_.queue, rx_interrupt_epfd_);
  }
  if (woken_by & Waker::kDoorbell) counters_.wakeups_doorbell.Inc();
  if (has_interrupts) dpdk::DisableRxInterrupt(config_.queue);
  channels_.DoneSleeping_st();
  sleeping_.store(false, std::memory_order_relaxed);
  counters_.sleep_ns.Add(MonotonicNanos() - now_ns);
}

bool Engine::PollOnce(uint64_t now_ns) {
  FERRY_DCHECK(thread_owner_.OnOwnerThread());
  now_ns_ = now_ns;
  bool work = DrainCommands_st(now_ns);
  const uint16_t n = dpdk::RxBurst(config_.queue, rx_burst_, kBurstSize);
  if (n > 0) {
    HandleBurst_st(rx_burst_, n, now_ns);
    work = true;
  }
  if (config_.group != nullptr) work |= TakeSteered_st(now_ns);
  if (now_ns >= next_timer_ns_) {
    if (now_ns >= housekeeping_ns_) RunTimers_st(now_ns);
    next_timer_ns_ = housekeeping_ns_;
  }
  work |= ServeChannels_st();
  next_timer_ns_ = std::min(next_timer_ns_, transport_->NextTimerNs());
  if (held_count_ > 0) {
    // Held frames are due at known times: keep polling (or wake) for them.
    next_timer_ns_ = std::min(next_timer_ns_, held_[held_head_].release_ns);
  }
  if (tx_count_ > 0 || held_count_ > 0 || tx_overflow_count_ > 0) {
    work |= tx_count_ > 0;
    const uint64_t sent_before = counters_.tx_packets.Get();
    FlushTx_st();
    if (tx_overflow_count_ > 0) {
      // Frames the queue refused are work while it takes some. A port
      // whose link is down (its peer not there yet, or gone) takes none
      // for as long as that lasts: retry on a timer, backing off, so that
      // the idle policy can sleep in between instead of spinning a core
      // on it.
      if (counters_.tx_packets.Get() != sent_before) {
        work = true;
        tx_retry_ns_ = kTxRetryMinNs;
      } else {
        next_timer_ns_ = std::min(next_timer_ns_, now_ns + tx_retry_ns_);
        tx_retry_ns_ = std::min(2 * tx_retry_ns_, kTxRetryMaxNs);
      }
    }
  }
  return work;
}

bool Engine::ApplyChannelChanges_st(uint64_t now_ns) {
  return channels_.ApplyPending_st(
      now_ns,
      [&](channel::EngineChannel& gone) {
        transport_->DetachChannel_st(gone, now_ns);
        ReleaseExternal_st();
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
                return OnCtrlRequest_st(channel, request, reply);
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
                              ReleaseExternal_st();
                            }));
  }
  channels_.Flush_st();
  return work;
}

void Engine::HandleBurst_st(dpdk::Packet** pkts, uint16_t n, uint64_t now_ns) {
  // With thousands of flows, each segment's flow is cold: its table entry,
  // then the flow itself, each a miss to memory. Ask for all of a burst's
  // entries, then all of their flows, before handling the first segment,
  // so that the misses overlap instead of coming one after another; then
  // an encrypted flow's key (which one depends on the flow's fields).
  uint32_t flow_ids[kBurstSize];
  const uint16_t hinted = std::min<uint16_t>(n, kBurstSize);
  for (uint16_t i = 0; i < hinted; ++i) {
    flow_ids[i] = net::PeekFerryDstFlow(dpdk::FrameBytes(pkts[i]));
    transport_->PrefetchEntry(flow_ids[i]);
  }
  for (uint16_t i = 0; i < hinted; ++i) transport_->PrefetchFlow(flow_ids[i]);
  for (uint16_t i = 0; i < hinted; ++i) {
    transport_->PrefetchOpenKey(flow_ids[i]);
  }
  for (uint16_t i = 0; i < n; ++i) HandleFrame_st(pkts[i], now_ns);
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
  AnnounceAddress_st(now_ns);
  uint64_t next = std::min(neighbors_.NextDeadline(), now_ns + kHousekeepingNs);
  if (pinger_.active) next = std::min(next, pinger_.next_send_ns);
  if (announcements_left_ > 0) next = std::min(next, next_announcement_ns_);
  housekeeping_ns_ = next;
}

}  // namespace ferry::engine
