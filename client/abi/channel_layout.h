// Where everything lives in a channel segment, computed from a few sizes.
//
// ferryd computes the layout to create a segment and writes it into the
// header; the client library recomputes it from the header's sizes and
// refuses a segment whose header disagrees, so neither side ever uses an
// offset it did not derive itself.
#ifndef FERRY_CLIENT_CHANNEL_LAYOUT_H_
#define FERRY_CLIENT_CHANNEL_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/abi/ferry_channel_abi.h"
#include "client/abi/shm_ring.h"

namespace ferry::shm {

struct ChannelSizes {
  uint32_t buffer_count = 8192;  // x 4 KiB: 32 MiB, four 8 MiB messages
  uint32_t buffer_size = 4096;
  uint32_t message_ring_capacity = 1024;  // tx and rx descriptors
  uint32_t ctrl_ring_capacity = 16;
};

struct ChannelLayout {
  ChannelSizes sizes;
  ferry_ring_layout rings[FERRY_RING_COUNT];
  uint64_t meta_offset = 0;
  uint64_t blocked_offset = 0;
  uint64_t data_offset = 0;
  uint64_t segment_size = 0;  // rounded up to `page_size`
};

// Checks the sizes (powers of two where needed, bounds, room for an 8 MiB
// message) and lays the segment out; `page_size` is 4096 or 2 MiB. Returns
// false with a reason in `error` when the sizes are not acceptable.
bool ComputeChannelLayout(const ChannelSizes& sizes, uint64_t page_size,
                          ChannelLayout* layout, std::string* error);

// Writes a fresh header for `layout` (magic, version, sizes, offsets).
void WriteChannelHeader(const ChannelLayout& layout, uint64_t channel_id,
                        ferry_channel_header* header);

// Client side: checks a mapped segment's header against its real size and
// recomputes the layout from it. False, with a reason, when they disagree.
bool ValidateChannelHeader(const ferry_channel_header& header,
                           uint64_t mapped_size, ChannelLayout* layout,
                           std::string* error);

// Byte offset of ring `id`'s entries (its indices sit at rings[id].offset).
inline uint64_t RingEntriesOffset(const ferry_ring_layout& ring) {
  return ring.offset + sizeof(ferry_ring_indices);
}

// Typed pointers into a mapped segment, from a layout this side computed.
struct ChannelView {
  uint8_t* base = nullptr;
  ChannelLayout layout;

  ferry_channel_header* header() const {
    return reinterpret_cast<ferry_channel_header*>(base);
  }
  ferry_ring_indices* ring_indices(int id) const {
    return reinterpret_cast<ferry_ring_indices*>(base +
                                                 layout.rings[id].offset);
  }
  template <typename T>
  T* ring_entries(int id) const {
    return reinterpret_cast<T*>(base + RingEntriesOffset(layout.rings[id]));
  }
  ferry_buffer_meta* meta() const {
    return reinterpret_cast<ferry_buffer_meta*>(base + layout.meta_offset);
  }
  // FERRY_FLOW_SLOTS bits; the engine writes each word whole.
  uint64_t* blocked_flows() const {
    return reinterpret_cast<uint64_t*>(base + layout.blocked_offset);
  }
  // Buffer `index` (< buffer_count: callers check).
  uint8_t* buffer(uint32_t index) const {
    return base + layout.data_offset +
           uint64_t{index} * layout.sizes.buffer_size;
  }
};

// Walks a message's buffer chain through the meta entries, bounded as
// every walk of shared memory must be: only in-range indices, at most one
// step per buffer, so a bad or looping chain ends the walk and never the
// process. Calls `visit(index, entry)` with a copy of each meta entry (read
// once); `visit` returns false to stop. Returns how many it visited.
template <typename Visit>
uint32_t WalkChain(const ChannelView& view, uint32_t head, Visit&& visit) {
  const uint32_t count = view.layout.sizes.buffer_count;
  const ferry_buffer_meta* meta = view.meta();
  uint32_t index = head;
  uint32_t steps = 0;
  while (index < count && steps < count) {
    const ferry_buffer_meta entry = meta[index];
    ++steps;
    if (!visit(index, entry)) break;
    index = entry.next;
  }
  return steps;
}

// Ring `id` of a mapped segment, seen by its producer or consumer, whose
// private index begins at `start`.
template <typename T>
RingProducer<T> MakeProducer(const ChannelView& view, int id, uint32_t start) {
  return RingProducer<T>(view.ring_indices(id), view.ring_entries<T>(id),
                         view.layout.rings[id].capacity, start);
}

template <typename T>
RingConsumer<T> MakeConsumer(const ChannelView& view, int id, uint32_t start) {
  return RingConsumer<T>(view.ring_indices(id), view.ring_entries<T>(id),
                         view.layout.rings[id].capacity, start);
}

}  // namespace ferry::shm

#endif  // FERRY_CLIENT_CHANNEL_LAYOUT_H_
