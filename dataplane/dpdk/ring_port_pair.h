// Two DPDK ports joined back to back by rte_rings: what one transmits, the
// other receives. A real ethdev pair for tests, with no NIC and no kernel.
#ifndef FERRY_DATAPLANE_DPDK_RING_PORT_PAIR_H_
#define FERRY_DATAPLANE_DPDK_RING_PORT_PAIR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::dpdk {

struct RingPortPair {
  uint16_t a = 0;
  uint16_t b = 0;
};

// Needs a started EAL. `name` must be unique in the process; the pair has
// `num_queues` queue pairs, queue i of one side feeding queue i of the other.
absl::StatusOr<RingPortPair> CreateRingPortPair(const std::string& name,
                                                uint16_t num_queues = 1);

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_RING_PORT_PAIR_H_
