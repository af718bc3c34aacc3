// The packet buffer type by name only, for headers that hold packet pointers
// without touching them (so their includers need no DPDK headers or flags).
#ifndef FERRY_DATAPLANE_DPDK_PACKET_FWD_H_
#define FERRY_DATAPLANE_DPDK_PACKET_FWD_H_

struct rte_mbuf;

namespace ferry::dpdk {
using Packet = rte_mbuf;
class ExternalPayloads;  // packet.h
}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_PACKET_FWD_H_
