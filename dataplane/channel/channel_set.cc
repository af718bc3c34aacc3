#include "dataplane/channel/channel_set.h"

namespace ferry::channel {

ChannelSet::~ChannelSet() {
  EngineChannel* channel;
  while (attach_.TryPop(&channel)) delete channel;
  while (detached_.TryPop(&channel)) delete channel;
  for (EngineChannel* active : active_) delete active;
}

std::unique_ptr<EngineChannel> ChannelSet::PostAttach(
    std::unique_ptr<EngineChannel> channel) {
  if (!attach_.TryPush(channel.get())) return channel;
  channel.release();
  return nullptr;
}

bool ChannelSet::PostDetach(uint64_t channel_id, uint64_t linger_ns) {
  return detach_.TryPush(Detach{channel_id, linger_ns});
}

void ChannelSet::Release_st(size_t i) {
  if (active_[i]->draining()) --draining_;
  // Every channel passes through detached_ at most once and it holds
  // kMaxChannels, so this push cannot fail.
  detached_.TryPush(active_[i]);
  active_[i] = active_.back();
  active_.pop_back();
}

std::unique_ptr<EngineChannel> ChannelSet::TakeDetached() {
  EngineChannel* channel;
  if (!detached_.TryPop(&channel)) return nullptr;
  return std::unique_ptr<EngineChannel>(channel);
}

bool ChannelSet::PrepareToSleep_st() {
  for (size_t i = 0; i < active_.size(); ++i) {
    if (!active_[i]->PrepareToSleep_st()) {
      for (size_t k = 0; k < i; ++k) active_[k]->DoneSleeping_st();
      return false;
    }
  }
  return true;
}

}  // namespace ferry::channel
