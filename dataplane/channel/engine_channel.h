// The engine's side of one application channel.
//
// Created on the control thread around a ChannelSegment (it seeds the free
// rings: half the buffers for each side), then driven only by the engine
// thread that the channel is attached to: the *_st methods. The segment is
// hostile territory (see ferry_channel_abi.h): every descriptor and buffer
// meta entry is copied before it is checked, every index and length is
// bounds-checked against the layout computed here, and a bad message is
// dropped, counted, and reported to the application as a SEND_ERROR event.
#ifndef FERRY_DATAPLANE_CHANNEL_ENGINE_CHANNEL_H_
#define FERRY_DATAPLANE_CHANNEL_ENGINE_CHANNEL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/ferry_channel_abi.h"
#include "client/shm_ring.h"
#include "dataplane/base/counter.h"
#include "dataplane/channel/channel_segment.h"

namespace ferry::channel {

// X(name, help)
#define FERRY_CHANNEL_COUNTERS(X)                                          \
  X(tx_messages, "Messages taken from the application")                    \
  X(tx_bytes, "Bytes taken from the application")                          \
  X(tx_errors, "Messages refused (bad descriptor or refused by the sink)") \
  X(rx_messages, "Messages delivered to the application")                  \
  X(rx_bytes, "Bytes delivered to the application")                        \
  X(rx_no_buffers, "Deliveries refused: no free buffer from the app")      \
  X(rx_ring_full, "Deliveries refused: the app's receive ring was full")   \
  X(bad_descriptors, "Descriptors with a bad index, length or chain")      \
  X(bad_free_indices, "Out-of-range buffer indices returned by the app")   \
  X(ring_corruptions, "Ring index values that cannot be right")            \
  X(events_dropped, "Error events lost because the receive ring was full") \
  X(ctrl_requests, "Control requests served")                              \
  X(app_wakeups, "Times the sleeping application was kicked")

struct ChannelCounters {
#define FERRY_CHANNEL_COUNTER_FIELD(name, help) Counter name;
  FERRY_CHANNEL_COUNTERS(FERRY_CHANNEL_COUNTER_FIELD)
#undef FERRY_CHANNEL_COUNTER_FIELD
};

// One contiguous piece of a message.
struct MessagePiece {
  const uint8_t* data;
  uint32_t length;
};

class EngineChannel {
 public:
  // Takes ownership of the segment. `engine_doorbell` is the eventfd the
  // owning engine sleeps on (the channel keeps a dup of it for the app to
  // kick); the channel makes the app's own eventfd, which it kicks when the
  // app sleeps.
  static absl::StatusOr<std::unique_ptr<EngineChannel>> Create(
      std::unique_ptr<ChannelSegment> segment, int engine_doorbell);
  ~EngineChannel();
  EngineChannel(const EngineChannel&) = delete;
  EngineChannel& operator=(const EngineChannel&) = delete;

  const ChannelSegment& segment() const { return *segment_; }
  int engine_eventfd() const { return engine_eventfd_; }
  int app_eventfd() const { return app_eventfd_; }
  const ChannelCounters& counters() const { return counters_; }
  // Descriptors waiting in the app->engine and engine->app rings, read from
  // the shared indices (any thread; an application can make these lie, so
  // they are for metrics only).
  uint32_t TxQueued() const { return Queued(FERRY_RING_TX); }
  uint32_t RxQueued() const { return Queued(FERRY_RING_RX); }

  // Takes up to `max` messages from the tx ring. For each valid one calls
  // `sink(desc, pieces)` (pieces point into the segment and are valid only
  // during the call; the data may change under the sink's feet, which only
  // harms the application that does it) and returns its buffers to the app.
  // The sink returns FERRY_STATUS_OK or a reason to report to the app.
  // Returns how many descriptors were taken.
  template <typename Sink>
  uint32_t PollTx_st(uint32_t max, Sink&& sink);

  // Copies a message into free buffers and queues it on the rx ring.
  // Returns FERRY_STATUS_OK, or FERRY_STATUS_NO_BUFFERS when the app has not
  // returned enough buffers or its rx ring is full (then nothing changed).
  ferry_status Deliver_st(uint64_t flow, absl::Span<const MessagePiece> pieces);

  // Serves control requests (ctrl_sq -> ctrl_cq). Returns how many.
  uint32_t PollCtrl_st();

  // Publishes what the engine wrote and kicks the app if it sleeps.
  void Flush_st();

  // Doorbell protocol, engine as consumer of tx and ctrl_sq: false when work
  // arrived meanwhile (do not sleep).
  bool PrepareToSleep_st();
  void DoneSleeping_st();

  // Takes every buffer the app has given back and returns how many the
  // engine now holds for future deliveries (leak checks).
  uint32_t CollectFreeBuffers_st() {
    RefillSpare_st(buffer_count_);
    return static_cast<uint32_t>(spare_.size());
  }

 private:
  EngineChannel(std::unique_ptr<ChannelSegment> segment, int engine_eventfd,
                int app_eventfd);
  // Walks a descriptor's chain into pieces_; the status says why not.
  ferry_status GatherTx_st(const ferry_desc& desc, uint32_t* walked);
  void ReturnToApp_st(uint32_t walked);
  void ReportSendError_st(const ferry_desc& desc, ferry_status status);
  bool RefillSpare_st(uint32_t needed);
  void NoteCorruption_st();
  uint32_t Queued(int ring) const {
    const ferry_ring_indices* indices = view_.ring_indices(ring);
    const uint32_t queued =
        shm::LoadAcquire(&indices->tail) - shm::LoadAcquire(&indices->head);
    const uint32_t capacity = view_.layout.rings[ring].capacity;
    return queued > capacity ? capacity : queued;
  }

  std::unique_ptr<ChannelSegment> segment_;
  const shm::ChannelView view_;  // computed by this process, trusted
  const uint32_t buffer_count_;
  const uint32_t buffer_size_;
  const uint32_t max_pieces_;
  int engine_eventfd_ = -1;
  int app_eventfd_ = -1;

  shm::RingConsumer<ferry_desc> tx_;
  shm::RingProducer<ferry_desc> rx_;
  shm::RingProducer<uint32_t> app_free_;
  shm::RingConsumer<uint32_t> engine_free_;
  shm::RingConsumer<ferry_ctrl> ctrl_sq_;
  shm::RingProducer<ferry_ctrl> ctrl_cq_;

  // Engine-private scratch, sized at creation: nothing allocates later.
  std::vector<MessagePiece> pieces_;
  std::vector<uint32_t> walked_;  // buffer indices of the current message
  std::vector<uint64_t> seen_;    // bitmap: dedupes a looping chain
  std::vector<uint32_t> spare_;   // validated free buffers for delivery
  bool corruption_noted_ = false;
  ChannelCounters counters_;
};

template <typename Sink>
uint32_t EngineChannel::PollTx_st(uint32_t max, Sink&& sink) {
  const uint32_t n = std::min(tx_.Available(), max);
  if (tx_.corrupt()) NoteCorruption_st();
  for (uint32_t i = 0; i < n; ++i) {
    const ferry_desc desc = tx_.Peek(i);  // a private copy from here on
    uint32_t walked = 0;
    ferry_status status = GatherTx_st(desc, &walked);
    if (status == FERRY_STATUS_OK) {
      status = sink(desc, absl::MakeConstSpan(pieces_.data(), walked));
      if (status == FERRY_STATUS_OK) {
        counters_.tx_messages.Inc();
        counters_.tx_bytes.Add(desc.length);
      }
    } else {
      counters_.bad_descriptors.Inc();
    }
    if (status != FERRY_STATUS_OK) {
      counters_.tx_errors.Inc();
      ReportSendError_st(desc, status);
    }
    ReturnToApp_st(walked);
  }
  if (n > 0) tx_.Consume(n);
  return n;
}

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_ENGINE_CHANNEL_H_
