// What an engine copies of its flows for the control plane (a kListFlows
// command): the listing's page and its completion.
#ifndef FERRY_DATAPLANE_ENGINE_FLOW_LIST_H_
#define FERRY_DATAPLANE_ENGINE_FLOW_LIST_H_

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/crypto/segment_aead.h"
#include "dataplane/engine/command.h"
#include "dataplane/transport/flow.h"

namespace ferry::engine {

// What the control plane sees of a flow (a copy taken by the engine).
struct FlowInfo {
  uint32_t id = 0;
  uint64_t channel_id = 0;
  bool accepted = false;  // from a listener (else connected from here)
  uint32_t local_ip = 0;  // host byte order: the address of its NIC
  uint16_t local_port = 0;
  uint32_t remote_ip = 0;  // host byte order
  uint16_t remote_port = 0;
  transport::FlowState state = transport::FlowState::kConnecting;
  uint64_t srtt_ns = 0;
  uint64_t rto_ns = 0;
  double congestion_window = 0;  // segments
  uint32_t peer_window = 0;
  uint32_t in_flight = 0;
  uint32_t queued_messages = 0;
  uint32_t parked_messages = 0;  // beyond the queue, in order
  bool blocked = false;          // the app's sends on it are refused
  uint32_t held_segments = 0;
  transport::FlowStats stats;
  // Sealed flows: the cipher, the key epochs and the peer's node key.
  bool encrypted = false;
  crypto::AeadCipher cipher = crypto::AeadCipher::kAes128Gcm;
  uint8_t tx_epoch = 0;
  uint8_t rx_epoch = 0;
  std::array<uint8_t, 32> peer_node_key{};
};

// Filled by the engine for a kListFlows command; `flows` is sized by the
// control thread (its capacity is the page size).
struct FlowListResult {
  std::vector<FlowInfo> flows;
  uint32_t count = 0;
  uint32_t next = 0;  // slot to start the next page at; UINT32_MAX: done
};

class FlowListCompletion : public Completion {
 public:
  explicit FlowListCompletion(uint32_t capacity) {
    result.flows.resize(capacity);
  }
  FlowListResult result;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_FLOW_LIST_H_
