// The XDP program ferryd attaches to a kernel interface it shares with the
// kernel (net_af_xdp): frames for Ferry's own IPv4 address (and ARP asking
// for or answering about it) go to the AF_XDP socket of their receive
// queue; every other frame passes to the kernel untouched, so the host's
// own addresses keep ping, SSH, ARP and TCP on the same interface.
//
// Ferry's address is one the kernel does not hold (ferryd refuses one it
// does): then nothing the kernel needs is diverted. Until ferryd writes the
// address into `ferry_config`, the program passes everything.
//
// Built with `clang -target bpf` into an object that ferryd embeds; the
// names `xsks_map` (DPDK's af_xdp PMD fills it) and `ferry_config` and
// `ferry_counters` (ferryd writes and reads them) are an interface.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dataplane/xdp/ferry_xdp_maps.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, FERRY_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ferry_xdp_config);
} ferry_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FERRY_XDP_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} ferry_counters SEC(".maps");

// An ARP packet for IPv4 over Ethernet, after the Ethernet header.
struct arp_ipv4 {
  __be16 hardware_type;
  __be16 protocol_type;
  __u8 hardware_length;
  __u8 protocol_length;
  __be16 operation;
  __u8 sender_mac[ETH_ALEN];
  __be32 sender_ip;
  __u8 target_mac[ETH_ALEN];
  __be32 target_ip;
} __attribute__((packed));

static __always_inline void count(__u32 which) {
  __u64* value = bpf_map_lookup_elem(&ferry_counters, &which);
  if (value) *value += 1;
}

static __always_inline int divert(struct xdp_md* ctx, __u32 counter) {
  count(counter);
  // With no socket on this queue the frame goes to the kernel (XDP_PASS),
  // which drops it: the address is not the kernel's.
  return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int ferry_xdp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  const __u32 zero = 0;
  const struct ferry_xdp_config* config =
      bpf_map_lookup_elem(&ferry_config, &zero);
  if (!config || config->ipv4 == 0) return XDP_PASS;

  const struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    const struct iphdr* ip = (const void*)(eth + 1);
    if ((void*)(ip + 1) > data_end) return XDP_PASS;
    if (ip->daddr == config->ipv4) return divert(ctx, FERRY_XDP_IPV4);
  } else if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
    const struct arp_ipv4* arp = (const void*)(eth + 1);
    if ((void*)(arp + 1) > data_end) return XDP_PASS;
    if (arp->protocol_type == bpf_htons(ETH_P_IP) &&
        arp->target_ip == config->ipv4) {
      return divert(ctx, FERRY_XDP_ARP);
    }
  }
  count(FERRY_XDP_PASSED);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
