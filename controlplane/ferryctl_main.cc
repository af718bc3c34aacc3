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
//              --engines --cores --polling --encryption --key_rotation_ms]
//   nic detach NAME
//   nic faults NAME [--drop --duplicate --delay --delay_us --corrupt
//              --reorder]   fault injection on its transmit path (none: off)
//   node                  this ferryd's node key and trusted peers
//   node trust KEY [--name=N]
//                         trust a peer's node key (until ferryd stops)
//   node distrust KEY     stop trusting it (its flows already up go on)
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
//   config check FILE     checks a ferryd configuration (a flag file such as
//                         /etc/ferry/ferryd.conf) without starting anything
//
// Exit status: 0 success; 1 the call failed (the line says the gRPC code and
// ferryd's message); 2 bad usage.
//
// This file defines the flags, picks the socket and dispatches through the
// command table below; the commands live in controlplane/ferryctl_commands/,
// one file per group.
#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/session_client.h"
#include "controlplane/api/admin_socket.h"
#include "controlplane/ferryctl_commands/config_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "grpcpp/grpcpp.h"

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
ABSL_FLAG(std::string, encryption, "",
          "nic attach: off, preferred or required (default: ferryd's)");
ABSL_FLAG(int, key_rotation_ms, 0,
          "nic attach: encrypted flows' key epoch length (0: 60000)");
ABSL_FLAG(std::string, name, "", "node trust: the peer's name, for listings");
ABSL_FLAG(double, drop, 0, "nic faults: probability a frame is dropped");
ABSL_FLAG(double, duplicate, 0, "nic faults: ... sent twice");
ABSL_FLAG(double, delay, 0, "nic faults: ... held back --delay_us");
ABSL_FLAG(int, delay_us, 100, "nic faults: how long --delay holds a frame");
ABSL_FLAG(double, corrupt, 0, "nic faults: ... one bit flipped");
ABSL_FLAG(double, reorder, 0, "nic faults: ... sent after later frames");
ABSL_FLAG(std::string, nic, "", "flow: the NIC (DPDK port name)");
ABSL_FLAG(std::string, state, "",
          "flow list: connecting, established or closing");
ABSL_FLAG(std::string, remote_ip, "", "flow list: only flows to this peer");
ABSL_FLAG(int, page_size, 0, "flow list: flows per call (0: ferryd's 100)");
ABSL_FLAG(bool, reset, false, "flow close: reset instead of closing");
ABSL_FLAG(std::string, message, "hello from ferryctl",
          "connect: what to send in each round trip");
ABSL_FLAG(int, duration_ms, 0, "listen: stop after this long (0: never)");

namespace ferry::ferryctl {
namespace {

// Which socket a command goes to (with --as=auto); kLocal: none.
enum class Surface { kAdmin, kApplication, kLocal };

struct Command {
  const char* words;  // "nic get": the command's own words
  int args;           // positional arguments after them
  Surface surface;
  int (*run)(const Ctl& ctl, const Args& args);
};

const Command kCommands[] = {
    {"nic list", 0, Surface::kAdmin, NicList},
    {"nic get", 1, Surface::kAdmin, NicGet},
    {"nic attach", 0, Surface::kAdmin, NicAttach},
    {"nic detach", 1, Surface::kAdmin, NicDetach},
    {"nic faults", 1, Surface::kAdmin, NicFaults},
    {"node", 0, Surface::kAdmin, NodeGet},
    {"node trust", 1, Surface::kAdmin, NodeTrust},
    {"node distrust", 1, Surface::kAdmin, NodeDistrust},
    {"routes", 0, Surface::kAdmin, RouteList},
    {"route", 1, Surface::kAdmin, RouteGet},
    {"flow list", 0, Surface::kAdmin, FlowList},
    {"flow get", 1, Surface::kAdmin, FlowGet},
    {"flow close", 1, Surface::kAdmin, FlowClose},
    {"stats", 0, Surface::kAdmin, Stats},
    {"session list", 0, Surface::kAdmin, SessionList},
    {"health", 0, Surface::kApplication, Health},
    {"connect", 1, Surface::kApplication, Connect},
    {"listen", 1, Surface::kApplication, Listen},
    {"config check", 1, Surface::kLocal, ConfigCheck},
};

// The command the words name, with its arguments; null when none does.
const Command* Find(const std::vector<std::string>& words, Args* args) {
  for (const Command& command : kCommands) {
    const std::vector<std::string> own = absl::StrSplit(command.words, ' ');
    if (words.size() != own.size() + static_cast<size_t>(command.args) ||
        !std::equal(own.begin(), own.end(), words.begin())) {
      continue;
    }
    args->assign(words.begin() + static_cast<long>(own.size()), words.end());
    return &command;
  }
  return nullptr;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Operate ferryd through its gRPC API.\n"
      "  ferryctl [flags] nic list | nic get NAME | nic attach --device=SPEC "
      "--ip=A.B.C.D/LEN | nic detach NAME | nic faults NAME [--drop ...] | "
      "node | node trust KEY [--name=N] | node distrust KEY | "
      "routes | route A.B.C.D | flow list | flow get ID "
      "--nic=NAME | flow close ID --nic=NAME [--reset] | stats | health | "
      "session list | connect IP:PORT [--message --count] | listen PORT "
      "[--count --duration_ms] | config check FILE");
  std::vector<char*> argv_left = absl::ParseCommandLine(argc, argv);
  const std::vector<std::string> words(argv_left.begin() + 1, argv_left.end());
  Ctl ctl;
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "table" && output != "json") {
    return Usage(
        absl::StrFormat("--output: '%s' is not table or json", output));
  }
  ctl.json = output == "json";
  const std::string as = absl::GetFlag(FLAGS_as);
  if (as != "auto" && as != "admin" && as != "application") {
    return Usage(
        absl::StrFormat("--as: '%s' is not auto, admin or application", as));
  }
  Args args;
  const Command* command = Find(words, &args);
  if (command == nullptr) {
    const std::string text = absl::StrJoin(words, " ");
    return Usage(text.empty() ? "no command"
                              : absl::StrFormat("unknown command '%s'", text));
  }
  if (command->surface == Surface::kLocal) return command->run(ctl, args);
  std::string admin_socket = absl::GetFlag(FLAGS_admin_socket);
  if (admin_socket.empty()) {
    admin_socket =
        controlplane::DefaultAdminSocket(absl::GetFlag(FLAGS_socket));
  }
  const bool admin =
      as == "admin" || (as == "auto" && command->surface == Surface::kAdmin);
  ctl.app_socket = as == "admin" ? admin_socket : absl::GetFlag(FLAGS_socket);
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    target = client::GrpcTargetForSocket(admin ? admin_socket
                                               : absl::GetFlag(FLAGS_socket));
  } else if (command->run == Connect || command->run == Listen) {
    return Usage(std::string(command->words) +
                 " needs ferryd's Unix socket (--socket): a channel is "
                 "shared memory on ferryd's host");
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
  ctl.channel = grpc::CreateChannel(target, credentials);
  return command->run(ctl, args);
}

}  // namespace
}  // namespace ferry::ferryctl

int main(int argc, char** argv) { return ferry::ferryctl::Main(argc, argv); }
