// The engine's view of DPDK packet buffers: bursts in and out of a queue,
// allocation from the queue's pool, and the bytes of a frame.
//
// Everything here is inline and runs on the engine thread that owns the
// queue. An rte_mbuf is used as a single-segment frame (no scatter: the
// mempool's buffers hold a whole MTU-sized frame).
#ifndef FERRY_DATAPLANE_DPDK_PACKET_H_
#define FERRY_DATAPLANE_DPDK_PACKET_H_

#include <fcntl.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <unistd.h>

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

// A copy of a frame in a new buffer from the queue's pool (null when the
// pool is empty).
inline Packet* CopyPacket(const PortQueue& q, const Packet* pkt) {
  return rte_pktmbuf_copy(pkt, q.pool, 0, UINT32_MAX);
}

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

// Zero-copy transmit: payload bytes that stay where they lie (an
// application's channel buffers) go out as extra segments of a frame that
// point at them. The bytes must outlive every frame that points at them:
// the holder counts those frames, and a frame that is to wait anywhere
// (behind a full port, for ARP, held back by the fault injector) is first
// made private (Privatize). Engine thread only.
class ExternalPayloads {
 public:
  ExternalPayloads() = default;
  ExternalPayloads(const ExternalPayloads&) = delete;
  ExternalPayloads& operator=(const ExternalPayloads&) = delete;

  // Appends `length` bytes at `data` to `head` as a segment from `q`'s
  // pool; false (nothing changed) when the pool is empty.
  bool Append(const PortQueue& q, Packet* head, const uint8_t* data,
              uint16_t length) {
    Packet* seg = rte_pktmbuf_alloc(q.pool);
    if (seg == nullptr) return false;
    // The segment's own buffer is idle while it points out: its shared
    // info goes there, one per segment with a count of 1, so that freeing
    // it takes no atomic operation (a shared count would take two per
    // segment) and calls Freed.
    auto* info = static_cast<rte_mbuf_ext_shared_info*>(seg->buf_addr);
    info->free_cb = &Freed;
    info->fcb_opaque = this;
    rte_mbuf_ext_refcnt_set(info, 1);
    void* addr = const_cast<uint8_t*>(data);
    // Software ports read it by address; no device DMAs from it.
    const rte_iova_t iova =
        rte_eal_iova_mode() == RTE_IOVA_VA
            ? static_cast<rte_iova_t>(reinterpret_cast<uintptr_t>(addr))
            : RTE_BAD_IOVA;
    rte_pktmbuf_attach_extbuf(seg, addr, iova, length, info);
    seg->data_len = length;
    seg->pkt_len = length;
    Packet* last = rte_pktmbuf_lastseg(head);
    last->next = seg;
    head->nb_segs = static_cast<uint16_t>(head->nb_segs + 1);
    head->pkt_len += length;
    ++in_flight_;
    return true;
  }

  // Segments that point at payloads now (freed ones are counted back by
  // DPDK's free path, on the thread that frees them: the engine's).
  uint64_t in_flight() const { return in_flight_; }

 private:
  static void Freed(void* addr, void* self) {
    (void)addr;
    --static_cast<ExternalPayloads*>(self)->in_flight_;
  }
  uint64_t in_flight_ = 0;
};

// Whether a frame is more than one buffer of its pool (it has segments
// that may point at application memory).
inline bool IsPlainFrame(const Packet* pkt) {
  return pkt->nb_segs == 1 && RTE_MBUF_DIRECT(pkt);
}

// A frame safe to keep for later: `pkt` itself when it is plain, else a
// one-buffer copy (and `pkt` is freed). Null, `pkt` freed, when the pool
// is empty.
inline Packet* Privatize(const PortQueue& q, Packet* pkt) {
  if (IsPlainFrame(pkt)) return pkt;
  Packet* copy = rte_pktmbuf_copy(pkt, q.pool, 0, UINT32_MAX);
  if (copy != nullptr) copy->ol_flags = pkt->ol_flags & ~RTE_MBUF_F_EXTERNAL;
  rte_pktmbuf_free(pkt);
  return copy;
}

// Takes back a checksum offload request: the frame goes out as it is (a
// frame corrupted on purpose must not have its checksums made right).
inline void CancelChecksumOffload(Packet* pkt) {
  pkt->ol_flags &= ~(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
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

// RX interrupts are registered in an epoll set through DPDK, because only
// DPDK knows how to acknowledge each PMD's interrupt fd (an eventfd counter
// to read for some, the packet fd itself for TAP, where a read would eat a
// frame). Call on the engine thread, once: returns a new epoll fd (the
// caller owns it and nests it in its own epoll set), or -1 when the queue
// has no interrupts.
inline int ArmRxInterrupts(const PortQueue& q) {
  if (!q.rx_interrupts) return -1;
  // An AF_XDP socket needs no arming or acknowledging: its own copy, level
  // triggered, is the source.
  if (q.rx_poll_fd >= 0) return fcntl(q.rx_poll_fd, F_DUPFD_CLOEXEC, 0);
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -1;
  if (rte_eth_dev_rx_intr_ctl_q(q.port_id, q.queue_id, epfd, RTE_INTR_EVENT_ADD,
                                nullptr) != 0) {
    close(epfd);
    return -1;
  }
  return epfd;
}

// After `epfd` from ArmRxInterrupts was readable: lets DPDK acknowledge the
// interrupts, without blocking.
inline void AcknowledgeRxInterrupts(const PortQueue& q, int epfd) {
  if (q.rx_poll_fd >= 0) return;
  rte_epoll_event events[4];
  rte_epoll_wait(epfd, events, 4, 0);
}

// RX interrupt arming around an engine's sleep.
inline bool EnableRxInterrupt(const PortQueue& q) {
  if (q.rx_poll_fd >= 0) return true;
  return rte_eth_dev_rx_intr_enable(q.port_id, q.queue_id) == 0;
}

inline void DisableRxInterrupt(const PortQueue& q) {
  if (q.rx_poll_fd >= 0) return;
  rte_eth_dev_rx_intr_disable(q.port_id, q.queue_id);
}

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_PACKET_H_
