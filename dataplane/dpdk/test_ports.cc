#include "dataplane/dpdk/test_ports.h"

#include "absl/strings/str_format.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/ring_port_pair.h"

namespace ferry::dpdk {

absl::Status StartTestEal(int memory_mb) {
  static bool started = false;
  if (started) return absl::OkStatus();
  EalOptions eal;
  eal.hugepages = HugepageMode::kOff;
  eal.memory_mb = memory_mb;
  if (absl::Status s = StartEal(eal); !s.ok()) return s;
  started = true;
  return absl::OkStatus();
}

absl::StatusOr<TestPorts> MakeTestPorts(const std::string& prefix,
                                        const PortOptions& a,
                                        const PortOptions& b) {
  static int pairs = 0;
  absl::StatusOr<RingPortPair> pair =
      CreateRingPortPair(absl::StrFormat("%s%d", prefix, pairs++));
  if (!pair.ok()) return pair.status();
  TestPorts ports;
  absl::StatusOr<std::unique_ptr<Port>> port_a = Port::Adopt(pair->a, a);
  if (!port_a.ok()) return port_a.status();
  absl::StatusOr<std::unique_ptr<Port>> port_b = Port::Adopt(pair->b, b);
  if (!port_b.ok()) return port_b.status();
  ports.a = std::move(*port_a);
  ports.b = std::move(*port_b);
  return ports;
}

}  // namespace ferry::dpdk
