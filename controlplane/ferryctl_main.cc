// ferryctl: operate ferryd through its gRPC API.
//
//   ferryctl [--socket=PATH | --target=URI] [--output=table|json] COMMAND
//   (over TCP: --target=host:port --tls_ca=CA.pem [--tls_cert --tls_key])
//
//   nic list              every attached NIC
//   nic get NAME          one NIC, with its engines' counters
//   nic attach --device=SPEC --ip=A.B.C.D/LEN [--gateway --mac --mtu
//              --engines --cores --polling]
//   nic detach NAME
//   stats                 a snapshot of every counter
//   stats --watch_ms=N    a snapshot every N ms (--count=K times; 0: forever)
//   health                the server's standard health status
//
// Exit status: 0 success; 1 the call failed (the line says the gRPC code and
// ferryd's message); 2 bad usage.
#include <cstdio>
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
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, socket, "/run/ferry/ferryd.sock",
          "ferryd's gRPC Unix socket ('@name': abstract)");
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

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Operate ferryd through its gRPC API.\n"
      "  ferryctl [flags] nic list | nic get NAME | nic attach --device=SPEC "
      "--ip=A.B.C.D/LEN | nic detach NAME | stats | health");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  args.erase(args.begin());
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "table" && output != "json") {
    return Usage(
        absl::StrFormat("--output: '%s' is not table or json", output));
  }
  const bool json = output == "json";
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    const std::string socket = absl::GetFlag(FLAGS_socket);
    target = socket[0] == '@' ? "unix-abstract:" + socket.substr(1)
                              : "unix:" + socket;
  }
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
  auto channel = grpc::CreateChannel(target, credentials);
  const std::vector<std::string> words(args.begin(), args.end());
  const std::string command = absl::StrJoin(words, " ");

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
