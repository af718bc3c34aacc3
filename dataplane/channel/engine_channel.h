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
#include "client/abi/ferry_channel_abi.h"
#include "client/abi/shm_ring.h"
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
  X(rx_backlogged,                                                         \
    "Deliveries that waited in the engine for room in the app's ring")     \
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

// What a PollTx_st sink may answer besides a ferry_status (which ends the
// message: OK, or an error reported to the app; its buffers go back now).
inline constexpr int kTxKeep = -1;    // the engine keeps the buffers until
                                      // ReleaseTx_st (sent, not yet acked)
inline constexpr int kTxNotNow = -2;  // leave it in the ring; stop polling

class alignas(FERRY_CACHE_LINE) EngineChannel {
 public:
  // Takes ownership of the segment. `engine_doorbell` is the eventfd the
  // owning engine sleeps on (the channel keeps a dup of it for the app to
  // kick); the channel makes the app's own eventfd, which it kicks when the
  // app sleeps.
  static absl::StatusOr<std::unique_ptr<EngineChannel>> Create(
      std::unique_ptr<ChannelSegment> segment, int engine_doorbell);
  ~EngineChannel();
  EngineChannel(const EngineChannel&) = delete;
  // Ends the channel and hands its segment back, for fuzzing, which runs a
  // fresh channel per input over one segment (mapping and zeroing 16 MiB
  // each time would be most of the work): the caller clears it.
  static std::unique_ptr<ChannelSegment> ReleaseSegmentForTest(
      std::unique_ptr<EngineChannel> channel) {
    return std::move(channel->segment_);
  }
  EngineChannel& operator=(const EngineChannel&) = delete;

  // Whose flow quota the channel's flows count against (its session; 0:
  // none). Set on the control thread before an engine has the channel.
  void set_quota_owner(uint64_t owner) { quota_owner_ = owner; }
  uint64_t quota_owner() const { return quota_owner_; }

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

  // Kept messages (kTxKeep), named by the `head` the sink was given: the
  // first buffer of a chained message (recorded privately when the message
  // was taken: what the app writes in the segment afterwards cannot change
  // which buffers these are), or for an inline message a handle at or past
  // the buffer count naming the engine's private copy of its bytes.
  // Copies `length` bytes from `offset` of the message into `out`.
  void CopyTx_st(uint32_t head, uint32_t offset, uint8_t* out, uint32_t length);
  // The same, summing the bytes for the UDP checksum as they are copied
  // (net::ChecksumCopyAt): returns their ones'-complement sum from 0, the
  // bytes of `out` that a message shorter than asked left alone included.
  uint32_t CopyTxSummed_st(uint32_t head, uint32_t offset, uint8_t* out,
                           uint32_t length);
  // The same bytes as pieces that point into the segment, for sending them
  // without a copy: at most `max`, in order. Returns their number, or 0
  // when they do not fit in `max` or the message is the engine's private
  // copy (inline): the caller then copies.
  uint32_t TxPieces_st(uint32_t head, uint32_t offset, uint32_t length,
                       MessagePiece* out, uint32_t max);
  // Gives the message's buffers back to the app; returns its bytes.
  uint64_t ReleaseTx_st(uint32_t head);
  uint32_t tx_kept_buffers() const { return tx_kept_buffers_; }
  uint32_t tx_kept_inline() const { return tx_kept_inline_; }
  // Buffers the engine holds now (any thread): kept for sending until the
  // peer acknowledges, and reserved or filled for messages being received.
  // They go back to the app when those messages end, so on an idle channel
  // this returns to 0 (a leak shows as a level that never does).
  uint64_t engine_held_buffers() const { return held_buffers_.Get(); }

  // Marks the flow in `slot` (FERRY_FLOW_SLOT of its handle) blocked or
  // not in the segment's bitmap, which the app's sends consult.
  void SetFlowBlocked_st(uint32_t slot, bool blocked);

  // Receiving a message piece by piece (a flow reassembling segments):
  // BeginRx_st reserves buffers for `length` bytes and an rx ring slot, and
  // returns a handle (0: no room now, nothing reserved). WriteRx_st stores
  // bytes, in order. EndRx_st delivers the message (`complete`; `flow` and
  // `cookie` go into its descriptor) or gives the buffers back.
  uint64_t BeginRx_st(uint32_t length);
  void WriteRx_st(uint64_t handle, uint32_t offset,
                  absl::Span<const uint8_t> bytes);
  // Returns the bytes delivered (0 when not complete).
  uint32_t EndRx_st(uint64_t handle, bool complete, uint64_t flow,
                    uint64_t cookie);
  // Bytes of free buffers not yet reserved (for receive windows).
  uint64_t RxRoomBytes_st();
  uint32_t rx_open() const { return rx_open_; }
  // Deliveries waiting for room in the app's receive ring.
  uint32_t rx_backlog() const { return rx_backlog_count_; }

  // Queues an event descriptor on the rx ring (FLOW_ACCEPTED,
  // FLOW_CLOSED). False (and counted) when the ring is full.
  bool PostEvent_st(uint16_t type, uint64_t flow, uint64_t cookie,
                    ferry_status status);

  // Copies a message into free buffers and queues it on the rx ring.
  // Returns FERRY_STATUS_OK, or FERRY_STATUS_NO_BUFFERS when the app has not
  // returned enough buffers or its rx ring is full (then nothing changed).
  ferry_status Deliver_st(uint64_t flow, absl::Span<const MessagePiece> pieces);

  // Serves control requests (ctrl_sq -> ctrl_cq) with `handler(request,
  // &reply)`, which fills the reply and returns true, or returns false to
  // answer later with CompleteCtrl_st (a slot stays reserved for it).
  // Without a handler only NOOP is served. Returns how many were taken.
  // A CLOSE is served once the messages queued on tx before it have been
  // taken (see WaitingClose); the requests behind it do not wait for it.
  template <typename Handler>
  uint32_t PollCtrl_st(Handler&& handler);
  uint32_t PollCtrl_st() {
    return PollCtrl_st([](const ferry_ctrl& request, ferry_ctrl* reply) {
      reply->status = request.op == FERRY_CTRL_NOOP ? FERRY_STATUS_OK
                                                    : FERRY_STATUS_BAD_REQUEST;
      return true;
    });
  }
  // A deferred completion.
  void CompleteCtrl_st(const ferry_ctrl& reply);

  // Publishes what the engine wrote and kicks the app if it sleeps.
  void Flush_st();

  // Doorbell protocol, engine as consumer of tx and ctrl_sq: false when work
  // arrived meanwhile (do not sleep).
  bool PrepareToSleep_st();
  void DoneSleeping_st();

  // Draining (see ChannelSet): the application is gone or leaving; what
  // it queued still goes out until `deadline_ns`.
  void BeginDrain_st(uint64_t deadline_ns) {
    draining_ = true;
    drain_deadline_ns_ = deadline_ns;
  }
  bool draining() const { return draining_; }
  uint64_t drain_deadline_ns() const { return drain_deadline_ns_; }
  // Whether the tx ring holds nothing more to take (engine's view).
  bool TxEmpty_st() { return tx_.Available(1) == 0; }

  // Takes every buffer the app has given back and returns how many the
  // engine now holds for future deliveries (leak checks).
  uint32_t CollectFreeBuffers_st() {
    RefillSpare_st(buffer_count_);
    return static_cast<uint32_t>(spare_.size());
  }

 private:
  EngineChannel(std::unique_ptr<ChannelSegment> segment, int engine_eventfd,
                int app_eventfd);
  // A close must end its flow after the messages the app sent on it before
  // closing (ferry_close promises an orderly close, like TCP's). The app
  // queues those on tx and then the request on ctrl_sq, and the engine
  // polls ctrl_sq first, taking at most a burst from tx per poll: served
  // at once, a close would overtake them, and they would fail as sent on
  // a closed flow. So when a CLOSE is taken, the descriptors ready on tx
  // are counted (all that the app queued before it are visible, as the
  // request is), and it is served once the engine has taken that many. In
  // the meantime it waits here with its answer's slot reserved, so that
  // the requests behind it are served as they come (the ring may be held
  // back for long: by a flow still connecting, or by a full flow once the
  // engine's parking pool is spent); messages queued after it do not hold
  // it back beyond that count. Oldest first; at most one per ctrl_cq slot.
  struct WaitingClose {
    ferry_ctrl request;
    uint32_t after_tx;  // tx_.position() it waits for
  };
  template <typename Handler>
  void ServeWaitingCloses_st(Handler& handler);
  // Walks a descriptor's chain into pieces_; the status says why not.
  ferry_status GatherTx_st(const ferry_desc& desc, uint32_t* walked);
  // Copies a kept inline message into the private store, under the handle
  // `desc.head` (set from NextInlineHandle_st before the sink ran).
  void KeepInline_st(const ferry_desc& desc);
  // The handle the next kept inline message gets, or FERRY_BUFFER_NONE when
  // the store is full.
  uint32_t NextInlineHandle_st() const {
    return tx_inline_free_ == FERRY_BUFFER_NONE
               ? FERRY_BUFFER_NONE
               : buffer_count_ + tx_inline_free_;
  }
  // Records the walked chain as kept.
  void KeepTx_st(uint32_t walked);
  void ReturnToApp_st(uint32_t walked);
  void ReportSendError_st(const ferry_desc& desc, ferry_status status);
  // Fills in a MESSAGE descriptor (inline bytes, if any, already in place)
  // and queues it on rx, which the caller made sure has room.
  void PostMessage_st(ferry_desc* desc, uint64_t flow, uint64_t cookie,
                      uint32_t head, uint32_t length);
  bool RefillSpare_st(uint32_t needed);
  void NoteCorruption_st();
  // Whether `slots` more deliveries fit, beside those reserved: in the
  // app's ring or, behind what already waits there, in the backlog.
  bool RxHasRoom_st(uint32_t slots) {
    const uint64_t wanted =
        uint64_t{rx_reserved_slots_} + rx_backlog_count_ + slots;
    if (wanted > rx_backlog_capacity_) {
      return rx_.HasRoom(static_cast<uint32_t>(wanted - rx_backlog_capacity_));
    }
    // Room in the backlog; but a ring the app corrupted takes nothing more
    // (HasRoom notices).
    rx_.HasRoom(1);
    return !rx_.corrupt();
  }
  // Queues a descriptor for the app: on its ring, unless older ones wait
  // in the backlog (order is kept) or the ring is full.
  void RxWrite_st(const ferry_desc& desc);
  // Moves what the backlog holds onto the ring while it has room.
  void DrainBacklog_st();
  uint32_t Queued(int ring) const {
    const ferry_ring_indices* indices = view_.ring_indices(ring);
    const uint32_t queued =
        shm::LoadAcquire(&indices->tail) - shm::LoadAcquire(&indices->head);
    const uint32_t capacity = view_.layout.rings[ring].capacity;
    return queued > capacity ? capacity : queued;
  }

  std::unique_ptr<ChannelSegment> segment_;
  uint64_t quota_owner_ = 0;
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
  std::vector<uint32_t> walked_;   // buffer indices of the current message
  std::vector<uint64_t> seen_;     // bitmap: dedupes a looping chain
  std::vector<uint32_t> spare_;    // validated free buffers for delivery
  std::vector<uint64_t> blocked_;  // the blocked-flows bitmap's true value
  bool corruption_noted_ = false;
  ChannelCounters counters_;

  // Kept tx messages: private links, lengths and an ownership flag per
  // buffer (a buffer already kept cannot be sent again until released).
  std::vector<uint32_t> tx_next_;
  std::vector<uint32_t> tx_length_;
  std::vector<uint8_t> tx_kept_;
  uint32_t tx_kept_buffers_ = 0;
  // Kept inline messages: private copies (the app cannot change them after
  // they were taken), slot i named by handle buffer_count_ + i, a free list
  // through next_free. As many as the app's half of the buffers, which is
  // also the most buffered messages the engine could be keeping.
  struct KeptInline {
    uint8_t data[FERRY_INLINE_MAX];
    uint32_t length;
    uint32_t next_free;
    bool kept;
  };
  std::vector<KeptInline> tx_inline_;
  uint32_t tx_inline_free_ = FERRY_BUFFER_NONE;
  uint32_t tx_kept_inline_ = 0;
  // Visits the pieces of bytes [offset, offset + length) of kept chain
  // `head` while `visit(data, n)` returns true; returns the bytes visited.
  template <typename Visit>
  uint32_t WalkTx_st(uint32_t head, uint32_t offset, uint32_t length,
                     Visit&& visit);
  // The same for any kept message: a chain, or the engine's private copy
  // of an inline one (one piece).
  template <typename Visit>
  uint32_t VisitTx_st(uint32_t head, uint32_t offset, uint32_t length,
                      Visit&& visit);
  struct TxCursor {  // where the last walk ended: sends are sequential
    uint32_t head = FERRY_BUFFER_NONE;
    uint32_t buffer = FERRY_BUFFER_NONE;
    uint32_t start = 0;  // message offset of `buffer`'s first byte
  } tx_cursor_;

  // Messages being received: private chains (walks are bounded by the
  // buffer count, so duplicates the app slipped into the free ring cannot
  // make them loop).
  struct RxSlot {
    uint32_t head;
    uint32_t tail;
    uint32_t used;      // bytes in tail
    uint32_t taken;     // buffers in the chain
    uint32_t reserved;  // buffers still reserved for it
    uint32_t length;
    uint32_t next_free;
    // A message of at most FERRY_INLINE_MAX bytes gathers here instead of
    // in buffers and is delivered inline.
    uint8_t inline_data[FERRY_INLINE_MAX];
  };
  std::vector<uint32_t> rx_next_;
  std::vector<RxSlot> rx_slots_;
  uint32_t rx_free_slot_ = FERRY_BUFFER_NONE;
  uint32_t rx_open_ = 0;
  uint32_t rx_reserved_buffers_ = 0;
  uint32_t rx_reserved_slots_ = 0;
  // Deliveries and events the app's ring had no room for, oldest first:
  // with thousands of flows, answers arrive in bursts larger than any
  // ring, and dropping one costs its flow a retransmission timeout. At
  // most one per buffer of the channel (past that, the ring's room is the
  // receive window, as before); the memory is touched only when used.
  std::unique_ptr<ferry_desc[]> rx_backlog_;
  uint32_t rx_backlog_capacity_ = 0;
  uint32_t rx_backlog_head_ = 0;
  uint32_t rx_backlog_count_ = 0;
  Gauge held_buffers_;  // tx_kept_buffers_ + reserved + taken by open slots
  uint32_t ctrl_reserved_ = 0;
  // A ring of ctrl_cq's capacity (each waiting close holds a reserved
  // answer slot, so no more can wait); free-running head and tail.
  std::vector<WaitingClose> waiting_closes_;
  uint32_t waiting_head_ = 0;
  uint32_t waiting_tail_ = 0;
  bool draining_ = false;
  uint64_t drain_deadline_ns_ = 0;
};

template <typename Sink>
uint32_t EngineChannel::PollTx_st(uint32_t max, Sink&& sink) {
  const uint32_t n = tx_.Available(max);
  if (tx_.corrupt()) NoteCorruption_st();
  uint32_t taken = 0;
  for (; taken < n; ++taken) {
    ferry_desc desc = tx_.Peek(taken);  // a private copy from here on
    const bool is_inline = desc.head == FERRY_BUFFER_NONE &&
                           desc.type == FERRY_DESC_MESSAGE && desc.length > 0 &&
                           desc.length <= FERRY_INLINE_MAX;
    uint32_t walked = 0;
    int verdict;
    if (is_inline) {
      // The sink may keep it: name it by the store slot it would take, and
      // leave it in the ring while the store is full (the flows holding
      // the store drain it as their peers acknowledge).
      desc.head = NextInlineHandle_st();
      if (desc.head == FERRY_BUFFER_NONE) break;
      pieces_[0] = MessagePiece{desc.inline_data, desc.length};
      walked = 1;
      verdict = FERRY_STATUS_OK;
    } else {
      verdict = GatherTx_st(desc, &walked);
    }
    if (verdict == FERRY_STATUS_OK) {
      verdict = sink(desc, absl::MakeConstSpan(pieces_.data(), walked));
      if (verdict == kTxNotNow) break;
      if (verdict == FERRY_STATUS_OK || verdict == kTxKeep) {
        counters_.tx_messages.Inc();
        counters_.tx_bytes.Add(desc.length);
      }
    } else {
      counters_.bad_descriptors.Inc();
    }
    if (verdict == kTxKeep) {
      if (is_inline) {
        KeepInline_st(desc);
      } else {
        KeepTx_st(walked);
      }
      continue;
    }
    if (verdict != FERRY_STATUS_OK) {
      counters_.tx_errors.Inc();
      ReportSendError_st(desc, static_cast<ferry_status>(verdict));
    }
    if (!is_inline) ReturnToApp_st(walked);
  }
  if (taken > 0) tx_.Consume(taken);
  return taken;
}

template <typename Handler>
void EngineChannel::ServeWaitingCloses_st(Handler& handler) {
  const uint32_t mask = static_cast<uint32_t>(waiting_closes_.size()) - 1;
  while (waiting_head_ != waiting_tail_) {
    const WaitingClose waiting = waiting_closes_[waiting_head_ & mask];
    if (static_cast<int32_t>(tx_.position() - waiting.after_tx) < 0) return;
    ++waiting_head_;
    ferry_ctrl reply = {};
    reply.id = waiting.request.id;
    reply.op = waiting.request.op;
    // Its slot was reserved when it was set aside: the handler answers now
    // (or, answering later itself, keeps the reservation).
    if (handler(waiting.request, &reply)) CompleteCtrl_st(reply);
  }
}

template <typename Handler>
uint32_t EngineChannel::PollCtrl_st(Handler&& handler) {
  if (waiting_head_ != waiting_tail_) ServeWaitingCloses_st(handler);
  const uint32_t n = ctrl_sq_.Available();
  if (ctrl_sq_.corrupt()) NoteCorruption_st();
  uint32_t served = 0;
  for (; served < n; ++served) {
    // Room for this answer besides those owed: the app cannot make us
    // owe more than the ring holds.
    if (!ctrl_cq_.HasRoom(ctrl_reserved_ + 1)) break;
    const ferry_ctrl request = ctrl_sq_.Peek(served);
    if (request.op == FERRY_CTRL_CLOSE) {
      const uint32_t after_tx = tx_.position() + tx_.Available(tx_.capacity());
      if (after_tx != tx_.position()) {
        const uint32_t mask = static_cast<uint32_t>(waiting_closes_.size()) - 1;
        waiting_closes_[waiting_tail_++ & mask] = {request, after_tx};
        ++ctrl_reserved_;
        counters_.ctrl_requests.Inc();
        continue;
      }
    }
    ferry_ctrl reply = {};
    reply.id = request.id;
    reply.op = request.op;
    counters_.ctrl_requests.Inc();
    if (handler(request, &reply)) {
      ctrl_cq_.Write(reply);
    } else {
      ++ctrl_reserved_;
    }
  }
  if (served > 0) ctrl_sq_.Consume(served);
  return served;
}

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_ENGINE_CHANNEL_H_
