#include "controlplane/api/flow_service.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "controlplane/api/status_convert.h"
#include "controlplane/flow_status.h"
#include "controlplane/node_identity.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {
namespace {

void ToProto(const FlowRecord& r, v1::Flow* out) {
  const engine::FlowInfo& f = r.info;
  out->set_nic(r.nic);
  out->set_id(f.id);
  out->set_engine(static_cast<uint32_t>(r.engine));
  out->set_channel(f.channel_id);
  out->set_accepted(f.accepted);
  out->set_local_ip(net::Ipv4Address{r.local_ip}.ToString());
  out->set_via_nic(r.via_nic);
  out->set_local_port(f.local_port);
  out->set_remote_ip(net::Ipv4Address{f.remote_ip}.ToString());
  out->set_remote_port(f.remote_port);
  out->set_state(transport::FlowStateName(f.state));
  out->set_rtt_us(f.srtt_ns / 1000.0);
  out->set_rto_us(f.rto_ns / 1000.0);
  out->set_congestion_window(f.congestion_window);
  out->set_peer_window(f.peer_window);
  out->set_in_flight(f.in_flight);
  out->set_queued_messages(f.queued_messages);
  out->set_parked_messages(f.parked_messages);
  out->set_blocked(f.blocked);
  out->set_messages_sent(f.stats.messages_sent);
  out->set_bytes_sent(f.stats.bytes_sent);
  out->set_messages_received(f.stats.messages_received);
  out->set_bytes_received(f.stats.bytes_received);
  out->set_segments_sent(f.stats.segments_sent);
  out->set_segments_received(f.stats.segments_received);
  out->set_retransmits_fast(f.stats.retransmits_fast);
  out->set_retransmits_timeout(f.stats.retransmits_timeout);
  out->set_duplicates_received(f.stats.duplicates_received);
  out->set_out_of_order_received(f.stats.out_of_order_received);
  out->set_encryption(f.encrypted ? crypto::AeadCipherName(f.cipher) : "none");
  if (f.encrypted) {
    out->set_tx_key_epoch(f.tx_epoch);
    out->set_rx_key_epoch(f.rx_epoch);
    out->set_peer_node_key(PublicKeyToText(f.peer_node_key));
  }
}

}  // namespace

grpc::Status FlowServiceImpl::Listen(grpc::ServerContext*,
                                     const v1::ListenRequest* request,
                                     v1::ListenResponse* response) {
  absl::StatusOr<net::Ipv4Address> ip = opener_->Listen(
      request->session().id(), request->session().token(), request->channel(),
      request->port(), net::Ipv4Address{request->local_ipv4()});
  if (ip.ok()) response->set_local_ipv4(ip->value);
  return ToGrpcStatus(ip.status());
}

grpc::Status FlowServiceImpl::StopListening(
    grpc::ServerContext*, const v1::StopListeningRequest* request,
    v1::StopListeningResponse*) {
  return ToGrpcStatus(opener_->StopListening(
      request->session().id(), request->session().token(), request->channel(),
      request->port()));
}

namespace {

// One Connect: the handshake is waited for on the FlowOpener's waiter, so
// no gRPC thread is held meanwhile.
class ConnectReactor final : public grpc::ServerUnaryReactor {
 public:
  ConnectReactor(grpc::CallbackServerContext* context, FlowOpener* opener,
                 const v1::ConnectRequest& request,
                 v1::ConnectResponse* response)
      : context_(context),
        opener_(opener),
        response_(response),
        channel_(request.channel()),
        entered_(absl::Now()) {}

  void Start(const v1::ConnectRequest& request) {
    // The wait ends at timeout_ms or a little before the call's deadline,
    // whichever is first, and never later than a minute (a handshake gives
    // up long before). The margin leaves time for the answer to reach the
    // caller: a flow answered after the caller gave up would belong to
    // nobody (and is reset, below and in OnDone).
    deadline_ = absl::FromChrono(context_->deadline());
    const absl::Duration remaining = deadline_ - absl::Now();
    margin_ = std::clamp(remaining / 4, absl::Milliseconds(5),
                         absl::Milliseconds(250));
    absl::Duration timeout = std::min(absl::Minutes(1), remaining - margin_);
    if (request.timeout_ms() != 0) {
      timeout = std::min(timeout, absl::Milliseconds(request.timeout_ms()));
    }
    ConnectTarget target;
    target.session = request.session().id();
    target.token = request.session().token();
    target.channel = request.channel();
    target.remote_ip = request.remote_ipv4();
    target.remote_port = request.remote_port();
    target.local_port = request.local_port();
    target.local_ip = request.local_ipv4();
    opener_->Connect(
        target, timeout, &cancelled_,
        [this](absl::StatusOr<OpenedFlow> flow) { Answered(std::move(flow)); });
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override {
    // The caller went away before the answer reached it.
    if (handed_out_.has_value() && context_->IsCancelled()) {
      opener_->Reset(*handed_out_, channel_);
    }
    delete this;
  }

 private:
  void Answered(absl::StatusOr<OpenedFlow> flow) {
    if (flow.ok() && (cancelled_ || absl::Now() >= deadline_ - margin_ / 2)) {
      // Too late to hand out: reset it rather than leave it to nobody.
      opener_->Reset(*flow, channel_);
      flow = WithFerryStatus(
          absl::DeadlineExceededError("the handshake ended after the call's "
                                      "deadline; the flow was reset"),
          FERRY_STATUS_TIMED_OUT);
    }
    if (flow.ok()) {
      handed_out_ = *flow;
      response_->set_flow(flow->flow);
      response_->set_nic(flow->nic);
      response_->set_local_ipv4(flow->local_ip);
      response_->set_local_port(flow->local_port);
      response_->set_remote_ipv4(flow->remote_ip);
      response_->set_remote_port(flow->remote_port);
      response_->set_engine_us(absl::ToDoubleMicroseconds(flow->engine_time));
      response_->set_ferryd_us(
          absl::ToDoubleMicroseconds(absl::Now() - entered_));
    }
    Finish(ToGrpcStatus(flow.status()));
  }

  grpc::CallbackServerContext* const context_;
  FlowOpener* const opener_;
  v1::ConnectResponse* const response_;
  const uint64_t channel_;
  const absl::Time entered_;
  absl::Time deadline_;
  absl::Duration margin_;
  std::atomic<bool> cancelled_{false};
  std::optional<OpenedFlow> handed_out_;
};

}  // namespace

grpc::ServerUnaryReactor* FlowServiceImpl::Connect(
    grpc::CallbackServerContext* context, const v1::ConnectRequest* request,
    v1::ConnectResponse* response) {
  auto* reactor = new ConnectReactor(context, opener_, *request, response);
  reactor->Start(*request);
  return reactor;
}

absl::StatusOr<std::optional<std::set<uint64_t>>> FlowServiceImpl::Reach(
    const grpc::ServerContext& context, const v1::SessionRef& session,
    bool has_session) const {
  if (!has_session) {
    if (role_.Of(context) == ApiRole::kAdmin) {
      return std::optional<std::set<uint64_t>>();
    }
    return absl::PermissionDeniedError(
        "session: an application lists, inspects and closes only its own "
        "session's flows (give its id and token; every flow is reachable "
        "only on the admin socket)");
  }
  absl::StatusOr<SessionInfo> info =
      sessions_->Get(session.id(), session.token());
  if (!info.ok()) return info.status();
  return std::optional<std::set<uint64_t>>(
      std::set<uint64_t>(info->channels.begin(), info->channels.end()));
}

grpc::Status FlowServiceImpl::ListFlows(grpc::ServerContext* context,
                                        const v1::ListFlowsRequest* request,
                                        v1::ListFlowsResponse* response) {
  absl::StatusOr<std::optional<std::set<uint64_t>>> reach =
      Reach(*context, request->session(), request->has_session());
  if (!reach.ok()) return ToGrpcStatus(reach.status());
  FlowFilter filter;
  filter.nic = request->nic();
  filter.state = request->state();
  filter.channels = *std::move(reach);
  if (!request->remote_ip().empty()) {
    absl::StatusOr<net::Ipv4Address> ip =
        net::Ipv4Address::Parse(request->remote_ip());
    if (!ip.ok()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("remote_ip: ", ip.status().message())));
    }
    filter.remote_ip = ip->value;
  }
  absl::StatusOr<FlowPage> page =
      flows_->List(filter, request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const FlowRecord& r : page->flows) ToProto(r, response->add_flows());
  response->set_next_page_token(page->next_token);
  return grpc::Status::OK;
}

namespace {

// Another session's flow looks exactly like one that does not exist.
absl::Status NotReachable(const std::string& nic, uint32_t id) {
  return absl::NotFoundError(
      absl::StrFormat("no flow %d on %s (closed, or never existed)", id, nic));
}

}  // namespace

grpc::Status FlowServiceImpl::GetFlow(grpc::ServerContext* context,
                                      const v1::GetFlowRequest* request,
                                      v1::Flow* response) {
  absl::StatusOr<std::optional<std::set<uint64_t>>> reach =
      Reach(*context, request->session(), request->has_session());
  if (!reach.ok()) return ToGrpcStatus(reach.status());
  absl::StatusOr<FlowRecord> r = flows_->Get(request->nic(), request->id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (reach->has_value() && (*reach)->count(r->info.channel_id) == 0) {
    return ToGrpcStatus(NotReachable(request->nic(), request->id()));
  }
  ToProto(*r, response);
  return grpc::Status::OK;
}

grpc::Status FlowServiceImpl::CloseFlow(grpc::ServerContext* context,
                                        const v1::CloseFlowRequest* request,
                                        v1::CloseFlowResponse*) {
  absl::StatusOr<std::optional<std::set<uint64_t>>> reach =
      Reach(*context, request->session(), request->has_session());
  if (!reach.ok()) return ToGrpcStatus(reach.status());
  if (!reach->has_value()) {
    return ToGrpcStatus(
        flows_->Close(request->nic(), request->id(), request->reset()));
  }
  absl::StatusOr<FlowRecord> r = flows_->Get(request->nic(), request->id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  if ((*reach)->count(r->info.channel_id) == 0) {
    return ToGrpcStatus(NotReachable(request->nic(), request->id()));
  }
  // The engine checks the owner again: the id may have been reused since.
  return ToGrpcStatus(flows_->Close(request->nic(), request->id(),
                                    request->reset(), r->info.channel_id));
}

}  // namespace ferry::controlplane
