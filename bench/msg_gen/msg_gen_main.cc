// msg_gen: request/response load between two hosts, over Ferry or kernel
// TCP/UDP with the same loop and measurement (so every run can carry its
// own baseline).
//
//   server:  msg_gen --role=server --transport=ferry --port=7000
//   client:  msg_gen --role=client --transport=ferry --remote=10.0.0.2:7000
//                    --size=1024 --window=32 --duration_s=10 --json_out=r.json
//
// The client prints a line per interval (RPC/s, Gb/s, P50/P99/P99.9) and a
// summary; --json_out writes the summary with the parameters echoed back
// and the latency distribution. Exit status: 0 success, 1 the run failed
// (connect, a flow ended, verification), 2 bad flags.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/msg_gen/roles.h"
#include "client/abi/ferry_attach_abi.h"
#include "client/abi/ferry_channel_abi.h"
#include "dataplane/net/addresses.h"

ABSL_FLAG(std::string, role, "client", "client or server");
ABSL_FLAG(std::string, transport, "ferry", "ferry, tcp or udp");
ABSL_FLAG(std::string, socket, FERRY_DEFAULT_SOCKET,
          "ferryd's API socket, where msg_gen opens its session (ferry "
          "transport; @name: abstract)");
ABSL_FLAG(std::string, remote, "",
          "client: the server's IPv4:port, or several comma separated (flow "
          "i goes to the i-th, round robin: one channel, many servers)");
ABSL_FLAG(uint32_t, port, 7000, "server: the port to listen on");
ABSL_FLAG(std::string, bind, "",
          "the local IPv4 address to use (default any); a ferry server "
          "listens on that NIC only");
ABSL_FLAG(uint32_t, size, 0, "sets both --request_size and --response_size");
ABSL_FLAG(uint32_t, request_size, 1024, "request bytes");
ABSL_FLAG(uint32_t, response_size, 1024, "response bytes");
ABSL_FLAG(std::string, request_size_dist, "",
          "client: request sizes drawn from SIZE:WEIGHT,... (e.g. "
          "64:50,1024:30,65536:20; sizes 8 B..8 MiB, up to 16), latency "
          "reported per size; ferry and tcp (empty: --request_size)");
ABSL_FLAG(uint32_t, window, 1, "requests in flight per flow");
ABSL_FLAG(uint32_t, flows, 1, "flows (connections) the client opens");
ABSL_FLAG(uint64_t, messages, 0,
          "stop after this many measured round trips (0: use --duration_s)");
ABSL_FLAG(double, duration_s, 10, "measured seconds (after warm-up)");
ABSL_FLAG(double, warmup_s, 1, "seconds before measuring starts");
ABSL_FLAG(bool, verify, false, "check every payload byte on both sides");
ABSL_FLAG(bool, spin, false,
          "poll with non-blocking receives in a tight loop that never "
          "yields or sleeps itself (as Machnet's programs do) instead of "
          "blocking receives");
ABSL_FLAG(uint32_t, report_interval_ms, 1000, "interval lines every ms");
ABSL_FLAG(std::string, json_out, "", "client: write the summary as JSON");
ABSL_FLAG(bool, quiet, false, "no interval lines");
ABSL_FLAG(uint32_t, channel_buffers, 0,
          "ferry: buffers of the channel (a power of two; 0: enough for the "
          "client's flows x window both ways, ferryd's default for a "
          "server)");
ABSL_FLAG(uint32_t, think_us, 0,
          "server: microseconds to pause before each answer (ferry: a slow "
          "reader, whose sender the transport must hold back)");

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

int Usage(const std::string& message) {
  std::fprintf(stderr, "msg_gen: %s\n", message.c_str());
  return 2;
}

using ferry::bench::MsgGenOptions;
using ferry::bench::Role;
using ferry::bench::SizeDistribution;
using ferry::bench::TransportKind;

absl::Status RoleAndTransport(MsgGenOptions* o) {
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role == "client") {
    o->role = Role::kClient;
  } else if (role == "server") {
    o->role = Role::kServer;
  } else {
    return absl::InvalidArgumentError("--role must be client or server, not '" +
                                      role + "'");
  }
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport == "ferry") {
    o->transport = TransportKind::kFerry;
  } else if (transport == "tcp") {
    o->transport = TransportKind::kTcp;
  } else if (transport == "udp") {
    o->transport = TransportKind::kUdp;
  } else {
    return absl::InvalidArgumentError(
        "--transport must be ferry, tcp or udp, not '" + transport + "'");
  }
  return absl::OkStatus();
}

// Sizes, window, flows and timing.
absl::Status Load(MsgGenOptions* o) {
  o->request_size = absl::GetFlag(FLAGS_request_size);
  o->response_size = absl::GetFlag(FLAGS_response_size);
  if (absl::GetFlag(FLAGS_size) != 0) {
    o->request_size = o->response_size = absl::GetFlag(FLAGS_size);
  }
  if (o->request_size > FERRY_MAX_MESSAGE_SIZE ||
      o->response_size > FERRY_MAX_MESSAGE_SIZE) {
    return absl::InvalidArgumentError(
        "message sizes are at most 8 MiB (8388608 bytes)");
  }
  o->request_sizes = SizeDistribution::Fixed(o->request_size);
  if (const std::string dist = absl::GetFlag(FLAGS_request_size_dist);
      !dist.empty()) {
    absl::StatusOr<SizeDistribution> parsed =
        SizeDistribution::Parse(dist, FERRY_MAX_MESSAGE_SIZE);
    if (!parsed.ok()) return parsed.status();
    if (o->transport == TransportKind::kUdp) {
      return absl::InvalidArgumentError(
          "--request_size_dist is for ferry and tcp");
    }
    o->request_sizes = *std::move(parsed);
    // Buffers and frames are sized by the largest request.
    o->request_size = o->request_sizes.max_size();
  }
  o->window = absl::GetFlag(FLAGS_window);
  o->flows = absl::GetFlag(FLAGS_flows);
  if (o->window < 1 || o->window > 4096) {
    return absl::InvalidArgumentError("--window is 1..4096");
  }
  if (o->flows < 1 || o->flows > 10000) {
    return absl::InvalidArgumentError("--flows is 1..10000");
  }
  o->messages = absl::GetFlag(FLAGS_messages);
  o->duration_s = absl::GetFlag(FLAGS_duration_s);
  o->warmup_s = absl::GetFlag(FLAGS_warmup_s);
  if (o->duration_s <= 0 || o->warmup_s < 0) {
    return absl::InvalidArgumentError(
        "--duration_s must be > 0 and --warmup_s >= 0");
  }
  o->think_us = absl::GetFlag(FLAGS_think_us);
  o->channel_buffers = absl::GetFlag(FLAGS_channel_buffers);
  return absl::OkStatus();
}

// The local port and address, and a client's server.
absl::Status Addresses(MsgGenOptions* o) {
  const uint32_t port = absl::GetFlag(FLAGS_port);
  if (port == 0 || port > 65535) {
    return absl::InvalidArgumentError("--port is 1..65535");
  }
  o->local_port = static_cast<uint16_t>(port);
  if (const std::string bind = absl::GetFlag(FLAGS_bind); !bind.empty()) {
    auto ip = ferry::net::Ipv4Address::Parse(bind);
    if (!ip.ok()) {
      return absl::InvalidArgumentError("--bind: " +
                                        std::string(ip.status().message()));
    }
    o->local_ip = ip->value;
  }
  if (o->role != Role::kClient) return absl::OkStatus();
  const std::vector<std::string> remotes =
      absl::StrSplit(absl::GetFlag(FLAGS_remote), ',');
  for (const std::string& remote : remotes) {
    std::vector<std::string> parts = absl::StrSplit(remote, ':');
    uint32_t remote_port = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &remote_port) ||
        remote_port == 0 || remote_port > 65535) {
      return absl::InvalidArgumentError("--remote must be IPv4:port, not '" +
                                        remote + "'");
    }
    auto ip = ferry::net::Ipv4Address::Parse(parts[0]);
    if (!ip.ok()) {
      return absl::InvalidArgumentError("--remote: " +
                                        std::string(ip.status().message()));
    }
    o->servers.push_back({ip->value, static_cast<uint16_t>(remote_port)});
  }
  return absl::OkStatus();
}

absl::StatusOr<MsgGenOptions> OptionsFromFlags() {
  MsgGenOptions o;
  for (auto step : {RoleAndTransport, Load, Addresses}) {
    if (absl::Status s = step(&o); !s.ok()) return s;
  }
  o.ferryd_socket = absl::GetFlag(FLAGS_socket);
  o.verify = absl::GetFlag(FLAGS_verify);
  o.spin = absl::GetFlag(FLAGS_spin);
  o.report_interval_ms = std::max(1u, absl::GetFlag(FLAGS_report_interval_ms));
  o.json_out = absl::GetFlag(FLAGS_json_out);
  o.quiet = absl::GetFlag(FLAGS_quiet);
  return o;
}

absl::Status Run(const MsgGenOptions& o) {
  const bool client = o.role == Role::kClient;
  switch (o.transport) {
    case TransportKind::kFerry:
      return client ? ferry::bench::RunFerryClient(o)
                    : ferry::bench::RunFerryServer(o, g_stop);
    case TransportKind::kTcp:
      return client ? ferry::bench::RunTcpClient(o)
                    : ferry::bench::RunTcpServer(o, g_stop);
    case TransportKind::kUdp:
      return client ? ferry::bench::RunUdpClient(o)
                    : ferry::bench::RunUdpServer(o, g_stop);
  }
  return absl::InternalError("no such transport");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "request/response load over Ferry or kernel TCP/UDP; see --helpfull");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<MsgGenOptions> o = OptionsFromFlags();
  if (!o.ok()) return Usage(std::string(o.status().message()));
  // A server stops in order on SIGINT/SIGTERM (it prints what it served).
  // A client keeps the default: nothing in its loop looks at g_stop, and a
  // client that caught them could not be stopped by Ctrl-C or `timeout`
  // when its flows stall.
  if (o->role != Role::kClient) {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (absl::Status status = Run(*o); !status.ok()) {
    std::fprintf(stderr, "msg_gen: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
