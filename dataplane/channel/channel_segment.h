// Creates the shared memory of one channel, on ferryd's side.
//
// The segment is a memfd (hugetlb-backed when 2 MiB pages are free), sized
// once and then sealed against shrinking, growing and further sealing: an
// application that holds the fd can write anything into it but cannot make
// ferryd's mapping shorter, so the engine never takes SIGBUS however the
// application misbehaves. See docs/CHANNELS.md for the whole threat model.
#ifndef FERRY_DATAPLANE_CHANNEL_CHANNEL_SEGMENT_H_
#define FERRY_DATAPLANE_CHANNEL_CHANNEL_SEGMENT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "client/abi/channel_layout.h"

namespace ferry::channel {

enum class SegmentMemory { kAuto, kHugepages, kOrdinaryPages };

class ChannelSegment {
 public:
  static absl::StatusOr<std::unique_ptr<ChannelSegment>> Create(
      const shm::ChannelSizes& sizes, uint64_t channel_id,
      SegmentMemory memory = SegmentMemory::kAuto);
  ~ChannelSegment();  // unmaps and closes
  ChannelSegment(const ChannelSegment&) = delete;
  ChannelSegment& operator=(const ChannelSegment&) = delete;

  // The sealed memfd, to pass to the application (ownership stays here).
  int fd() const { return fd_; }
  bool hugepages() const { return hugepages_; }
  uint64_t channel_id() const { return channel_id_; }
  // Layout and pointers computed here, never read back from the segment.
  const shm::ChannelView& view() const { return view_; }

 private:
  ChannelSegment() = default;

  int fd_ = -1;
  bool hugepages_ = false;
  uint64_t channel_id_ = 0;
  shm::ChannelView view_;
};

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_CHANNEL_SEGMENT_H_
