// ferryctl: operate ferryd through its gRPC API.
//
//   ferryctl [--socket=PATH | --target=URI] [--output=table|json] COMMAND
//   (over TCP: --target=host:port --tls_ca=CA.pem [--tls_cert --tls_key])
//
// nic, flow, stats and session list are administrators' commands: they go
// to ferryd's admin socket (--admin_socket; by default next to --socket, as
// ferryd places it), the others to the application socket (--socket).
// --as=admin|application sends every command to one of them.
//
//   nic list              every attached NIC
//   nic get NAME          one NIC, with its engines' counters
//   nic attach --device=SPEC --ip=A.B.C.D/LEN [--gateway --mac --mtu
//              --engines --cores --polling]
//   nic detach NAME
//   flow list [--nic=NAME --state=S --remote_ip=A.B.C.D --page_size=N]
//                         flows (every page), with RTT, window, counters
//   flow get ID --nic=NAME one flow in detail
//   flow close ID --nic=NAME [--reset]
//                         an orderly close, or a reset the peer hears
//   stats                 a snapshot of every counter
//   stats --watch_ms=N    a snapshot every N ms (--count=K times; 0: forever)
//   health                the server's standard health status
//   session list          applications' sessions and their channels
//   connect IP:PORT [--message=TEXT --count=N]
//                         as an application: a session, a channel, a flow
//                         (with how long ferryd and its engine took) and N
//                         round trips (default 1; --message='': none)
//   listen PORT [--count=N --duration_ms=T]
//                         as an application: accepts flows, echoes messages
//
// Exit status: 0 success; 1 the call failed (the line says the gRPC code and
// ferryd's message); 2 bad usage.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/session_client.h"
#include "controlplane/api/admin_socket.h"
#include "controlplane/ferryctl_app_commands.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, socket, "/run/ferry/ferryd.sock",
          "ferryd's gRPC Unix socket ('@name': abstract)");
ABSL_FLAG(std::string, admin_socket, "",
          "ferryd's admin socket (empty: admin.sock next to --socket, or "
          "--socket plus '.admin', as ferryd places it)");
ABSL_FLAG(std::string, as, "auto",
          "auto: each command to its socket; admin or application: every "
          "command to that socket");
ABSL_FLAG(std::string, target, "",
          "a gRPC target URI instead of --socket (e.g. unix:/path)");
ABSL_FLAG(std::string, output, "table", "table or json");
ABSL_FLAG(std::string, tls_ca, "",
          "with --target=host:port: verify ferryd against this CA (PEM)");
ABSL_FLAG(std::string, tls_cert, "", "client certificate (PEM), if required");
ABSL_FLAG(std::string, tls_key, "", "client private key (PEM)");
ABSL_FLAG(int, watch_ms, 0, "stats: stream a snapshot this often");
ABSL_FLAG(int, count, 0, "stats --watch_ms: how many (0: until interrupted)");
ABSL_FLAG(int, timeout_ms, 5000, "deadline of each call (not of a watch)");
ABSL_FLAG(std::string, device, "", "nic attach: PCI address or vdev spec");
ABSL_FLAG(std::string, ip, "", "nic attach: address/prefix");
ABSL_FLAG(std::string, gateway, "", "nic attach: next hop off the subnet");
ABSL_FLAG(std::string, mac, "", "nic attach: MAC (default: the port's)");
ABSL_FLAG(int, mtu, 0, "nic attach: MTU (0: 1500)");
ABSL_FLAG(int, engines, 0, "nic attach: engines (0: 1)");
ABSL_FLAG(std::string, cores, "", "nic attach: CPUs, one per engine");
ABSL_FLAG(std::string, polling, "", "nic attach: busy or adaptive");
ABSL_FLAG(std::string, nic, "", "flow: the NIC (DPDK port name)");
ABSL_FLAG(std::string, state, "",
          "flow list: connecting, established or closing");
ABSL_FLAG(std::string, remote_ip, "", "flow list: only flows to this peer");
ABSL_FLAG(int, page_size, 0, "flow list: flows per call (0: ferryd's 100)");
ABSL_FLAG(bool, reset, false, "flow close: reset instead of closing");
ABSL_FLAG(std::string, message, "hello from ferryctl",
          "connect: what to send in each round trip");
ABSL_FLAG(int, duration_ms, 0, "listen: stop after this long (0: never)");

namespace ferry {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

int Failed(const grpc::Status& status) {
  std::fprintf(stderr, "ferryctl: error: %s: %s\n",
               CodeName(status.error_code()), status.error_message().c_str());
  return kExitFailed;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "ferryctl: %s (see ferryctl --help)\n", message.c_str());
  return kExitUsage;
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  return context;
}

void PrintNicTable(const std::vector<const v1::Nic*>& nics) {
  std::printf("%-18s %-14s %-17s %-18s %-5s %-7s %12s %12s\n", "NAME", "DRIVER",
              "MAC", "IP", "LINK", "ENGINES", "RX_PACKETS", "TX_PACKETS");
  for (const v1::Nic* nic : nics) {
    std::printf("%-18s %-14s %-17s %-18s %-5s %-7d %12lu %12lu\n",
                nic->name().c_str(), nic->driver().c_str(), nic->mac().c_str(),
                nic->ip().c_str(), nic->link().up() ? "up" : "down",
                nic->engines_size(),
                static_cast<unsigned long>(nic->counters().rx_packets()),
                static_cast<unsigned long>(nic->counters().tx_packets()));
  }
}

void PrintNicDetail(const v1::Nic& nic) {
  std::printf(
      "name:     %s\ndevice:   %s\ndriver:   %s\nmac:      %s\n"
      "ip:       %s\ngateway:  %s\nmtu:      %u\nlink:     %s\n",
      nic.name().c_str(), nic.device().c_str(), nic.driver().c_str(),
      nic.mac().c_str(), nic.ip().c_str(),
      nic.gateway().empty() ? "-" : nic.gateway().c_str(), nic.mtu(),
      nic.link().up() ? "up" : "down");
  for (const v1::Engine& engine : nic.engines()) {
    std::printf("engine %u (core %d, %s polling):\n", engine.id(),
                engine.core(), engine.polling().c_str());
    std::vector<std::string> names;
    for (const auto& [name, value] : engine.counters()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const uint64_t value = engine.counters().at(name);
      if (value != 0) {
        std::printf("  %-26s %lu\n", name.c_str(),
                    static_cast<unsigned long>(value));
      }
    }
  }
}

void PrintStats(const v1::Stats& stats) {
  std::vector<const v1::Nic*> nics;
  for (const v1::Nic& nic : stats.nics()) nics.push_back(&nic);
  PrintNicTable(nics);
  const v1::ChannelStats& c = stats.channels();
  std::printf("channels: attached %lu, live %lu, reclaimed %lu, refused %lu\n",
              static_cast<unsigned long>(c.attached()),
              static_cast<unsigned long>(c.live()),
              static_cast<unsigned long>(c.reclaimed()),
              static_cast<unsigned long>(c.refused()));
}

void PrintFlowTable(const std::vector<v1::Flow>& flows) {
  std::printf("%-14s %-9s %-6s %-21s %-21s %-11s %9s %7s %11s %11s %9s\n",
              "NIC", "ID", "ENGINE", "LOCAL", "REMOTE", "STATE", "RTT_US",
              "CWND", "MSGS_SENT", "MSGS_RECV", "RETRANS");
  for (const v1::Flow& f : flows) {
    std::printf(
        "%-14s %-9u %-6u %-21s %-21s %-11s %9.1f %7.1f %11lu %11lu %9lu\n",
        f.nic().c_str(), f.id(), f.engine(),
        absl::StrFormat("%s:%d", f.local_ip(), f.local_port()).c_str(),
        absl::StrFormat("%s:%d", f.remote_ip(), f.remote_port()).c_str(),
        f.state().c_str(), f.rtt_us(), f.congestion_window(),
        static_cast<unsigned long>(f.messages_sent()),
        static_cast<unsigned long>(f.messages_received()),
        static_cast<unsigned long>(f.retransmits_fast() +
                                   f.retransmits_timeout()));
  }
}

// Parses a flow id argument; false when it is not a number.
bool FlowId(const std::string& word, uint32_t* id) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(word.c_str(), &end, 0);
  if (word.empty() || *end != '\0' || v > UINT32_MAX) return false;
  *id = static_cast<uint32_t>(v);
  return true;
}

int FlowCommand(const std::vector<std::string>& words,
                const std::shared_ptr<grpc::Channel>& channel, bool json) {
  auto flows = v1::FlowService::NewStub(channel);
  if (words.size() == 2 && words[1] == "list") {
    if (absl::GetFlag(FLAGS_page_size) < 0) {
      return Usage("--page_size must not be negative");
    }
    v1::ListFlowsRequest request;
    request.set_nic(absl::GetFlag(FLAGS_nic));
    request.set_state(absl::GetFlag(FLAGS_state));
    request.set_remote_ip(absl::GetFlag(FLAGS_remote_ip));
    request.set_page_size(
        static_cast<uint32_t>(absl::GetFlag(FLAGS_page_size)));
    v1::ListFlowsResponse all;
    do {
      v1::ListFlowsResponse page;
      grpc::Status status = flows->ListFlows(Context().get(), request, &page);
      if (!status.ok()) return Failed(status);
      for (const v1::Flow& f : page.flows()) *all.add_flows() = f;
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    if (json) {
      std::cout << Json(all);
    } else {
      PrintFlowTable({all.flows().begin(), all.flows().end()});
    }
    return 0;
  }
  uint32_t id = 0;
  if (words.size() == 3 && words[1] == "get") {
    if (!FlowId(words[2], &id)) return Usage("flow get: ID is a number");
    v1::GetFlowRequest request;
    request.set_nic(absl::GetFlag(FLAGS_nic));
    request.set_id(id);
    v1::Flow flow;
    grpc::Status status = flows->GetFlow(Context().get(), request, &flow);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(flow);
    } else {
      PrintFlowTable({flow});
      std::printf(
          "rto %.1f us, peer window %u, in flight %u, queued %u; sent %lu B "
          "in %lu segments, received %lu B in %lu segments; retransmits "
          "%lu fast + %lu timeout; %lu duplicates, %lu out of order\n",
          flow.rto_us(), flow.peer_window(), flow.in_flight(),
          flow.queued_messages(), static_cast<unsigned long>(flow.bytes_sent()),
          static_cast<unsigned long>(flow.segments_sent()),
          static_cast<unsigned long>(flow.bytes_received()),
          static_cast<unsigned long>(flow.segments_received()),
          static_cast<unsigned long>(flow.retransmits_fast()),
          static_cast<unsigned long>(flow.retransmits_timeout()),
          static_cast<unsigned long>(flow.duplicates_received()),
          static_cast<unsigned long>(flow.out_of_order_received()));
    }
    return 0;
  }
  if (words.size() == 3 && words[1] == "close") {
    if (!FlowId(words[2], &id)) return Usage("flow close: ID is a number");
    v1::CloseFlowRequest request;
    request.set_nic(absl::GetFlag(FLAGS_nic));
    request.set_id(id);
    request.set_reset(absl::GetFlag(FLAGS_reset));
    v1::CloseFlowResponse response;
    grpc::Status status = flows->CloseFlow(Context().get(), request, &response);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(response);
    } else {
      std::printf("%s flow %u\n", request.reset() ? "reset" : "closing", id);
    }
    return 0;
  }
  return Usage(
      absl::StrFormat("unknown command '%s'", absl::StrJoin(words, " ")));
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Operate ferryd through its gRPC API.\n"
      "  ferryctl [flags] nic list | nic get NAME | nic attach --device=SPEC "
      "--ip=A.B.C.D/LEN | nic detach NAME | flow list | flow get ID "
      "--nic=NAME | flow close ID --nic=NAME [--reset] | stats | health | "
      "session list | connect IP:PORT [--message --count] | listen PORT "
      "[--count --duration_ms]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  args.erase(args.begin());
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "table" && output != "json") {
    return Usage(
        absl::StrFormat("--output: '%s' is not table or json", output));
  }
  const bool json = output == "json";
  const std::string as = absl::GetFlag(FLAGS_as);
  if (as != "auto" && as != "admin" && as != "application") {
    return Usage(
        absl::StrFormat("--as: '%s' is not auto, admin or application", as));
  }
  std::string admin_socket = absl::GetFlag(FLAGS_admin_socket);
  if (admin_socket.empty()) {
    admin_socket =
        controlplane::DefaultAdminSocket(absl::GetFlag(FLAGS_socket));
  }
  std::string app_target = absl::GetFlag(FLAGS_target);
  std::string admin_target = app_target;
  if (app_target.empty()) {
    app_target = client::GrpcTargetForSocket(absl::GetFlag(FLAGS_socket));
    admin_target = client::GrpcTargetForSocket(admin_socket);
  }
  if (as == "admin") app_target = admin_target;
  if (as == "application") admin_target = app_target;
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!absl::GetFlag(FLAGS_tls_ca).empty()) {
    grpc::SslCredentialsOptions options;
    if (!ReadFile(absl::GetFlag(FLAGS_tls_ca), &options.pem_root_certs) ||
        (!absl::GetFlag(FLAGS_tls_cert).empty() &&
         (!ReadFile(absl::GetFlag(FLAGS_tls_cert), &options.pem_cert_chain) ||
          !ReadFile(absl::GetFlag(FLAGS_tls_key), &options.pem_private_key)))) {
      return Usage("cannot read a --tls_* file");
    }
    credentials = grpc::SslCredentials(options);
  }
  const std::vector<std::string> words(args.begin(), args.end());
  const std::string command = absl::StrJoin(words, " ");
  const bool admin_command =
      !words.empty() && (words[0] == "nic" || words[0] == "flow" ||
                         words[0] == "stats" || words[0] == "session");
  auto channel = grpc::CreateChannel(admin_command ? admin_target : app_target,
                                     credentials);

  if (words.size() == 2 && words[0] == "nic" && words[1] == "list") {
    auto nics = v1::NicService::NewStub(channel);
    v1::ListNicsResponse response;
    grpc::Status status =
        nics->ListNics(Context().get(), v1::ListNicsRequest(), &response);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(response);
    } else {
      std::vector<const v1::Nic*> nics;
      for (const v1::Nic& nic : response.nics()) nics.push_back(&nic);
      PrintNicTable(nics);
    }
    return 0;
  }
  if (words.size() == 2 && words[0] == "nic" && words[1] == "attach") {
    auto nics = v1::NicService::NewStub(channel);
    v1::AttachNicRequest request;
    request.set_device(absl::GetFlag(FLAGS_device));
    request.set_ip(absl::GetFlag(FLAGS_ip));
    request.set_gateway(absl::GetFlag(FLAGS_gateway));
    request.set_mac(absl::GetFlag(FLAGS_mac));
    if (absl::GetFlag(FLAGS_mtu) < 0 || absl::GetFlag(FLAGS_engines) < 0) {
      return Usage("--mtu and --engines must not be negative");
    }
    request.set_mtu(static_cast<uint32_t>(absl::GetFlag(FLAGS_mtu)));
    request.set_engines(static_cast<uint32_t>(absl::GetFlag(FLAGS_engines)));
    request.set_cores(absl::GetFlag(FLAGS_cores));
    request.set_polling(absl::GetFlag(FLAGS_polling));
    v1::Nic nic;
    // Attaching probes a device: allow it more than a query.
    auto context = Context();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    grpc::Status status = nics->AttachNic(context.get(), request, &nic);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(nic);
    } else {
      std::printf("attached %s (%s, %s)\n", nic.name().c_str(),
                  nic.ip().c_str(), nic.mac().c_str());
    }
    return 0;
  }
  if (words.size() == 3 && words[0] == "nic" && words[1] == "detach") {
    auto nics = v1::NicService::NewStub(channel);
    v1::DetachNicRequest request;
    request.set_name(words[2]);
    v1::DetachNicResponse response;
    grpc::Status status = nics->DetachNic(Context().get(), request, &response);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(response);
    } else {
      std::printf("detached %s\n", words[2].c_str());
    }
    return 0;
  }
  if (words.size() == 3 && words[0] == "nic" && words[1] == "get") {
    auto nics = v1::NicService::NewStub(channel);
    v1::GetNicRequest request;
    request.set_name(words[2]);
    v1::Nic nic;
    grpc::Status status = nics->GetNic(Context().get(), request, &nic);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(nic);
    } else {
      PrintNicDetail(nic);
    }
    return 0;
  }
  if (words.size() == 1 && words[0] == "stats") {
    auto stats_api = v1::StatsService::NewStub(channel);
    if (absl::GetFlag(FLAGS_watch_ms) == 0) {
      v1::Stats stats;
      grpc::Status status =
          stats_api->GetStats(Context().get(), v1::GetStatsRequest(), &stats);
      if (!status.ok()) return Failed(status);
      if (json) {
        std::cout << Json(stats);
      } else {
        PrintStats(stats);
      }
      return 0;
    }
    v1::WatchStatsRequest request;
    request.set_interval_ms(
        static_cast<uint32_t>(absl::GetFlag(FLAGS_watch_ms)));
    request.set_count(static_cast<uint32_t>(absl::GetFlag(FLAGS_count)));
    grpc::ClientContext context;
    auto reader = stats_api->WatchStats(&context, request);
    v1::Stats stats;
    while (reader->Read(&stats)) {
      if (json) {
        std::cout << Json(stats) << std::flush;
      } else {
        PrintStats(stats);
        std::fflush(stdout);
      }
    }
    grpc::Status status = reader->Finish();
    return status.ok() ? 0 : Failed(status);
  }
  if (!words.empty() && words[0] == "flow") {
    return FlowCommand(words, channel, json);
  }
  if (words.size() == 2 && (words[0] == "connect" || words[0] == "listen")) {
    if (!absl::GetFlag(FLAGS_target).empty()) {
      return Usage(words[0] +
                   " needs ferryd's Unix socket (--socket): a channel is "
                   "shared memory on ferryd's host");
    }
    controlplane::AppCommandOptions o;
    o.socket = as == "admin" ? admin_socket : absl::GetFlag(FLAGS_socket);
    o.json = json;
    o.timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
    o.message = absl::GetFlag(FLAGS_message);
    o.count = absl::GetFlag(FLAGS_count);
    o.duration_ms = absl::GetFlag(FLAGS_duration_ms);
    if (words[0] == "connect") {
      // --count=0 (the flag's default, for stats) is one round trip; an
      // empty --message only connects.
      if (o.count == 0) o.count = 1;
      if (o.message.empty()) o.count = 0;
      return controlplane::ConnectCommand(words[1], o);
    }
    return controlplane::ListenCommand(words[1], o);
  }
  if (words.size() == 2 && words[0] == "session" && words[1] == "list") {
    auto sessions = v1::SessionService::NewStub(channel);
    v1::ListSessionsResponse response;
    grpc::Status status = sessions->ListSessions(
        Context().get(), v1::ListSessionsRequest(), &response);
    if (!status.ok()) return Failed(status);
    if (json) {
      std::cout << Json(response);
      return 0;
    }
    // PID and UID as the kernel gave them when the session connected (the
    // pid the application claimed only where the kernel said nothing).
    std::printf("%-8s %-20s %-8s %-8s %-10s %s\n", "ID", "NAME", "PID", "UID",
                "PENDING", "CHANNELS");
    for (const v1::Session& s : response.sessions()) {
      const std::string uid =
          s.has_peer() ? std::to_string(s.peer().uid()) : "-";
      std::printf("%-8lu %-20s %-8u %-8s %-10u %s\n",
                  static_cast<unsigned long>(s.id()), s.name().c_str(),
                  s.has_peer() ? s.peer().pid() : s.pid(), uid.c_str(),
                  s.pending_tickets(),
                  absl::StrJoin(s.channels(), ",").c_str());
    }
    return 0;
  }
  if (words.size() == 1 && words[0] == "health") {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(
        Context().get(), grpc::health::v1::HealthCheckRequest(), &response);
    if (!status.ok()) return Failed(status);
    const std::string name =
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
            response.status());
    if (json) {
      std::cout << Json(response);
    } else {
      std::printf("%s\n", name.c_str());
    }
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : kExitFailed;
  }
  return Usage(command.empty()
                   ? "no command"
                   : absl::StrFormat("unknown command '%s'", command));
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) { return ferry::Main(argc, argv); }
