#include "dataplane/dpdk/ring_port_pair.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include <vector>

#include "absl/strings/str_format.h"

namespace ferry::dpdk {

absl::StatusOr<RingPortPair> CreateRingPortPair(const std::string& name,
                                                uint16_t num_queues) {
  std::vector<rte_ring*> a_to_b(num_queues);
  std::vector<rte_ring*> b_to_a(num_queues);
  for (uint16_t q = 0; q < num_queues; ++q) {
    a_to_b[q] = rte_ring_create(absl::StrFormat("%s_ab%u", name, q).c_str(),
                                1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    b_to_a[q] = rte_ring_create(absl::StrFormat("%s_ba%u", name, q).c_str(),
                                1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (a_to_b[q] == nullptr || b_to_a[q] == nullptr) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "rte_ring_create for %s: %s", name, rte_strerror(rte_errno)));
    }
  }
  const int a =
      rte_eth_from_rings(absl::StrFormat("%s_a", name).c_str(), b_to_a.data(),
                         num_queues, a_to_b.data(), num_queues, 0);
  const int b =
      rte_eth_from_rings(absl::StrFormat("%s_b", name).c_str(), a_to_b.data(),
                         num_queues, b_to_a.data(), num_queues, 0);
  if (a < 0 || b < 0) {
    return absl::InternalError(absl::StrFormat("rte_eth_from_rings for %s: %s",
                                               name, rte_strerror(rte_errno)));
  }
  return RingPortPair{static_cast<uint16_t>(a), static_cast<uint16_t>(b)};
}

}  // namespace ferry::dpdk
