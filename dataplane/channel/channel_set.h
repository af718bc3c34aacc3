// The channels one engine serves, and the hand-over of channels between the
// control thread and that engine.
//
// The control thread creates a channel and posts it (ownership moves to the
// engine); to end a channel it posts its id, and the engine hands the
// channel back through a second ring once it has let go of it, so that the
// control thread frees it (unmapping the segment) while no engine can touch
// it. No locks: three SPSC rings.
#ifndef FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_
#define FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_

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
  bool PostDetach(uint64_t channel_id);
  // A channel the engine let go of, or null.
  std::unique_ptr<EngineChannel> TakeDetached();

  // Engine thread: applies posted attaches and detaches; true if any.
  // `before_detach(channel)` runs while the engine still owns a channel
  // that is leaving (to end what it holds of it).
  template <typename BeforeDetach>
  bool ApplyPending_st(BeforeDetach&& before_detach);
  bool ApplyPending_st() {
    return ApplyPending_st([](EngineChannel&) {});
  }

  // Engine thread: serves each channel's control requests with
  // `ctrl(channel, request, &reply)` and takes up to `max_per_channel`
  // messages from each with `sink(channel, desc, pieces)`, as for
  // EngineChannel::PollCtrl_st and PollTx_st.
  template <typename Ctrl, typename Sink>
  uint32_t Poll_st(uint32_t max_per_channel, Ctrl&& ctrl, Sink&& sink) {
    uint32_t total = 0;
    for (EngineChannel* channel : active_) {
      total += channel->PollCtrl_st(
          [&](const ferry_ctrl& request, ferry_ctrl* reply) {
            return ctrl(*channel, request, reply);
          });
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
  SpscRing<EngineChannel*, kMaxChannels> attach_;
  SpscRing<uint64_t, kMaxChannels> detach_;
  SpscRing<EngineChannel*, kMaxChannels> detached_;
  std::vector<EngineChannel*> active_;  // engine thread
};

template <typename BeforeDetach>
bool ChannelSet::ApplyPending_st(BeforeDetach&& before_detach) {
  bool changed = false;
  EngineChannel* channel;
  while (active_.size() < kMaxChannels && attach_.TryPop(&channel)) {
    active_.push_back(channel);
    changed = true;
  }
  uint64_t id;
  while (detach_.TryPop(&id)) {
    changed = true;
    for (size_t i = 0; i < active_.size(); ++i) {
      if (active_[i]->segment().channel_id() != id) continue;
      before_detach(*active_[i]);
      // Every channel passes through detached_ at most once and it holds
      // kMaxChannels, so this push cannot fail.
      detached_.TryPush(active_[i]);
      active_[i] = active_.back();
      active_.pop_back();
      break;
    }
  }
  return changed;
}

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_
