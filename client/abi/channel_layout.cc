#include "client/abi/channel_layout.h"

#include <cstring>

namespace ferry::shm {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool Fail(std::string* error, const char* why) {
  *error = why;
  return false;
}

}  // namespace

bool ComputeChannelLayout(const ChannelSizes& sizes, uint64_t page_size,
                          ChannelLayout* layout, std::string* error) {
  if (!IsPowerOfTwo(sizes.buffer_size) || sizes.buffer_size < 256 ||
      sizes.buffer_size > (1u << 20)) {
    return Fail(error, "buffer size must be a power of two, 256 B..1 MiB");
  }
  if (!IsPowerOfTwo(sizes.buffer_count) || sizes.buffer_count > (1u << 22)) {
    return Fail(error, "buffer count must be a power of two, at most 4M");
  }
  // Both directions must be able to hold a largest message at once.
  if (uint64_t{sizes.buffer_count} * sizes.buffer_size <
      2ull * FERRY_MAX_MESSAGE_SIZE) {
    return Fail(error, "buffers must hold two 8 MiB messages (one each way)");
  }
  if (!IsPowerOfTwo(sizes.message_ring_capacity) ||
      sizes.message_ring_capacity < 2 ||
      sizes.message_ring_capacity > (1u << 20)) {
    return Fail(error, "message ring capacity must be a power of two, 2..1M");
  }
  if (!IsPowerOfTwo(sizes.ctrl_ring_capacity) || sizes.ctrl_ring_capacity < 2 ||
      sizes.ctrl_ring_capacity > 1024) {
    return Fail(error, "control ring capacity must be a power of two, 2..1024");
  }
  if (!IsPowerOfTwo(page_size) || page_size < 4096) {
    return Fail(error, "page size must be a power of two >= 4096");
  }
  layout->sizes = sizes;
  const struct {
    uint32_t capacity;
    uint32_t entry_size;
  } rings[FERRY_RING_COUNT] = {
      {sizes.ctrl_ring_capacity, sizeof(ferry_ctrl)},
      {sizes.ctrl_ring_capacity, sizeof(ferry_ctrl)},
      {sizes.message_ring_capacity, sizeof(ferry_desc)},
      {sizes.message_ring_capacity, sizeof(ferry_desc)},
      // A free ring can hold every buffer: no push can ever find it full.
      {sizes.buffer_count, sizeof(uint32_t)},
      {sizes.buffer_count, sizeof(uint32_t)},
  };
  uint64_t offset = AlignUp(sizeof(ferry_channel_header), FERRY_CACHE_LINE);
  for (int i = 0; i < FERRY_RING_COUNT; ++i) {
    layout->rings[i].offset = offset;
    layout->rings[i].capacity = rings[i].capacity;
    layout->rings[i].entry_size = rings[i].entry_size;
    offset += sizeof(ferry_ring_indices) +
              uint64_t{rings[i].capacity} * rings[i].entry_size;
    offset = AlignUp(offset, FERRY_CACHE_LINE);
  }
  layout->meta_offset = offset;
  offset += uint64_t{sizes.buffer_count} * sizeof(ferry_buffer_meta);
  // Within the first 200 MiB at the largest sizes: the header's 32 bits
  // hold it.
  layout->blocked_offset = AlignUp(offset, FERRY_CACHE_LINE);
  offset = layout->blocked_offset + FERRY_FLOW_SLOTS / 8;
  layout->data_offset = AlignUp(offset, 4096);
  layout->segment_size = AlignUp(
      layout->data_offset + uint64_t{sizes.buffer_count} * sizes.buffer_size,
      page_size);
  return true;
}

void WriteChannelHeader(const ChannelLayout& layout, uint64_t channel_id,
                        ferry_channel_header* header) {
  std::memset(header, 0, sizeof(*header));
  header->magic = FERRY_CHANNEL_MAGIC;
  header->version = FERRY_CHANNEL_ABI_VERSION;
  header->header_size = sizeof(ferry_channel_header);
  header->segment_size = layout.segment_size;
  header->channel_id = channel_id;
  header->buffer_count = layout.sizes.buffer_count;
  header->buffer_size = layout.sizes.buffer_size;
  header->meta_offset = layout.meta_offset;
  header->data_offset = layout.data_offset;
  header->blocked_offset = static_cast<uint32_t>(layout.blocked_offset);
  header->max_message_size = FERRY_MAX_MESSAGE_SIZE;
  std::memcpy(header->rings, layout.rings, sizeof(layout.rings));
}

bool ValidateChannelHeader(const ferry_channel_header& header,
                           uint64_t mapped_size, ChannelLayout* layout,
                           std::string* error) {
  if (header.magic != FERRY_CHANNEL_MAGIC) {
    return Fail(error, "not a Ferry channel (bad magic)");
  }
  if (header.version != FERRY_CHANNEL_ABI_VERSION) {
    return Fail(error, "channel ABI version mismatch");
  }
  ChannelSizes sizes;
  sizes.buffer_count = header.buffer_count;
  sizes.buffer_size = header.buffer_size;
  sizes.message_ring_capacity = header.rings[FERRY_RING_TX].capacity;
  sizes.ctrl_ring_capacity = header.rings[FERRY_RING_CTRL_SQ].capacity;
  // The page size does not change offsets, only the rounded total.
  if (!ComputeChannelLayout(sizes, 4096, layout, error)) return false;
  if (header.meta_offset != layout->meta_offset ||
      header.data_offset != layout->data_offset ||
      header.blocked_offset != layout->blocked_offset ||
      std::memcmp(header.rings, layout->rings, sizeof(layout->rings)) != 0) {
    return Fail(error, "channel header offsets disagree with its sizes");
  }
  if (header.segment_size < layout->segment_size ||
      header.segment_size > mapped_size) {
    return Fail(error, "channel segment is smaller than its layout");
  }
  layout->segment_size = header.segment_size;
  return true;
}

}  // namespace ferry::shm
