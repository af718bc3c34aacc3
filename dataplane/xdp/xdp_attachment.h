// ferryd's side of net_af_xdp ports: DPDK's af_xdp PMD loads and attaches
// the XDP program it is given (devarg xdp_prog=) and fills its socket map;
// this file gives it Ferry's program, tells the attached program Ferry's
// address, reads its counters, and checks what would make it divert the
// kernel's own traffic.
//
// Control thread only; nothing here runs per packet.
#ifndef FERRY_DATAPLANE_XDP_XDP_ATTACHMENT_H_
#define FERRY_DATAPLANE_XDP_XDP_ATTACHMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/net/addresses.h"

namespace ferry::xdp {

// Ferry's program as a file the PMD can open by path (a memfd, named
// /proc/self/fd/N). It only needs to live until the port has started.
class ProgramFile {
 public:
  static absl::StatusOr<ProgramFile> Create();
  ProgramFile(ProgramFile&& other) noexcept;
  ProgramFile& operator=(ProgramFile&&) = delete;
  ~ProgramFile();

  const std::string& path() const { return path_; }

 private:
  explicit ProgramFile(int fd);
  int fd_ = -1;
  std::string path_;
};

// "iface" of a net_af_xdp device spec, or "" for any other device.
std::string AfXdpInterface(absl::string_view device_spec);

// The spec ferryd attaches: Ferry's program unless the spec names one,
// and one queue per engine unless it says how many.
std::string AfXdpDeviceSpec(absl::string_view device_spec,
                            const std::string& program_path, int queues);

// FailedPrecondition when the kernel holds `ip` on any interface: the
// program diverts every frame for Ferry's address, which would take the
// kernel's own traffic for it away.
absl::Status CheckAddressIsNotTheKernels(net::Ipv4Address ip);

// Takes Ferry's program off `iface` if one is attached (a ferryd that died
// without closing its port leaves it there, and the PMD attaches only
// where no program is). Another program on the interface is an error that
// names it. Returns whether a program was removed.
absl::StatusOr<bool> RemoveLeftoverProgram(const std::string& iface);

// Writes Ferry's address into the program attached to `iface`. Until then
// the program diverts nothing. NotFound when the attached program has no
// configuration map (an operator's own program: then it decides).
absl::Status ConfigureAttachedProgram(const std::string& iface,
                                      net::Ipv4Address ip);

struct ProgramCounters {
  uint64_t diverted_ipv4 = 0;
  uint64_t diverted_arp = 0;
  uint64_t passed = 0;
};
// Summed over CPUs, from the program attached to `iface`.
absl::StatusOr<ProgramCounters> ReadProgramCounters(const std::string& iface);

// The id of the XDP program attached to `iface`, 0 for none.
absl::StatusOr<uint32_t> AttachedProgramId(const std::string& iface);

struct AttachedProgram {
  uint32_t id = 0;
  std::string name;
  std::string mode;  // "native", "generic", "offload" or "multi"
};
// NotFound when no program is attached to `iface`.
absl::StatusOr<AttachedProgram> DescribeAttachedProgram(
    const std::string& iface);

}  // namespace ferry::xdp

#endif  // FERRY_DATAPLANE_XDP_XDP_ATTACHMENT_H_
