// The channels one engine serves, and the hand-over of channels between the
// control thread and that engine.
//
// The control thread creates a channel and posts it (ownership moves to the
// engine); to end a channel it posts its id, and the engine hands the
// channel back through a second ring once it has let go of it, so that the
// control thread frees it (unmapping the segment) while no engine can touch
// it. No locks: three SPSC rings.
//
// A channel may end in two ways. Aborted (linger 0), the engine lets go of
// it at once. Drained (a linger time), it stays with the engine, which
// takes every message the application had queued and delivers it before
// the channel goes: the channel is `draining` until its owner says it is
// done or the linger time is up.
#ifndef FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_
#define FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/base/spsc_ring.h"
#include "dataplane/channel/engine_channel.h"

namespace ferry::channel {

class ChannelSet {
 public:
  static constexpr size_t kMaxChannels = 256;

  ChannelSet() { active_.reserve(kMaxChannels); }
  // Frees every channel still held. Only once the engine thread is gone.
  ~ChannelSet();
  ChannelSet(const ChannelSet&) = delete;
  ChannelSet& operator=(const ChannelSet&) = delete;

  // Control thread. PostAttach returns the channel back (not taken) when
  // the engine already has kMaxChannels or the ring is full.
  std::unique_ptr<EngineChannel> PostAttach(
      std::unique_ptr<EngineChannel> channel);
  // `linger_ns` 0: abort; otherwise drain for at most that long.
  bool PostDetach(uint64_t channel_id, uint64_t linger_ns = 0);
  // A channel the engine let go of, or null.
  std::unique_ptr<EngineChannel> TakeDetached();

  // Engine thread: applies posted attaches and detaches; true if any.
  // `before_detach(channel)` runs while the engine still owns a channel
  // that is leaving (to end what it holds of it); `begin_drain(channel)`
  // when a channel starts draining (it stays).
  template <typename BeforeDetach, typename BeginDrain>
  bool ApplyPending_st(uint64_t now_ns, BeforeDetach&& before_detach,
                       BeginDrain&& begin_drain);
  template <typename BeforeDetach>
  bool ApplyPending_st(BeforeDetach&& before_detach) {
    return ApplyPending_st(0, before_detach, [](EngineChannel&) {});
  }
  bool ApplyPending_st() {
    return ApplyPending_st([](EngineChannel&) {});
  }
  // Engine thread: lets go of each draining channel for which
  // `drained(channel)` says so or whose linger time is up, after
  // `before_detach(channel)`. Returns the earliest deadline of those that
  // still drain (UINT64_MAX: none).
  template <typename Drained, typename BeforeDetach>
  uint64_t FinishDrained_st(uint64_t now_ns, Drained&& drained,
                            BeforeDetach&& before_detach);
  uint32_t draining_st() const { return draining_; }

  // Engine thread: serves each channel's control requests with
  // `ctrl(channel, request, &reply)` and takes up to `max_per_channel`
  // messages from each with `sink(channel, desc, pieces)`, as for
  // EngineChannel::PollCtrl_st and PollTx_st.
  template <typename Ctrl, typename Sink>
  uint32_t Poll_st(uint32_t max_per_channel, Ctrl&& ctrl, Sink&& sink) {
    uint32_t total = 0;
    for (EngineChannel* channel : active_) {
      // A draining channel's application is gone or leaving: its messages
      // still go out, its control requests are not served.
      if (!channel->draining()) {
        total += channel->PollCtrl_st(
            [&](const ferry_ctrl& request, ferry_ctrl* reply) {
              return ctrl(*channel, request, reply);
            });
      }
      total += channel->PollTx_st(
          max_per_channel,
          [&](const ferry_desc& desc, absl::Span<const MessagePiece> pieces) {
            return sink(*channel, desc, pieces);
          });
    }
    return total;
  }
  // The same, serving only NOOP control requests.
  template <typename Sink>
  uint32_t PollTx_st(uint32_t max_per_channel, Sink&& sink) {
    uint32_t total = 0;
    for (EngineChannel* channel : active_) {
      total += channel->PollCtrl_st();
      total += channel->PollTx_st(
          max_per_channel,
          [&](const ferry_desc& desc, absl::Span<const MessagePiece> pieces) {
            return sink(*channel, desc, pieces);
          });
    }
    return total;
  }
  // The channel with this id, or null (engine thread).
  EngineChannel* Find_st(uint64_t channel_id) const {
    for (EngineChannel* channel : active_) {
      if (channel->segment().channel_id() == channel_id) return channel;
    }
    return nullptr;
  }

  void Flush_st() {
    for (EngineChannel* channel : active_) channel->Flush_st();
  }

  // Doorbell protocol across every channel: false when one has work.
  bool PrepareToSleep_st();
  void DoneSleeping_st() {
    for (EngineChannel* channel : active_) channel->DoneSleeping_st();
  }

  size_t size_st() const { return active_.size(); }

 private:
  struct Detach {
    uint64_t channel_id;
    uint64_t linger_ns;
  };
  // Hands active_[i] back to the control thread.
  void Release_st(size_t i);

  SpscRing<EngineChannel*, kMaxChannels> attach_;
  SpscRing<Detach, kMaxChannels> detach_;
  SpscRing<EngineChannel*, kMaxChannels> detached_;
  std::vector<EngineChannel*> active_;  // engine thread
  uint32_t draining_ = 0;               // engine thread
};

template <typename BeforeDetach, typename BeginDrain>
bool ChannelSet::ApplyPending_st(uint64_t now_ns, BeforeDetach&& before_detach,
                                 BeginDrain&& begin_drain) {
  bool changed = false;
  EngineChannel* channel;
  while (active_.size() < kMaxChannels && attach_.TryPop(&channel)) {
    active_.push_back(channel);
    changed = true;
  }
  Detach request;
  while (detach_.TryPop(&request)) {
    changed = true;
    for (size_t i = 0; i < active_.size(); ++i) {
      EngineChannel& ch = *active_[i];
      if (ch.segment().channel_id() != request.channel_id) continue;
      if (request.linger_ns == 0) {
        before_detach(ch);
        Release_st(i);
      } else if (!ch.draining()) {
        ch.BeginDrain_st(now_ns + request.linger_ns);
        ++draining_;
        begin_drain(ch);
      }
      break;
    }
  }
  return changed;
}

template <typename Drained, typename BeforeDetach>
uint64_t ChannelSet::FinishDrained_st(uint64_t now_ns, Drained&& drained,
                                      BeforeDetach&& before_detach) {
  uint64_t next_deadline = UINT64_MAX;
  for (size_t i = 0; i < active_.size() && draining_ > 0;) {
    EngineChannel& ch = *active_[i];
    if (!ch.draining()) {
      ++i;
      continue;
    }
    if (now_ns < ch.drain_deadline_ns() && !drained(ch)) {
      next_deadline = std::min(next_deadline, ch.drain_deadline_ns());
      ++i;
      continue;
    }
    before_detach(ch);
    Release_st(i);  // active_[i] is now another channel: look at it next
  }
  return next_deadline;
}

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_
