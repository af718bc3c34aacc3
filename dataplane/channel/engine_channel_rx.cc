// The engine's side of a channel, towards the application: receives
// reassembled into its free buffers, deliveries, events, control
// completions, and publishing (with the doorbell protocol).
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dataplane/base/check.h"
#include "dataplane/channel/engine_channel.h"

namespace ferry::channel {

uint64_t EngineChannel::RxRoomBytes_st() {
  if (!RxHasRoom_st(1)) return 0;
  RefillSpare_st(buffer_count_);
  const uint64_t free = spare_.size() > rx_reserved_buffers_
                            ? spare_.size() - rx_reserved_buffers_
                            : 0;
  return free * buffer_size_;
}

uint64_t EngineChannel::BeginRx_st(uint32_t length) {
  if (length > FERRY_MAX_MESSAGE_SIZE || rx_free_slot_ == FERRY_BUFFER_NONE) {
    return 0;
  }
  // A message that fits its descriptor gathers in the slot, not buffers.
  const uint32_t needed = length <= FERRY_INLINE_MAX
                              ? 0
                              : (length + buffer_size_ - 1) / buffer_size_;
  if (!RxHasRoom_st(1)) {
    if (rx_.corrupt()) NoteCorruption_st();
    counters_.rx_ring_full.Inc();
    return 0;
  }
  if (!RefillSpare_st(rx_reserved_buffers_ + needed)) {
    counters_.rx_no_buffers.Inc();
    return 0;
  }
  const uint32_t index = rx_free_slot_;
  RxSlot& slot = rx_slots_[index];
  rx_free_slot_ = slot.next_free;
  slot = RxSlot{FERRY_BUFFER_NONE,
                FERRY_BUFFER_NONE,
                buffer_size_,
                0,
                needed,
                length,
                FERRY_BUFFER_NONE,
                {}};
  rx_reserved_buffers_ += needed;
  held_buffers_.Add(needed);
  ++rx_reserved_slots_;
  ++rx_open_;
  return uint64_t{index} + 1;
}

void EngineChannel::WriteRx_st(uint64_t handle, uint32_t offset,
                               absl::Span<const uint8_t> bytes) {
  FERRY_DCHECK(handle >= 1 && handle <= rx_slots_.size());
  RxSlot& slot = rx_slots_[handle - 1];
  if (slot.length <= FERRY_INLINE_MAX) {
    if (offset >= slot.length) return;
    std::memcpy(slot.inline_data + offset, bytes.data(),
                std::min<size_t>(bytes.size(), slot.length - offset));
    return;
  }
  // Writes arrive in order: the chain's end is the offset.
  size_t done = 0;
  while (done < bytes.size()) {
    if (slot.used == buffer_size_) {
      if (slot.reserved == 0) return;  // more bytes than announced
      const uint32_t buffer = spare_.back();
      spare_.pop_back();
      --slot.reserved;
      --rx_reserved_buffers_;
      if (slot.head == FERRY_BUFFER_NONE) {
        slot.head = buffer;
      } else {
        rx_next_[slot.tail] = buffer;
      }
      rx_next_[buffer] = FERRY_BUFFER_NONE;
      slot.tail = buffer;
      slot.used = 0;
      ++slot.taken;
    }
    const uint32_t n = static_cast<uint32_t>(
        std::min<size_t>(bytes.size() - done, buffer_size_ - slot.used));
    std::memcpy(view_.buffer(slot.tail) + slot.used, bytes.data() + done, n);
    slot.used += n;
    done += n;
  }
}

uint32_t EngineChannel::EndRx_st(uint64_t handle, bool complete, uint64_t flow,
                                 uint64_t cookie) {
  FERRY_DCHECK(handle >= 1 && handle <= rx_slots_.size());
  const uint32_t index = static_cast<uint32_t>(handle - 1);
  RxSlot& slot = rx_slots_[index];
  rx_reserved_buffers_ -= slot.reserved;
  // Delivered to the app or given back to spare_: the engine holds none.
  held_buffers_.Sub(slot.reserved + slot.taken);
  --rx_reserved_slots_;
  --rx_open_;
  uint32_t buffer = slot.head;
  if (complete) {
    // The app trusts the segment: the chain goes into its meta entries.
    ferry_buffer_meta* meta = view_.meta();
    for (uint32_t i = 0; i < slot.taken && buffer < buffer_count_; ++i) {
      const uint32_t next = rx_next_[buffer];
      meta[buffer].next = i + 1 < slot.taken ? next : FERRY_BUFFER_NONE;
      meta[buffer].length = i + 1 < slot.taken ? buffer_size_ : slot.used;
      buffer = next;
    }
    ferry_desc desc = {};
    if (slot.length <= FERRY_INLINE_MAX) {
      std::memcpy(desc.inline_data, slot.inline_data, slot.length);
    }
    // The ring slot was reserved at BeginRx_st.
    PostMessage_st(&desc, flow, cookie,
                   slot.taken > 0 ? slot.head : FERRY_BUFFER_NONE, slot.length);
  } else {
    for (uint32_t i = 0; i < slot.taken && buffer < buffer_count_ &&
                         spare_.size() < buffer_count_;
         ++i) {
      spare_.push_back(buffer);
      buffer = rx_next_[buffer];
    }
  }
  slot.next_free = rx_free_slot_;
  rx_free_slot_ = index;
  return complete ? slot.length : 0;
}

bool EngineChannel::PostEvent_st(uint16_t type, uint64_t flow, uint64_t cookie,
                                 ferry_status status) {
  if (!RxHasRoom_st(1)) {
    counters_.events_dropped.Inc();
    return false;
  }
  ferry_desc event = {};
  event.flow = flow;
  event.cookie = cookie;
  event.head = FERRY_BUFFER_NONE;
  event.type = type;
  event.status = static_cast<uint16_t>(status);
  RxWrite_st(event);
  return true;
}

void EngineChannel::RxWrite_st(const ferry_desc& desc) {
  // Older ones first; then the ring if it still has room (RxHasRoom_st
  // counted its room and the backlog's together).
  if (rx_backlog_count_ > 0) DrainBacklog_st();
  if (rx_backlog_count_ == 0 && rx_.HasRoom(1)) {
    rx_.Write(desc);
    return;
  }
  // RxHasRoom_st admitted it: the backlog has room.
  FERRY_DCHECK(rx_backlog_count_ < rx_backlog_capacity_);
  // Wrapped by a compare, not `%`: a division per message showed in
  // profiles of 10,000 flows, whose deliveries mostly wait here.
  uint32_t tail = rx_backlog_head_ + rx_backlog_count_;
  if (tail >= rx_backlog_capacity_) tail -= rx_backlog_capacity_;
  rx_backlog_[tail] = desc;
  ++rx_backlog_count_;
  counters_.rx_backlogged.Inc();
}

void EngineChannel::DrainBacklog_st() {
  while (rx_backlog_count_ > 0 && rx_.HasRoom(1)) {
    rx_.Write(rx_backlog_[rx_backlog_head_]);
    if (++rx_backlog_head_ == rx_backlog_capacity_) rx_backlog_head_ = 0;
    --rx_backlog_count_;
  }
}

void EngineChannel::CompleteCtrl_st(const ferry_ctrl& reply) {
  if (ctrl_reserved_ == 0) return;
  --ctrl_reserved_;
  ctrl_cq_.Write(reply);
}

void EngineChannel::ReportSendError_st(const ferry_desc& desc,
                                       ferry_status status) {
  if (!RxHasRoom_st(1)) {
    counters_.events_dropped.Inc();
    return;
  }
  ferry_desc event = {};
  event.flow = desc.flow;
  event.cookie = desc.cookie;
  event.head = FERRY_BUFFER_NONE;
  event.type = FERRY_DESC_SEND_ERROR;
  event.status = static_cast<uint16_t>(status);
  RxWrite_st(event);
}

bool EngineChannel::RefillSpare_st(uint32_t needed) {
  if (spare_.size() >= needed) return true;
  const uint32_t n = engine_free_.Available();
  if (engine_free_.corrupt()) NoteCorruption_st();
  for (uint32_t i = 0; i < n && spare_.size() < buffer_count_; ++i) {
    const uint32_t index = engine_free_.Peek(i);
    if (index >= buffer_count_) {
      counters_.bad_free_indices.Inc();
      continue;
    }
    spare_.push_back(index);
  }
  if (n > 0) engine_free_.Consume(n);
  return spare_.size() >= needed;
}

ferry_status EngineChannel::Deliver_st(uint64_t flow,
                                       absl::Span<const MessagePiece> pieces) {
  uint64_t total = 0;
  for (const MessagePiece& piece : pieces) total += piece.length;
  if (total > FERRY_MAX_MESSAGE_SIZE) return FERRY_STATUS_BAD_LENGTH;
  if (!RxHasRoom_st(1)) {
    if (rx_.corrupt()) NoteCorruption_st();
    counters_.rx_ring_full.Inc();
    return FERRY_STATUS_NO_BUFFERS;
  }
  if (total <= FERRY_INLINE_MAX) {
    ferry_desc desc = {};
    uint32_t used = 0;
    for (const MessagePiece& piece : pieces) {
      if (piece.length == 0) continue;
      std::memcpy(desc.inline_data + used, piece.data, piece.length);
      used += piece.length;
    }
    PostMessage_st(&desc, flow, 0, FERRY_BUFFER_NONE, used);
    return FERRY_STATUS_OK;
  }
  const uint32_t needed =
      static_cast<uint32_t>((total + buffer_size_ - 1) / buffer_size_);
  if (!RefillSpare_st(rx_reserved_buffers_ + needed)) {
    counters_.rx_no_buffers.Inc();
    return FERRY_STATUS_NO_BUFFERS;
  }
  ferry_buffer_meta* meta = view_.meta();
  uint32_t head = FERRY_BUFFER_NONE;
  uint32_t previous = FERRY_BUFFER_NONE;
  uint32_t buffer = FERRY_BUFFER_NONE;
  uint32_t used = buffer_size_;  // forces taking a buffer on the first byte
  for (const MessagePiece& piece : pieces) {
    uint32_t offset = 0;
    while (offset < piece.length) {
      if (used == buffer_size_) {
        buffer = spare_.back();
        spare_.pop_back();
        if (previous == FERRY_BUFFER_NONE) {
          head = buffer;
        } else {
          meta[previous].length = buffer_size_;
          meta[previous].next = buffer;
        }
        previous = buffer;
        used = 0;
      }
      const uint32_t n = std::min(piece.length - offset, buffer_size_ - used);
      std::memcpy(view_.buffer(buffer) + used, piece.data + offset, n);
      used += n;
      offset += n;
    }
  }
  if (previous != FERRY_BUFFER_NONE) {
    meta[previous].length = used;
    meta[previous].next = FERRY_BUFFER_NONE;
  }
  ferry_desc desc = {};
  PostMessage_st(&desc, flow, 0, head, static_cast<uint32_t>(total));
  return FERRY_STATUS_OK;
}

void EngineChannel::PostMessage_st(ferry_desc* desc, uint64_t flow,
                                   uint64_t cookie, uint32_t head,
                                   uint32_t length) {
  desc->flow = flow;
  desc->cookie = cookie;
  desc->head = head;
  desc->length = length;
  desc->type = FERRY_DESC_MESSAGE;
  desc->status = FERRY_STATUS_OK;
  RxWrite_st(*desc);
  counters_.rx_messages.Inc();
  counters_.rx_bytes.Add(length);
}

void EngineChannel::Flush_st() {
  if (rx_backlog_count_ > 0) DrainBacklog_st();
  // Nobody sleeps on a free ring: publish it without the doorbell fence.
  app_free_.PublishQuiet();
  const bool wake_rx = rx_.Publish();
  const bool wake_ctrl = ctrl_cq_.Publish();
  if (wake_rx || wake_ctrl) {
    const uint64_t one = 1;
    ssize_t ignored = write(app_eventfd_, &one, sizeof(one));
    (void)ignored;
    counters_.app_wakeups.Inc();
  }
}

bool EngineChannel::PrepareToSleep_st() {
  // The app frees ring room without a kick: keep polling while deliveries
  // wait for it.
  if (rx_backlog_count_ > 0) return false;
  if (!tx_.PrepareToSleep()) return false;
  if (!ctrl_sq_.PrepareToSleep()) {
    tx_.DoneSleeping();
    return false;
  }
  return true;
}

void EngineChannel::DoneSleeping_st() {
  tx_.DoneSleeping();
  ctrl_sq_.DoneSleeping();
}

}  // namespace ferry::channel
