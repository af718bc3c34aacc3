// msg_gen's parameters, shared by every role and transport.
#ifndef FERRY_BENCH_MSG_GEN_MSG_GEN_OPTIONS_H_
#define FERRY_BENCH_MSG_GEN_MSG_GEN_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/msg_gen/size_distribution.h"

namespace ferry::bench {

enum class Role { kClient, kServer };
enum class TransportKind { kFerry, kTcp, kUdp };

struct MsgGenOptions {
  Role role = Role::kClient;
  TransportKind transport = TransportKind::kFerry;
  std::string ferryd_socket;  // ferry: ferryd's API socket (sessions)
  // client: the servers, host byte order; flow i goes to server
  // i % servers.size().
  struct Server {
    uint32_t ip = 0;
    uint16_t port = 0;
  };
  std::vector<Server> servers;
  const Server& ServerOfFlow(uint32_t flow) const {
    return servers[flow % servers.size()];
  }
  uint32_t local_ip = 0;         // kernel transports: address to bind (0: any)
  uint16_t local_port = 0;       // server: where to listen
  uint32_t request_size = 1024;  // the largest when sizes are mixed
  // client: each request's size; Fixed(request_size) unless
  // --request_size_dist.
  SizeDistribution request_sizes = SizeDistribution::Fixed(1024);
  uint32_t response_size = 1024;
  uint32_t window = 1;  // requests in flight per flow
  uint32_t flows = 1;
  uint64_t messages = 0;  // stop after this many (0: run for duration)
  double duration_s = 10;
  double warmup_s = 1;
  bool verify = false;
  bool spin = false;  // busy-poll instead of sleeping when idle
  uint32_t report_interval_ms = 1000;
  std::string json_out;   // client: write the summary here
  bool quiet = false;     // no per-interval lines
  uint32_t think_us = 0;  // server: pause before answering (a slow reader)
  // ferry: the channel's buffers; 0: enough for the client's flows x
  // window both ways (ferryd's default when that is more), ferryd's
  // default for a server.
  uint32_t channel_buffers = 0;
};

const char* TransportName(TransportKind kind);

}  // namespace ferry::bench

#endif  // FERRY_BENCH_MSG_GEN_MSG_GEN_OPTIONS_H_
