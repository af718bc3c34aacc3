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
  bool ApplyPending_st();

  // Engine thread: takes up to `max_per_channel` messages from each channel;
  // `sink(channel, desc, pieces)` as for EngineChannel::PollTx_st.
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

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_CHANNEL_SET_H_
