// ferry_xdp.bpf.c compiled for BPF, embedded in ferryd so that the program
// always matches the daemon that configures it (no install path to find).
#ifndef FERRY_DATAPLANE_XDP_FERRY_XDP_OBJECT_H_
#define FERRY_DATAPLANE_XDP_FERRY_XDP_OBJECT_H_

#include <cstddef>

namespace ferry::xdp {

extern const unsigned char kFerryXdpObject[];
extern const size_t kFerryXdpObjectSize;

// The program's name as the kernel reports it (BPF names hold 15 chars).
inline constexpr char kFerryXdpProgramName[] = "ferry_xdp";

}  // namespace ferry::xdp

#endif  // FERRY_DATAPLANE_XDP_FERRY_XDP_OBJECT_H_
