// What ferry_xdp.bpf.c and ferryd share: the layout of the program's
// configuration map and the meaning of its counters. Plain C, for both the
// BPF compiler and C++.
#ifndef FERRY_DATAPLANE_XDP_FERRY_XDP_MAPS_H_
#define FERRY_DATAPLANE_XDP_FERRY_XDP_MAPS_H_

#include <linux/types.h>

// Receive queues an interface may have sockets on.
#define FERRY_XDP_MAX_QUEUES 64

struct ferry_xdp_config {
  __be32 ipv4;  // Ferry's address on this interface; 0 diverts nothing
  __u32 reserved;
};

// Indexes into ferry_counters (per-CPU, summed by ferryd).
#define FERRY_XDP_IPV4 0    // IPv4 frames for Ferry's address, diverted
#define FERRY_XDP_ARP 1     // ARP about Ferry's address, diverted
#define FERRY_XDP_PASSED 2  // everything else, left to the kernel
#define FERRY_XDP_COUNTER_COUNT 3

#endif  // FERRY_DATAPLANE_XDP_FERRY_XDP_MAPS_H_
