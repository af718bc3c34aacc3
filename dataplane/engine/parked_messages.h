// Messages an engine took from a channel for a flow whose queue was full,
// held in order until that flow has room: one pool of nodes per engine and
// a FIFO list per flow. They let a full flow be blocked on its own (see
// "Blocked flows" in ferry_channel_abi.h) instead of stopping its channel's
// transmit ring, which would stall every other flow of the channel. Fixed
// size: nothing is allocated after construction.
#ifndef FERRY_DATAPLANE_ENGINE_PARKED_MESSAGES_H_
#define FERRY_DATAPLANE_ENGINE_PARKED_MESSAGES_H_

#include <cstdint>
#include <vector>

#include "dataplane/base/check.h"

namespace ferry::engine {

class ParkedMessages {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // One flow's messages, oldest first (lives in the flow's entry).
  struct List {
    uint32_t head = kNone;
    uint32_t tail = kNone;
    uint32_t count = 0;
    bool empty() const { return count == 0; }
  };

  explicit ParkedMessages(uint32_t capacity) : nodes_(capacity) {
    for (uint32_t i = capacity; i > 0; --i) {
      nodes_[i - 1].next = free_;
      free_ = i - 1;
    }
    free_count_ = capacity;
  }

  // Appends; false when every node is taken (nothing changed).
  bool Push(List& list, uint64_t message, uint32_t length) {
    if (free_ == kNone) return false;
    const uint32_t i = free_;
    free_ = nodes_[i].next;
    --free_count_;
    nodes_[i] = Node{message, length, kNone};
    if (list.tail == kNone) {
      list.head = i;
    } else {
      nodes_[list.tail].next = i;
    }
    list.tail = i;
    ++list.count;
    return true;
  }

  // The oldest message of a non-empty list.
  uint64_t front_message(const List& list) const {
    FERRY_DCHECK(!list.empty());
    return nodes_[list.head].message;
  }
  uint32_t front_length(const List& list) const {
    FERRY_DCHECK(!list.empty());
    return nodes_[list.head].length;
  }

  // Removes the oldest message of a non-empty list.
  void Pop(List& list) {
    FERRY_DCHECK(!list.empty());
    const uint32_t i = list.head;
    list.head = nodes_[i].next;
    if (list.head == kNone) list.tail = kNone;
    --list.count;
    nodes_[i].next = free_;
    free_ = i;
    ++free_count_;
  }

  uint32_t free_count() const { return free_count_; }

 private:
  struct Node {
    uint64_t message = 0;
    uint32_t length = 0;
    uint32_t next = kNone;
  };
  std::vector<Node> nodes_;
  uint32_t free_ = kNone;
  uint32_t free_count_ = 0;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_PARKED_MESSAGES_H_
