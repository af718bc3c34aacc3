#include "controlplane/ferryctl_commands/app_commands.h"

#include <arpa/inet.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/ferry.h"
#include "client/session_client.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "grpcpp/grpcpp.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace ferry::ferryctl {
namespace {

int Failed(const std::string& what, int rc, const std::string& detail) {
  std::fprintf(stderr, "ferryctl: error: %s: %s%s%s\n", what.c_str(),
               strerror(-rc), detail.empty() ? "" : ": ", detail.c_str());
  return kExitFailed;
}

double MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now() - start)
      .count();
}

// An IPv4 address from the API (host byte order) as people write it.
std::string Dotted(uint32_t ip) {
  return absl::StrFormat("%d.%d.%d.%d", ip >> 24, (ip >> 16) & 0xff,
                         (ip >> 8) & 0xff, ip & 0xff);
}

bool ParsePort(const std::string& text, uint16_t* port) {
  uint32_t value;
  if (!absl::SimpleAtoi(text, &value) || value == 0 || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

// A session and one channel in it, detached and closed on scope exit.
class App {
 public:
  ~App() {
    ferry_detach(channel_);
    ferry_session_close(session_);
  }
  int Open(const std::string& socket) {
    int rc = ferry_session_open(socket.c_str(), &session_);
    if (rc != 0) return rc;
    return ferry_session_attach(session_, nullptr, &channel_);
  }
  ferry_channel* channel() { return channel_; }
  client::SessionClient* session() { return client::SessionOf(session_); }
  uint64_t session_id() const { return ferry_session_id(session_); }

 private:
  ferry_session* session_ = nullptr;
  ferry_channel* channel_ = nullptr;
};

// How long one bare API call (a health check) takes on a warm connection:
// the floor under any RPC, to compare Connect's overhead with.
double BareCallMicros(const std::string& socket) {
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      client::GrpcTargetForSocket(socket), grpc::InsecureChannelCredentials()));
  double best = -1;
  for (int i = 0; i < 5; ++i) {  // the first pays for the connection
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    const auto start = std::chrono::steady_clock::now();
    if (!health->Check(&context, {}, &response).ok()) return -1;
    const double us = MicrosSince(start);
    if (i > 0 && (best < 0 || us < best)) best = us;
  }
  return best;
}

}  // namespace

int ConnectCommand(const std::string& address, const AppCommandOptions& o) {
  const std::vector<std::string> parts = absl::StrSplit(address, ':');
  in_addr ip;
  uint16_t port = 0;
  if (parts.size() != 2 || inet_pton(AF_INET, parts[0].c_str(), &ip) != 1 ||
      !ParsePort(parts[1], &port)) {
    return Usage(absl::StrFormat("connect: '%s' is not IPv4:PORT", address));
  }
  if (o.count < 0 || o.message.size() > FERRY_MAX_MESSAGE_SIZE) {
    return Usage("connect: --count >= 0, --message at most 8 MiB");
  }
  App app;
  if (const int rc = app.Open(o.socket); rc != 0) {
    return Failed("opening a session with ferryd at " + o.socket, rc, "");
  }
  v1::ConnectResponse flow;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  int rc = app.session()->Connect(ferry_channel_id(app.channel()), 0,
                                  ntohl(ip.s_addr), port, 0, o.timeout_ms,
                                  &flow, &error);
  const double connect_us = MicrosSince(start);
  if (rc != 0) return Failed("connect to " + address, rc, error);
  const double bare_us = BareCallMicros(o.socket);
  if (!o.json) {
    std::printf(
        "connected flow %lu on %s: %s:%u -> %s:%u in %.1f us (engine %.1f us, "
        "ferryd %.1f us, control plane %.1f us; a bare API call takes %.1f "
        "us)\n",
        static_cast<unsigned long>(flow.flow()), flow.nic().c_str(),
        Dotted(flow.local_ipv4()).c_str(), flow.local_port(),
        Dotted(flow.remote_ipv4()).c_str(), flow.remote_port(), connect_us,
        flow.engine_us(), flow.ferryd_us(), connect_us - flow.engine_us(),
        bare_us);
  }
  std::vector<char> reply(FERRY_MAX_MESSAGE_SIZE);
  int replies = 0;
  double round_trip_us = 0;
  for (int i = 0; i < o.count; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    rc = ferry_send(app.channel(), flow.flow(), o.message.data(),
                    o.message.size());
    if (rc != 0) return Failed("send", rc, "");
    ferry_recv_info info;
    const ssize_t n = ferry_recv_wait(app.channel(), reply.data(), reply.size(),
                                      &info, o.timeout_ms);
    if (n < 0) return Failed("waiting for a reply", static_cast<int>(n), "");
    if (info.flags & FERRY_RECV_EVENT_MASK) {
      return Failed("waiting for a reply", -ECONNRESET,
                    absl::StrFormat("the flow ended: %s",
                                    ferry_status_name(info.status)));
    }
    round_trip_us = MicrosSince(sent);
    ++replies;
    if (!o.json) {
      std::printf("reply %d: %zd bytes in %.1f us: %.*s\n", replies, n,
                  round_trip_us, static_cast<int>(std::min<ssize_t>(n, 64)),
                  reply.data());
    }
  }
  ferry_close(app.channel(), flow.flow(), o.timeout_ms);
  if (o.json) {
    std::printf(
        "{\n  \"flow\": %lu,\n  \"nic\": \"%s\",\n  \"local\": \"%s:%u\",\n"
        "  \"remote\": \"%s:%u\",\n  \"connect_us\": %.1f,\n"
        "  \"engine_us\": %.1f,\n  \"ferryd_us\": %.1f,\n"
        "  \"bare_call_us\": %.1f,\n"
        "  \"replies\": %d,\n"
        "  \"last_round_trip_us\": %.1f\n}\n",
        static_cast<unsigned long>(flow.flow()), flow.nic().c_str(),
        Dotted(flow.local_ipv4()).c_str(), flow.local_port(),
        Dotted(flow.remote_ipv4()).c_str(), flow.remote_port(), connect_us,
        flow.engine_us(), flow.ferryd_us(), bare_us, replies, round_trip_us);
  }
  return 0;
}

namespace {

// ferryctl listen's loop: echoes every message on the flows it accepted,
// and reports each event as a line (with --json, one object per line, for
// scripts to follow).
class EchoLoop {
 public:
  EchoLoop(App& app, const AppCommandOptions& o)
      : app_(app), o_(o), message_(FERRY_MAX_MESSAGE_SIZE) {}

  void Event(const std::string& table, const std::string& json) const {
    std::printf("%s\n", o_.json ? json.c_str() : table.c_str());
    std::fflush(stdout);
  }

  // Until --count echoes (and then their flows closed), --duration_ms, or
  // SIGINT/SIGTERM; 0, or the exit status of a failed receive.
  int Run() {
    // SIGINT/SIGTERM end the wait: the session is closed in order then.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    start_ = std::chrono::steady_clock::now();
    while (!Finished()) {
      ferry_recv_info info;
      const ssize_t n = ferry_recv_wait(app_.channel(), message_.data(),
                                        message_.size(), &info, 100);
      if (n == -ETIMEDOUT) continue;
      if (n < 0) return Failed("receive", static_cast<int>(n), "");
      OnReceived(info, n);
    }
    return 0;
  }

  int echoed() const { return echoed_; }

 private:
  bool Finished() {
    if (o_.count != 0 && echoed_ >= o_.count) {
      // After the last echo, flows still open are given --timeout_ms to
      // close: leaving at once would reset them, and an echo on its way.
      if (done_at_us_ < 0) done_at_us_ = MicrosSince(start_);
      if (open_flows_ <= 0 ||
          MicrosSince(start_) - done_at_us_ > o_.timeout_ms * 1000.0) {
        return true;
      }
    }
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
      return true;
    }
    return o_.duration_ms > 0 && MicrosSince(start_) > o_.duration_ms * 1000.0;
  }

  void OnReceived(const ferry_recv_info& info, ssize_t n) {
    const std::string peer =
        absl::StrFormat("%s:%u", Dotted(FERRY_COOKIE_REMOTE_IP(info.cookie)),
                        FERRY_COOKIE_REMOTE_PORT(info.cookie));
    if (info.flags & FERRY_RECV_FLOW_ACCEPTED) {
      ++open_flows_;
      Event(absl::StrFormat("accepted flow %u from %s", info.flow, peer),
            absl::StrFormat("{\"event\": \"accepted\", \"flow\": %u, "
                            "\"peer\": \"%s\"}",
                            info.flow, peer));
    } else if (info.flags & FERRY_RECV_FLOW_CLOSED) {
      --open_flows_;
      const char* why = ferry_status_name(info.status);
      Event(absl::StrFormat("flow %u ended: %s", info.flow, why),
            absl::StrFormat("{\"event\": \"ended\", \"flow\": %u, "
                            "\"reason\": \"%s\"}",
                            info.flow, why));
    } else if ((info.flags & FERRY_RECV_EVENT_MASK) == 0) {
      const bool sent = ferry_send(app_.channel(), info.flow, message_.data(),
                                   static_cast<size_t>(n)) == 0;
      ++echoed_;
      Event(absl::StrFormat("echoed %d bytes on flow %u%s", n, info.flow,
                            sent ? "" : " (send failed)"),
            absl::StrFormat("{\"event\": \"echoed\", \"flow\": %u, "
                            "\"bytes\": %d, \"sent\": %s}",
                            info.flow, n, sent ? "true" : "false"));
    }
  }

  App& app_;
  const AppCommandOptions& o_;
  std::vector<char> message_;
  std::chrono::steady_clock::time_point start_;
  int echoed_ = 0;
  int open_flows_ = 0;
  double done_at_us_ = -1;
};

}  // namespace

int ListenCommand(const std::string& port_text, const AppCommandOptions& o) {
  uint16_t port = 0;
  if (!ParsePort(port_text, &port)) {
    return Usage(absl::StrFormat("listen: '%s' is not a port", port_text));
  }
  if (o.count < 0 || o.duration_ms < 0) {
    return Usage("listen: --count and --duration_ms must be >= 0");
  }
  App app;
  if (const int rc = app.Open(o.socket); rc != 0) {
    return Failed("opening a session with ferryd at " + o.socket, rc, "");
  }
  if (const int rc = ferry_listen(app.channel(), port, o.timeout_ms); rc != 0) {
    return Failed(absl::StrFormat("listen on port %d", port), rc, "");
  }
  EchoLoop loop(app, o);
  const uint64_t channel = ferry_channel_id(app.channel());
  loop.Event(absl::StrFormat("listening on port %u (session %u, channel %u)",
                             port, app.session_id(), channel),
             absl::StrFormat("{\"event\": \"listening\", \"port\": %u, "
                             "\"session\": %u, \"channel\": %u}",
                             port, app.session_id(), channel));
  int rc = loop.Run();
  std::string error;
  ferry_ctrl_flow_args args = {};
  args.local_port = port;
  ferry_ctrl_flow_args out;
  if (const int stop = app.session()->FlowCall(
          channel, FERRY_CTRL_UNLISTEN, args, o.timeout_ms, &out, &error);
      stop != 0 && rc == 0) {
    rc = Failed("stop listening", stop, error);
  }
  loop.Event(
      absl::StrFormat("stopped listening: %d message(s) echoed", loop.echoed()),
      absl::StrFormat("{\"event\": \"stopped\", \"echoed\": %d}",
                      loop.echoed()));
  return rc;
}

namespace {

AppCommandOptions OptionsFromFlags(const Ctl& ctl) {
  AppCommandOptions o;
  o.socket = ctl.app_socket;
  o.json = ctl.json;
  o.timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  o.message = absl::GetFlag(FLAGS_message);
  o.count = absl::GetFlag(FLAGS_count);
  o.duration_ms = absl::GetFlag(FLAGS_duration_ms);
  return o;
}

}  // namespace

int Connect(const Ctl& ctl, const Args& args) {
  AppCommandOptions o = OptionsFromFlags(ctl);
  // --count=0 (the flag's default, for stats) is one round trip; an empty
  // --message only connects.
  if (o.count == 0) o.count = 1;
  if (o.message.empty()) o.count = 0;
  return ConnectCommand(args[0], o);
}

int Listen(const Ctl& ctl, const Args& args) {
  return ListenCommand(args[0], OptionsFromFlags(ctl));
}

}  // namespace ferry::ferryctl
