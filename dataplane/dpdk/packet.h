// The engine's view of DPDK packet buffers: bursts in and out of a queue,
// allocation from the queue's pool, and the bytes of a frame.
//
// Everything here is inline and runs on the engine thread that owns the
// queue. An rte_mbuf is used as a single-segment frame (no scatter: the
// mempool's buffers hold a whole MTU-sized frame).
#ifndef FERRY_DATAPLANE_DPDK_PACKET_H_
#define FERRY_DATAPLANE_DPDK_PACKET_H_

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/dpdk/packet_fwd.h"
#include "dataplane/dpdk/port.h"

namespace ferry::dpdk {

// Packet is declared in packet_fwd.h: an rte_mbuf used as one frame.

inline uint16_t RxBurst(const PortQueue& q, Packet** pkts, uint16_t n) {
  return rte_eth_rx_burst(q.port_id, q.queue_id, pkts, n);
}

// Returns how many the port took; the caller still owns the rest.
inline uint16_t TxBurst(const PortQueue& q, Packet** pkts, uint16_t n) {
  return rte_eth_tx_burst(q.port_id, q.queue_id, pkts, n);
}

inline Packet* AllocPacket(const PortQueue& q) {
  return rte_pktmbuf_alloc(q.pool);
}

inline void FreePacket(Packet* pkt) { rte_pktmbuf_free(pkt); }

inline void FreePackets(Packet** pkts, unsigned n) {
  rte_pktmbuf_free_bulk(pkts, n);
}

// The received frame's bytes (first segment only; a chained frame is
// reported by IsChained and dropped by the engine).
inline absl::Span<const uint8_t> FrameBytes(const Packet* pkt) {
  return absl::MakeConstSpan(rte_pktmbuf_mtod(pkt, const uint8_t*),
                             pkt->data_len);
}

inline bool IsChained(const Packet* pkt) { return pkt->nb_segs != 1; }

inline absl::Span<uint8_t> MutableFrameBytes(Packet* pkt) {
  return absl::MakeSpan(rte_pktmbuf_mtod(pkt, uint8_t*), pkt->data_len);
}

// The whole writable room of a fresh buffer, for building a frame.
inline absl::Span<uint8_t> FrameRoom(Packet* pkt) {
  return absl::MakeSpan(rte_pktmbuf_mtod(pkt, uint8_t*),
                        rte_pktmbuf_tailroom(pkt));
}

inline void SetFrameLength(Packet* pkt, uint32_t length) {
  pkt->data_len = static_cast<uint16_t>(length);
  pkt->pkt_len = length;
}

// Asks the port to fill in the IPv4 header checksum of an Ethernet/IPv4
// frame (only when PortCapabilities::tx_ipv4_checksum).
inline void RequestIpv4ChecksumOffload(Packet* pkt) {
  pkt->l2_len = 14;
  pkt->l3_len = 20;
  pkt->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
}

// RX offload verdicts, when the port computed them.
inline bool RxIpv4ChecksumGood(const Packet* pkt) {
  return (pkt->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
         RTE_MBUF_F_RX_IP_CKSUM_GOOD;
}

inline bool RxL4ChecksumGood(const Packet* pkt) {
  return (pkt->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
         RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

// RX interrupt arming around an engine's sleep.
inline bool EnableRxInterrupt(const PortQueue& q) {
  return rte_eth_dev_rx_intr_enable(q.port_id, q.queue_id) == 0;
}

inline void DisableRxInterrupt(const PortQueue& q) {
  rte_eth_dev_rx_intr_disable(q.port_id, q.queue_id);
}

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_PACKET_H_
