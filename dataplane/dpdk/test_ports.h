// For tests that need real DPDK ports and no NIC: EAL on ordinary pages,
// started once per process, and a ring-backed pair of ports adopted with
// the options each side asks for (engine tests play the peer host on the
// second port; protocol tests use the first only for its mempool).
#ifndef FERRY_DATAPLANE_DPDK_TEST_PORTS_H_
#define FERRY_DATAPLANE_DPDK_TEST_PORTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/dpdk/port.h"

namespace ferry::dpdk {

// Starts EAL with ordinary pages unless this process already did.
absl::Status StartTestEal(int memory_mb = 256);

struct TestPorts {
  std::unique_ptr<Port> a;
  std::unique_ptr<Port> b;
};

// A new ring pair named after `prefix` (unique per call), adopted as two
// ports with options `a` and `b`.
absl::StatusOr<TestPorts> MakeTestPorts(const std::string& prefix,
                                        const PortOptions& a,
                                        const PortOptions& b);

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_TEST_PORTS_H_
