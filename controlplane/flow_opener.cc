#include "controlplane/flow_opener.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "dataplane/engine/command.h"
#include "dataplane/engine/flow_ctrl_args.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {
namespace {

// Listen and stop are answered at once; only a connect waits on the wire.
constexpr absl::Duration kEngineTimeout = absl::Seconds(2);

using engine::ReadArgs;

ferry_ctrl Request(uint16_t op, const ferry_ctrl_flow_args& args) {
  ferry_ctrl request = {};
  request.op = op;
  engine::WriteArgs(args, &request);
  return request;
}

std::string Address(uint32_t ip, uint32_t port) {
  return absl::StrFormat("%s:%d", net::Ipv4Address{ip}.ToString(), port);
}

absl::Status PortOutOfRange(const char* field, uint32_t port) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %d is not a UDP port (1..65535)", field, port));
}

}  // namespace

engine::EngineCommand FlowOpener::CtrlCommand(const SessionChannel& where,
                                              const ferry_ctrl& request,
                                              engine::Completion* completion) {
  engine::EngineCommand command;
  command.type = engine::CommandType::kChannelCtrl;
  command.channel_id = where.channel_id;
  command.ctrl = request;
  command.completion = completion;
  return command;
}

absl::StatusOr<ferry_ctrl> FlowOpener::Run(const SessionChannel& where,
                                           const ferry_ctrl& request,
                                           absl::Duration timeout) {
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<engine::CtrlCompletion>();
  absl::Status s =
      nics_->Run(where.where, CtrlCommand(where, request, completion.get()),
                 completion, timeout);
  if (absl::IsNotFound(s))
    return absl::UnavailableError("the channel's NIC is gone");
  if (!s.ok()) return s;
  return static_cast<engine::CtrlCompletion*>(completion.get())->reply;
}

absl::StatusOr<FlowOpener::PortReply> FlowOpener::PortCall(
    uint16_t op, uint64_t session, const std::string& token, uint64_t channel,
    uint32_t port, uint16_t* reason) {
  *reason = 0;
  if (port == 0 || port > 65535) return PortOutOfRange("port", port);
  absl::StatusOr<SessionChannel> where =
      sessions_->FindChannel(session, token, channel);
  if (!where.ok()) return where.status();
  ferry_ctrl_flow_args args = {};
  args.local_port = static_cast<uint16_t>(port);
  absl::StatusOr<ferry_ctrl> reply =
      Run(*where, Request(op, args), kEngineTimeout);
  if (!reply.ok()) return reply.status();
  *reason = reply->status;
  return PortReply{where->where.nic, *reply};
}

absl::StatusOr<uint32_t> FlowOpener::Listen(uint64_t session,
                                            const std::string& token,
                                            uint64_t channel, uint32_t port,
                                            uint16_t* reason) {
  absl::StatusOr<PortReply> r =
      PortCall(FERRY_CTRL_LISTEN, session, token, channel, port, reason);
  if (!r.ok()) return r.status();
  switch (r->reply.status) {
    case FERRY_STATUS_OK:
      return ReadArgs(r->reply).local_ip;
    case FERRY_STATUS_ADDRESS_IN_USE:
      return absl::AlreadyExistsError(absl::StrFormat(
          "port %d: another channel listens there on %s", port, r->nic));
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "listen on port %d refused (status %d)", port, r->reply.status));
  }
}

absl::Status FlowOpener::StopListening(uint64_t session,
                                       const std::string& token,
                                       uint64_t channel, uint32_t port,
                                       uint16_t* reason) {
  absl::StatusOr<PortReply> r =
      PortCall(FERRY_CTRL_UNLISTEN, session, token, channel, port, reason);
  if (!r.ok()) return r.status();
  if (r->reply.status != FERRY_STATUS_OK) {
    return absl::NotFoundError(absl::StrFormat(
        "channel %d does not listen on port %d", channel, port));
  }
  return absl::OkStatus();
}

void FlowOpener::Connect(const ConnectTarget& target, absl::Duration timeout,
                         const std::atomic<bool>* cancel, Connected done) {
  absl::StatusOr<SessionChannel> where = CheckTarget(target, timeout);
  if (!where.ok()) {
    done(where.status(), 0);
    return;
  }
  ferry_ctrl_flow_args args = {};
  args.remote_ip = target.remote_ip;
  args.remote_port = static_cast<uint16_t>(target.remote_port);
  args.local_port = static_cast<uint16_t>(target.local_port);
  auto completion = std::make_unique<engine::CtrlCompletion>();
  const absl::Time start = absl::Now();
  const engine::EngineCommand command =
      CtrlCommand(*where, Request(FERRY_CTRL_CONNECT, args), completion.get());
  CompletionWaiter::Post post = [nics = nics_, at = where->where, command] {
    absl::Status s = nics->Post(at, command, command.completion);
    return absl::IsNotFound(s)
               ? absl::UnavailableError("the channel's NIC is gone")
               : s;
  };
  absl::Status posted = post();
  if (!posted.ok() && !absl::IsResourceExhausted(posted)) {
    done(posted, 0);
    return;
  }
  // A full command ring (a burst of Connects) is retried by the waiter.
  if (posted.ok()) post = nullptr;
  waiter_->PostAndWait(
      std::move(post), std::move(completion), start + timeout, cancel,
      [target, timeout, start, nic = where->where.nic, done = std::move(done)](
          std::unique_ptr<engine::Completion> completion, absl::Status status) {
        if (completion == nullptr) {
          if (absl::IsDeadlineExceeded(status)) {
            done(absl::DeadlineExceededError(absl::StrFormat(
                     "no handshake with %s within %s",
                     Address(target.remote_ip, target.remote_port),
                     absl::FormatDuration(timeout))),
                 FERRY_STATUS_TIMED_OUT);
          } else {
            done(status, 0);
          }
          return;
        }
        if (!status.ok()) {
          done(status, 0);
          return;
        }
        const ferry_ctrl& reply =
            static_cast<engine::CtrlCompletion*>(completion.get())->reply;
        done(Answer(target, nic, reply, absl::Now() - start), reply.status);
      });
}

void FlowOpener::Reset(const OpenedFlow& flow, uint64_t channel) {
  engine::EngineCommand command;
  command.type = engine::CommandType::kCloseFlow;
  command.flow_id = flow.flow;
  command.abort = true;
  command.channel_id = channel;
  auto completion = std::make_unique<engine::Completion>();
  const EngineRef where{flow.nic, (flow.flow >> 16) & 0xf};
  if (!nics_->Post(where, command, completion.get()).ok()) return;
  waiter_->Wait(std::move(completion), absl::Now() + kEngineTimeout, nullptr,
                [](std::unique_ptr<engine::Completion>, absl::Status) {});
}

absl::StatusOr<SessionChannel> FlowOpener::CheckTarget(const ConnectTarget& t,
                                                       absl::Duration timeout) {
  if (t.remote_port == 0 || t.remote_port > 65535) {
    return PortOutOfRange("remote_port", t.remote_port);
  }
  if (t.local_port > 65535) return PortOutOfRange("local_port", t.local_port);
  const uint32_t remote_ip = t.remote_ip;
  const net::Ipv4Address remote{remote_ip};
  // 0/8 (this network), 127/8 (loopback), 224/4 (multicast) and 240/4
  // (reserved, and the limited broadcast) can never be a peer.
  const uint32_t first_octet = remote_ip >> 24;
  if (first_octet == 0 || first_octet == 127 || first_octet >= 224) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "remote_ip: %s is not a unicast address", remote.ToString()));
  }
  if (timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("the call's deadline has passed");
  }
  absl::StatusOr<SessionChannel> where =
      sessions_->FindChannel(t.session, t.token, t.channel);
  if (!where.ok()) return where.status();
  // Nor can the NIC's own address, or its subnet's network and broadcast
  // addresses.
  absl::Status target = absl::OkStatus();
  if (absl::StatusOr<net::Ipv4Prefix> own = nics_->NicAddress(where->where.nic);
      own.ok()) {
    const uint32_t host = remote_ip & ~own->Mask();
    const bool on_subnet =
        (remote_ip & own->Mask()) == (own->address.value & own->Mask());
    if (remote_ip == own->address.value) {
      target = absl::InvalidArgumentError(absl::StrFormat(
          "remote_ip: %s is this NIC's own address", remote.ToString()));
    } else if (on_subnet && own->length < 31 &&
               (host == 0 || host == ~own->Mask())) {
      target = absl::InvalidArgumentError(absl::StrFormat(
          "remote_ip: %s is the network or broadcast address of %s",
          remote.ToString(), own->ToString()));
    }
  }
  if (!target.ok()) return target;
  return where;
}

absl::StatusOr<OpenedFlow> FlowOpener::Answer(const ConnectTarget& t,
                                              const std::string& nic,
                                              const ferry_ctrl& reply,
                                              absl::Duration engine_time) {
  const std::string peer = Address(t.remote_ip, t.remote_port);
  const ferry_ctrl_flow_args out = ReadArgs(reply);
  switch (reply.status) {
    case FERRY_STATUS_OK:
      return OpenedFlow{out.flow,       nic,         out.local_ip,
                        out.local_port, t.remote_ip, out.remote_port,
                        engine_time};
    case FERRY_STATUS_REFUSED:
      return absl::UnavailableError(
          absl::StrFormat("connection refused: nobody listens on %s", peer));
    case FERRY_STATUS_UNREACHABLE:
      return absl::UnavailableError(absl::StrFormat(
          "%s is unreachable: its next hop never answered ARP", peer));
    case FERRY_STATUS_TIMED_OUT:
      return absl::DeadlineExceededError(
          absl::StrFormat("%s did not answer the handshake", peer));
    case FERRY_STATUS_LIMIT:
      return absl::ResourceExhaustedError(absl::StrFormat(
          "channel %d may open no more flows (its quota "
          "--max_flows_per_channel, its session's --max_flows_per_session "
          "on this engine, or the engine's table, --max_flows_per_engine, "
          "is full)",
          t.channel));
    case FERRY_STATUS_BAD_REQUEST:
      return absl::InvalidArgumentError(absl::StrFormat(
          "cannot connect to %s (this host's own address?)", peer));
    case FERRY_STATUS_ABORTED:
      return absl::AbortedError("the channel went away during the handshake");
    default:
      return absl::UnavailableError(absl::StrFormat(
          "the handshake with %s failed (status %d)", peer, reply.status));
  }
}

}  // namespace ferry::controlplane
