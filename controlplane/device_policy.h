// Which device specs ferryd accepts. A DPDK vdev spec can make ferryd (root)
// open host files (net_pcap's rx_pcap=/tx_pcap=), sniff or inject on host
// interfaces (iface= of net_af_packet, net_af_xdp, net_pcap) or create
// them (net_tap): such keys name host resources, which only the operator's
// own configuration may grant. Only network-port drivers are accepted, each
// with the keys known to be harmless; anything else is refused with a
// message naming the key, before DPDK sees the spec.
#ifndef FERRY_CONTROLPLANE_DEVICE_POLICY_H_
#define FERRY_CONTROLPLANE_DEVICE_POLICY_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::controlplane {

inline constexpr size_t kMaxDeviceSpecLength = 512;

struct DevicePolicy {
  // Host interfaces and files a spec may name. The --device flag is the
  // operator's configuration itself: it passes with any_host_resource.
  std::set<std::string> interfaces;
  std::set<std::string> files;
  bool any_host_resource = false;
};

// OK, or INVALID_ARGUMENT (a malformed spec, an unknown driver or key) or
// PERMISSION_DENIED (a host interface or file the policy does not list).
absl::Status CheckDeviceSpec(absl::string_view device,
                             const DevicePolicy& policy);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_DEVICE_POLICY_H_
