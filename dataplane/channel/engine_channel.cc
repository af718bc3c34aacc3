// The engine's side of a channel: creation, and taking messages from the
// application (descriptors checked, chains walked, kept messages and their
// release). engine_channel_rx.cc delivers to the application.
#include "dataplane/channel/engine_channel.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/net/checksum.h"

namespace ferry::channel {

absl::StatusOr<std::unique_ptr<EngineChannel>> EngineChannel::Create(
    std::unique_ptr<ChannelSegment> segment, int engine_doorbell) {
  const int engine_fd = fcntl(engine_doorbell, F_DUPFD_CLOEXEC, 0);
  const int app_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (engine_fd < 0 || app_fd < 0) {
    if (engine_fd >= 0) close(engine_fd);
    if (app_fd >= 0) close(app_fd);
    return absl::ResourceExhaustedError(
        absl::StrFormat("channel eventfds: %s", strerror(errno)));
  }
  return std::unique_ptr<EngineChannel>(
      new EngineChannel(std::move(segment), engine_fd, app_fd));
}

EngineChannel::EngineChannel(std::unique_ptr<ChannelSegment> segment,
                             int engine_eventfd, int app_eventfd)
    : segment_(std::move(segment)),
      view_(segment_->view()),
      buffer_count_(view_.layout.sizes.buffer_count),
      buffer_size_(view_.layout.sizes.buffer_size),
      max_pieces_((FERRY_MAX_MESSAGE_SIZE + buffer_size_ - 1) / buffer_size_),
      engine_eventfd_(engine_eventfd),
      app_eventfd_(app_eventfd) {
  // A new segment: every ring starts at index 0.
  tx_ = shm::MakeConsumer<ferry_desc>(view_, FERRY_RING_TX, 0);
  rx_ = shm::MakeProducer<ferry_desc>(view_, FERRY_RING_RX, 0);
  app_free_ = shm::MakeProducer<uint32_t>(view_, FERRY_RING_APP_FREE, 0);
  engine_free_ = shm::MakeConsumer<uint32_t>(view_, FERRY_RING_ENGINE_FREE, 0);
  ctrl_sq_ = shm::MakeConsumer<ferry_ctrl>(view_, FERRY_RING_CTRL_SQ, 0);
  ctrl_cq_ = shm::MakeProducer<ferry_ctrl>(view_, FERRY_RING_CTRL_CQ, 0);
  waiting_closes_.resize(ctrl_cq_.capacity());
  pieces_.resize(max_pieces_);
  walked_.resize(max_pieces_);
  tx_next_.assign(buffer_count_, FERRY_BUFFER_NONE);
  tx_length_.assign(buffer_count_, 0);
  tx_kept_.assign(buffer_count_, 0);
  rx_next_.assign(buffer_count_, FERRY_BUFFER_NONE);
  // At most one message in reassembly per rx ring slot.
  rx_slots_.resize(view_.layout.rings[FERRY_RING_RX].capacity);
  rx_backlog_capacity_ = buffer_count_;
  rx_backlog_.reset(new ferry_desc[rx_backlog_capacity_]);
  for (uint32_t i = static_cast<uint32_t>(rx_slots_.size()); i > 0; --i) {
    rx_slots_[i - 1].next_free = rx_free_slot_;
    rx_free_slot_ = i - 1;
  }
  seen_.resize((buffer_count_ + 63) / 64);
  blocked_.assign(FERRY_FLOW_SLOTS / 64, 0);
  std::memset(view_.blocked_flows(), 0, FERRY_FLOW_SLOTS / 8);
  tx_inline_.resize(std::max<uint32_t>(buffer_count_ / 2, 1));
  for (uint32_t i = static_cast<uint32_t>(tx_inline_.size()); i > 0; --i) {
    tx_inline_[i - 1].next_free = tx_inline_free_;
    tx_inline_free_ = i - 1;
  }
  spare_.reserve(buffer_count_);
  // Half the buffers start with each side. The engine keeps its half
  // privately; the app's half goes onto app_free for the app to take.
  for (uint32_t i = 0; i < buffer_count_ / 2; ++i) app_free_.Write(i);
  app_free_.PublishQuiet();
  for (uint32_t i = buffer_count_; i > buffer_count_ / 2; --i) {
    spare_.push_back(i - 1);
  }
}

EngineChannel::~EngineChannel() {
  close(engine_eventfd_);
  close(app_eventfd_);
}

void EngineChannel::NoteCorruption_st() {
  if (corruption_noted_) return;
  corruption_noted_ = true;
  counters_.ring_corruptions.Inc();
  FERRY_LOG_EVERY_SEC(Warning, "channel %d: ring indices corrupted by the app",
                      segment_->channel_id());
}

ferry_status EngineChannel::GatherTx_st(const ferry_desc& desc,
                                        uint32_t* walked) {
  *walked = 0;
  if (desc.type != FERRY_DESC_MESSAGE || desc.length > FERRY_MAX_MESSAGE_SIZE) {
    return FERRY_STATUS_BAD_LENGTH;
  }
  // A message that fits one buffer is that buffer alone: its meta entry is
  // not read (one cache line less to pull from the other core).
  if (desc.length <= buffer_size_ && desc.head != FERRY_BUFFER_NONE) {
    if (desc.head >= buffer_count_ || tx_kept_[desc.head]) {
      return FERRY_STATUS_BAD_BUFFER_INDEX;
    }
    walked_[0] = desc.head;
    pieces_[0] = MessagePiece{view_.buffer(desc.head), desc.length};
    *walked = 1;
    return FERRY_STATUS_OK;
  }
  ferry_status status = FERRY_STATUS_OK;
  uint64_t total = 0;
  uint32_t index = desc.head;
  const ferry_buffer_meta* meta = view_.meta();
  while (index != FERRY_BUFFER_NONE) {
    // A kept buffer is the engine's until released: naming it again is as
    // bad as naming one out of range.
    if (index >= buffer_count_ || tx_kept_[index]) {
      status = FERRY_STATUS_BAD_BUFFER_INDEX;
      break;
    }
    if (*walked == max_pieces_) {
      status = FERRY_STATUS_CHAIN_TOO_LONG;
      break;
    }
    // Each meta entry is read once, into a local; the app may be rewriting
    // it, but nothing below reads it again.
    ferry_buffer_meta entry;
    std::memcpy(&entry, &meta[index], sizeof(entry));
    uint64_t& word = seen_[index / 64];
    const uint64_t bit = uint64_t{1} << (index % 64);
    if (word & bit) {
      status = FERRY_STATUS_CHAIN_TOO_LONG;  // a loop
      break;
    }
    word |= bit;
    walked_[*walked] = index;
    if (entry.length > buffer_size_) {
      ++*walked;
      status = FERRY_STATUS_BAD_LENGTH;
      break;
    }
    pieces_[*walked] = MessagePiece{view_.buffer(index), entry.length};
    ++*walked;
    total += entry.length;
    index = entry.next;
  }
  for (uint32_t i = 0; i < *walked; ++i) {
    seen_[walked_[i] / 64] = 0;
  }
  if (status == FERRY_STATUS_OK && total != desc.length) {
    status = FERRY_STATUS_BAD_LENGTH;
  }
  return status;
}

void EngineChannel::ReturnToApp_st(uint32_t walked) {
  // The walk visited each in-range buffer at most once, and app_free can
  // hold every buffer, so there is room unless the app corrupted its head.
  if (!app_free_.HasRoom(walked)) {
    if (app_free_.corrupt()) NoteCorruption_st();
    return;  // only a corrupted head gets here: the app loses its buffers
  }
  for (uint32_t i = 0; i < walked; ++i) app_free_.Write(walked_[i]);
}

void EngineChannel::SetFlowBlocked_st(uint32_t slot, bool blocked) {
  slot &= FERRY_FLOW_SLOTS - 1;
  uint64_t& word = blocked_[slot / 64];
  const uint64_t bit = uint64_t{1} << (slot % 64);
  word = blocked ? word | bit : word & ~bit;
  // The whole word from the private copy: what the app wrote there is
  // neither read nor kept.
  __atomic_store_n(&view_.blocked_flows()[slot / 64], word, __ATOMIC_RELAXED);
}

void EngineChannel::KeepTx_st(uint32_t walked) {
  for (uint32_t i = 0; i < walked; ++i) {
    const uint32_t buffer = walked_[i];
    tx_next_[buffer] = i + 1 < walked ? walked_[i + 1] : FERRY_BUFFER_NONE;
    tx_length_[buffer] = pieces_[i].length;
    tx_kept_[buffer] = 1;
  }
  tx_kept_buffers_ += walked;
  held_buffers_.Add(walked);
}

void EngineChannel::KeepInline_st(const ferry_desc& desc) {
  KeptInline& kept = tx_inline_[desc.head - buffer_count_];
  tx_inline_free_ = kept.next_free;
  std::memcpy(kept.data, desc.inline_data, desc.length);
  kept.length = desc.length;
  kept.next_free = FERRY_BUFFER_NONE;
  kept.kept = true;
  ++tx_kept_inline_;
}

template <typename Visit>
uint32_t EngineChannel::VisitTx_st(uint32_t head, uint32_t offset,
                                   uint32_t length, Visit&& visit) {
  if (length == 0) return 0;
  if (head < buffer_count_) return WalkTx_st(head, offset, length, visit);
  const uint32_t slot = head - buffer_count_;
  if (slot >= tx_inline_.size()) return 0;
  const KeptInline& kept = tx_inline_[slot];
  if (!kept.kept || offset >= kept.length) return 0;
  const uint32_t n = std::min(length, kept.length - offset);
  visit(kept.data + offset, n);
  return n;
}

void EngineChannel::CopyTx_st(uint32_t head, uint32_t offset, uint8_t* out,
                              uint32_t length) {
  VisitTx_st(head, offset, length, [&](const uint8_t* data, uint32_t n) {
    std::memcpy(out, data, n);
    out += n;
    return true;
  });
}

uint32_t EngineChannel::CopyTxSummed_st(uint32_t head, uint32_t offset,
                                        uint8_t* out, uint32_t length) {
  uint32_t sum = 0;
  uint32_t at = 0;
  const uint32_t copied =
      VisitTx_st(head, offset, length, [&](const uint8_t* data, uint32_t n) {
        sum = net::ChecksumCopyAt(sum, out + at, absl::MakeConstSpan(data, n),
                                  at);
        at += n;
        return true;
      });
  // Whatever the frame holds goes out and must be in the sum.
  if (copied < length) {
    sum = net::ChecksumAddAt(
        sum, absl::MakeConstSpan(out + copied, length - copied), copied);
  }
  return sum;
}

uint32_t EngineChannel::TxPieces_st(uint32_t head, uint32_t offset,
                                    uint32_t length, MessagePiece* out,
                                    uint32_t max) {
  if (length == 0 || head >= buffer_count_) return 0;
  uint32_t count = 0;
  const uint32_t walked =
      WalkTx_st(head, offset, length, [&](const uint8_t* data, uint32_t n) {
        if (count == max) return false;
        out[count++] = MessagePiece{data, n};
        return true;
      });
  return walked == length ? count : 0;
}

template <typename Visit>
uint32_t EngineChannel::WalkTx_st(uint32_t head, uint32_t offset,
                                  uint32_t length, Visit&& visit) {
  // Resume from where the previous walk of this message ended when we can:
  // a message's segments go out in order.
  uint32_t buffer = head;
  uint32_t start = 0;
  if (tx_cursor_.head == head && tx_cursor_.start <= offset) {
    buffer = tx_cursor_.buffer;
    start = tx_cursor_.start;
  }
  uint32_t walked = 0;
  for (uint32_t hops = 0;
       length > 0 && buffer < buffer_count_ && hops <= max_pieces_; ++hops) {
    const uint32_t piece = tx_length_[buffer];
    if (offset < start + piece) {
      const uint32_t skip = offset - start;
      const uint32_t n = std::min(piece - skip, length);
      if (!visit(view_.buffer(buffer) + skip, n)) break;
      walked += n;
      offset += n;
      length -= n;
      if (length == 0) break;
    }
    start += piece;
    buffer = tx_next_[buffer];
  }
  tx_cursor_ = TxCursor{head, buffer, start};
  return walked;
}

uint64_t EngineChannel::ReleaseTx_st(uint32_t head) {
  if (head >= buffer_count_) {
    const uint32_t slot = head - buffer_count_;
    if (slot >= tx_inline_.size() || !tx_inline_[slot].kept) return 0;
    KeptInline& kept = tx_inline_[slot];
    kept.kept = false;
    kept.next_free = tx_inline_free_;
    tx_inline_free_ = slot;
    --tx_kept_inline_;
    return kept.length;
  }
  if (tx_cursor_.head == head) tx_cursor_ = TxCursor{};
  uint64_t bytes = 0;
  uint32_t buffer = head;
  for (uint32_t hops = 0;
       buffer < buffer_count_ && tx_kept_[buffer] && hops <= max_pieces_;
       ++hops) {
    const uint32_t next = tx_next_[buffer];
    bytes += tx_length_[buffer];
    tx_kept_[buffer] = 0;
    --tx_kept_buffers_;
    held_buffers_.Sub(1);
    // app_free holds every buffer; only a corrupted head makes it full.
    if (app_free_.HasRoom(1)) {
      app_free_.Write(buffer);
    } else if (app_free_.corrupt()) {
      NoteCorruption_st();
    }
    buffer = next;
  }
  return bytes;
}

}  // namespace ferry::channel
