#include "controlplane/flow_opener.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "client/abi/ferry_status_text.h"
#include "controlplane/flow_status.h"
#include "dataplane/engine/command.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {
namespace {

using engine::FlowOp;
using engine::FlowOpCompletion;
using engine::FlowOpKind;
using engine::FlowOpResult;

std::string Address(uint32_t ip, uint32_t port) {
  return absl::StrFormat("%s:%d", net::Ipv4Address{ip}.ToString(), port);
}

absl::Status PortOutOfRange(const char* field, uint32_t port) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %d is not a UDP port (1..65535)", field, port));
}

}  // namespace

engine::EngineCommand FlowOpener::FlowOpCommand(
    const SessionChannel& where, const FlowOp& op,
    engine::Completion* completion) {
  engine::EngineCommand command;
  command.type = engine::CommandType::kFlowOp;
  command.channel_id = where.channel_id;
  command.flow_op = op;
  command.completion = completion;
  return command;
}

absl::StatusOr<FlowOpResult> FlowOpener::PortOp(
    FlowOpKind kind, uint64_t session, const std::string& token,
    uint64_t channel, uint32_t port, net::Ipv4Address local, std::string* nic) {
  if (port == 0 || port > 65535) return PortOutOfRange("port", port);
  absl::StatusOr<SessionChannel> where =
      sessions_->FindChannel(session, token, channel);
  if (!where.ok()) return where.status();
  *nic = where->where.nic;
  FlowOp op;
  op.kind = kind;
  op.local_port = static_cast<uint16_t>(port);
  op.local_ip = local;
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<FlowOpCompletion>();
  absl::Status s =
      nics_->Run(where->where, FlowOpCommand(*where, op, completion.get()),
                 completion, kEngineTimeout);
  if (absl::IsNotFound(s))
    return absl::UnavailableError("the channel's NIC is gone");
  if (!s.ok()) return s;
  return static_cast<FlowOpCompletion*>(completion.get())->result;
}

absl::StatusOr<net::Ipv4Address> FlowOpener::Listen(uint64_t session,
                                                    const std::string& token,
                                                    uint64_t channel,
                                                    uint32_t port,
                                                    net::Ipv4Address local) {
  std::string nic;
  absl::StatusOr<FlowOpResult> r =
      PortOp(FlowOpKind::kListen, session, token, channel, port, local, &nic);
  if (!r.ok()) return r.status();
  switch (r->status) {
    case FERRY_STATUS_OK:
      return r->local_ip;
    case FERRY_STATUS_ADDRESS_IN_USE:
      return WithFerryStatus(
          absl::AlreadyExistsError(absl::StrFormat(
              "port %d: another channel listens there on %s", port, nic)),
          r->status);
    case FERRY_STATUS_NO_ADDRESS:
      return WithFerryStatus(
          absl::InvalidArgumentError(absl::StrFormat(
              "no NIC of ferryd has the address %s", local.ToString())),
          r->status);
    default:
      return WithFerryStatus(absl::InvalidArgumentError(absl::StrFormat(
                                 "listen on port %d refused (%s)", port,
                                 ferry_status_text(r->status))),
                             r->status);
  }
}

absl::Status FlowOpener::StopListening(uint64_t session,
                                       const std::string& token,
                                       uint64_t channel, uint32_t port) {
  std::string nic;
  absl::StatusOr<FlowOpResult> r =
      PortOp(FlowOpKind::kUnlisten, session, token, channel, port, {}, &nic);
  if (!r.ok()) return r.status();
  if (r->status != FERRY_STATUS_OK) {
    return WithFerryStatus(
        absl::NotFoundError(absl::StrFormat(
            "channel %d does not listen on port %d", channel, port)),
        r->status);
  }
  return absl::OkStatus();
}

void FlowOpener::Connect(const ConnectTarget& target, absl::Duration timeout,
                         const std::atomic<bool>* cancel, Connected done) {
  absl::StatusOr<SessionChannel> where = CheckTarget(target, timeout);
  if (!where.ok()) {
    done(where.status());
    return;
  }
  FlowOp op;
  op.kind = FlowOpKind::kConnect;
  op.remote_ip = net::Ipv4Address{target.remote_ip};
  op.remote_port = static_cast<uint16_t>(target.remote_port);
  op.local_port = static_cast<uint16_t>(target.local_port);
  op.local_ip = net::Ipv4Address{target.local_ip};
  auto completion = std::make_unique<FlowOpCompletion>();
  const absl::Time start = absl::Now();
  const engine::EngineCommand command =
      FlowOpCommand(*where, op, completion.get());
  CompletionWaiter::Post post = [nics = nics_, at = where->where, command] {
    absl::Status s = nics->Post(at, command, command.completion);
    return absl::IsNotFound(s)
               ? absl::UnavailableError("the channel's NIC is gone")
               : s;
  };
  absl::Status posted = post();
  if (!posted.ok() && !absl::IsResourceExhausted(posted)) {
    done(posted);
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
            done(WithFerryStatus(
                absl::DeadlineExceededError(absl::StrFormat(
                    "no handshake with %s within %s",
                    Address(target.remote_ip, target.remote_port),
                    absl::FormatDuration(timeout))),
                FERRY_STATUS_TIMED_OUT));
          } else {
            done(status);
          }
          return;
        }
        if (!status.ok()) {
          done(status);
          return;
        }
        const FlowOpResult& result =
            static_cast<FlowOpCompletion*>(completion.get())->result;
        done(Answer(target, nic, result, absl::Now() - start));
      });
}

void FlowOpener::Reset(const OpenedFlow& flow, uint64_t channel) {
  engine::EngineCommand command;
  command.type = engine::CommandType::kFlowOp;
  command.flow_op.kind = FlowOpKind::kReset;
  command.flow_op.flow = flow.flow;
  command.channel_id = channel;
  auto completion = std::make_unique<FlowOpCompletion>();
  absl::StatusOr<NicSummary> nic = nics_->FindNic(flow.nic);
  if (!nic.ok()) return;
  const int engine =
      nic->EngineOfGroupIndex(static_cast<int>((flow.flow >> 16) & 0xf));
  if (engine < 0) return;
  const EngineRef where{flow.nic, static_cast<size_t>(engine)};
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
  // Nor can a NIC's own address, or its subnet's network and broadcast
  // addresses (any NIC's: a flow may leave through any).
  absl::Status target = absl::OkStatus();
  for (const NicSummary& nic : nics_->Nics()) {
    if (!target.ok()) break;
    const net::Ipv4Prefix* own = &nic.address;
    const uint32_t host = remote_ip & ~own->Mask();
    const bool on_subnet =
        (remote_ip & own->Mask()) == (own->address.value & own->Mask());
    if (remote_ip == own->address.value) {
      target = absl::InvalidArgumentError(
          absl::StrFormat("remote_ip: %s is the address of this host's NIC %s",
                          remote.ToString(), nic.name));
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
                                              const FlowOpResult& r,
                                              absl::Duration engine_time) {
  if (r.status == FERRY_STATUS_OK) {
    return OpenedFlow{r.flow,       nic,         r.local_ip.value,
                      r.local_port, t.remote_ip, r.remote_port,
                      engine_time};
  }
  return WithFerryStatus(ConnectFailure(t, r.status), r.status);
}

absl::Status FlowOpener::ConnectFailure(const ConnectTarget& t,
                                        ferry_status status) {
  const std::string peer = Address(t.remote_ip, t.remote_port);
  switch (status) {
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
    case FERRY_STATUS_UNTRUSTED:
      return absl::UnauthenticatedError(absl::StrFormat(
          "%s and this host do not trust each other's node key (add it to "
          "the trust list: docs/SECURITY.md)",
          peer));
    case FERRY_STATUS_ENCRYPTION_REQUIRED:
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s and this host disagree on encryption: one requires it, the "
          "other has it off (--encryption)",
          peer));
    case FERRY_STATUS_NO_ADDRESS:
      return absl::InvalidArgumentError(
          absl::StrFormat("no NIC of ferryd has the local address %s",
                          net::Ipv4Address{t.local_ip}.ToString()));
    default:
      return absl::UnavailableError(
          absl::StrFormat("the handshake with %s failed (%s)", peer,
                          ferry_status_text(status)));
  }
}

}  // namespace ferry::controlplane
