#include "dataplane/channel/engine_channel.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"

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
  pieces_.resize(max_pieces_);
  walked_.resize(max_pieces_);
  seen_.resize((buffer_count_ + 63) / 64);
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
    if (desc.head >= buffer_count_) return FERRY_STATUS_BAD_BUFFER_INDEX;
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
    if (index >= buffer_count_) {
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

void EngineChannel::ReportSendError_st(const ferry_desc& desc,
                                       ferry_status status) {
  if (!rx_.HasRoom(1)) {
    counters_.events_dropped.Inc();
    return;
  }
  ferry_desc event = {};
  event.flow = desc.flow;
  event.cookie = desc.cookie;
  event.head = FERRY_BUFFER_NONE;
  event.type = FERRY_DESC_SEND_ERROR;
  event.status = static_cast<uint16_t>(status);
  rx_.Write(event);
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
  const uint32_t needed =
      static_cast<uint32_t>((total + buffer_size_ - 1) / buffer_size_);
  if (!rx_.HasRoom(1)) {
    if (rx_.corrupt()) NoteCorruption_st();
    counters_.rx_ring_full.Inc();
    return FERRY_STATUS_NO_BUFFERS;
  }
  if (!RefillSpare_st(needed)) {
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
  desc.flow = flow;
  desc.head = head;
  desc.length = static_cast<uint32_t>(total);
  desc.type = FERRY_DESC_MESSAGE;
  desc.status = FERRY_STATUS_OK;
  rx_.Write(desc);
  counters_.rx_messages.Inc();
  counters_.rx_bytes.Add(total);
  return FERRY_STATUS_OK;
}

uint32_t EngineChannel::PollCtrl_st() {
  const uint32_t n = ctrl_sq_.Available();
  if (ctrl_sq_.corrupt()) NoteCorruption_st();
  uint32_t served = 0;
  for (; served < n; ++served) {
    if (!ctrl_cq_.HasRoom(1)) break;  // the app is not reading
    ferry_ctrl request = ctrl_sq_.Peek(served);
    ferry_ctrl reply = {};
    reply.id = request.id;
    reply.op = request.op;
    reply.status = request.op == FERRY_CTRL_NOOP ? FERRY_STATUS_OK
                                                 : FERRY_STATUS_BAD_REQUEST;
    ctrl_cq_.Write(reply);
    counters_.ctrl_requests.Inc();
  }
  if (served > 0) ctrl_sq_.Consume(served);
  return served;
}

void EngineChannel::Flush_st() {
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
