// How large a frame a net_memif port carries. DPDK's memif driver reports
// 1518-byte frames at most (max_rx_pktlen), but it moves any frame that
// fits one buffer of its rings (the `bsize` devarg, 2048 bytes by default)
// and ignores the MTU it is configured with. A larger frame spans several
// buffers and arrives chained, which the engine drops. So on memif the
// MTU is bounded by `bsize`, and a spec that names none gets one large
// enough for the MTU: jumbo frames cut the per-segment work of large
// messages about sixfold.
//
// The client's buffers carry both directions (the memif client creates
// the rings; the server writes into the buffers the client posts), so both
// ends need the same MTU, as on any link.
#ifndef FERRY_DATAPLANE_DPDK_MEMIF_FRAMES_H_
#define FERRY_DATAPLANE_DPDK_MEMIF_FRAMES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ferry::dpdk {

// DPDK's default memif buffer (ETH_MEMIF_DEFAULT_PKT_BUFFER_SIZE).
inline constexpr uint32_t kMemifDefaultBufferSize = 2048;
// memif's bsize is 16 bits.
inline constexpr uint32_t kMemifMaxBufferSize = 65535;

// "net_memif<n>[,...]".
bool IsMemifSpec(absl::string_view device);

// The bsize the spec names, or the driver's default when it names none (or
// names one DPDK will refuse anyway).
uint32_t MemifBufferSize(absl::string_view device);

// The spec to probe for frames of up to `frame_bytes`: unchanged unless it
// is a memif spec without a bsize whose default buffer is too small; then
// with a bsize of `frame_bytes` rounded up to a whole KiB.
std::string MemifSpecForFrames(absl::string_view device, uint32_t frame_bytes);

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_MEMIF_FRAMES_H_
