// A FlowEnv for tests and benchmarks: outgoing messages and received
// packets live in maps keyed by handle, transmitted segments are captured
// (header + payload copy), received messages are collected whole. Leak
// checks compare what was handed out with what came back.
#ifndef FERRY_DATAPLANE_TRANSPORT_TESTING_FLOW_HARNESS_H_
#define FERRY_DATAPLANE_TRANSPORT_TESTING_FLOW_HARNESS_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "dataplane/transport/flow.h"

namespace ferry::transport::testing {

struct Segment {
  net::FerryHeader header;
  std::vector<uint8_t> payload;
};

class HarnessEnv : public FlowEnv {
 public:
  // Transmitted segments, oldest first (tests pop them).
  std::deque<Segment> outbox;
  // Whole received messages, in delivery order (or handed to on_message
  // when it is set).
  std::deque<std::vector<uint8_t>> received;
  std::function<void(std::vector<uint8_t>&&)> on_message;
  // Messages finished with: (handle, delivered).
  std::vector<std::pair<uint64_t, bool>> done;
  std::vector<FlowState> state_changes;
  // What ReceiveRoom says, in segments.
  uint32_t room = 1024;
  // When false, BeginReceive refuses (the app has no free buffers).
  bool accept_messages = true;
  // What the flow reported of its congestion control.
  uint64_t window_cuts_delay = 0;
  uint64_t window_cuts_loss = 0;
  uint64_t queueing_ns = 0;
  std::vector<uint64_t> spurious_answers_ns;  // SpuriousTimeout's answers

  // Registers an outgoing message's bytes; returns its handle.
  uint64_t AddMessage(std::vector<uint8_t> bytes) {
    const uint64_t handle = next_handle_++;
    outgoing_.emplace(handle, std::move(bytes));
    return handle;
  }
  // Keeps a copy of a received packet's payload under a new handle.
  uint64_t AddPacket(const std::vector<uint8_t>& payload) {
    const uint64_t handle = next_handle_++;
    packets_.emplace(handle, payload);
    return handle;
  }
  const std::vector<uint8_t>& PacketBytes(uint64_t handle) const {
    return packets_.at(handle);
  }
  void FreePacket(uint64_t handle) { packets_.erase(handle); }

  size_t outgoing_messages() const { return outgoing_.size(); }
  size_t packets_held() const { return packets_.size(); }
  size_t receives_open() const { return receiving_.size(); }

  void Transmit(Flow&, const net::FerryHeader& header, uint64_t message,
                uint32_t offset, uint32_t length) override {
    Segment s{header, {}};
    if (length > 0) {
      const std::vector<uint8_t>& bytes = outgoing_.at(message);
      s.payload.assign(bytes.begin() + offset, bytes.begin() + offset + length);
    }
    outbox.push_back(std::move(s));
  }
  void MessageDone(Flow&, uint64_t message, bool delivered) override {
    done.emplace_back(message, delivered);
    outgoing_.erase(message);
  }
  uint64_t BeginReceive(Flow&, uint32_t length) override {
    if (!accept_messages) return kNoHandle;
    const uint64_t handle = next_handle_++;
    receiving_[handle].resize(length);
    return handle;
  }
  void WriteReceive(Flow&, uint64_t handle, uint32_t offset,
                    absl::Span<const uint8_t> bytes) override {
    std::vector<uint8_t>& message = receiving_.at(handle);
    if (!bytes.empty())
      std::memcpy(message.data() + offset, bytes.data(), bytes.size());
  }
  void EndReceive(Flow&, uint64_t handle, bool complete) override {
    if (complete && on_message) {
      on_message(std::move(receiving_.at(handle)));
    } else if (complete) {
      received.push_back(std::move(receiving_.at(handle)));
    }
    receiving_.erase(handle);
  }
  uint32_t ReceiveRoom(Flow&, uint32_t most) override {
    return std::min(room, most);
  }
  void ReleasePacket(uint64_t packet) override { packets_.erase(packet); }
  void RttSampled(Flow&, uint64_t, uint64_t queueing) override {
    queueing_ns += queueing;
  }
  void SpuriousTimeout(Flow&, uint64_t answer_ns) override {
    spurious_answers_ns.push_back(answer_ns);
  }
  void WindowCut(Flow&, bool for_loss) override {
    ++(for_loss ? window_cuts_loss : window_cuts_delay);
  }
  void StateChanged(Flow& flow) override {
    state_changes.push_back(flow.state());
  }

 private:
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, std::vector<uint8_t>> outgoing_;
  std::unordered_map<uint64_t, std::vector<uint8_t>> packets_;
  std::unordered_map<uint64_t, std::vector<uint8_t>> receiving_;
};

// Hands a captured segment to a flow the way an engine would: the payload
// lives in a packet the flow may keep.
inline void DeliverSegment(HarnessEnv& env, Flow& flow, const Segment& s,
                           uint64_t now_ns) {
  const uint64_t packet = env.AddPacket(s.payload);
  const std::vector<uint8_t>& bytes = env.PacketBytes(packet);
  if (!flow.OnSegment(s.header, absl::MakeConstSpan(bytes), packet, now_ns)) {
    env.FreePacket(packet);
  }
}

}  // namespace ferry::transport::testing

#endif  // FERRY_DATAPLANE_TRANSPORT_TESTING_FLOW_HARNESS_H_
