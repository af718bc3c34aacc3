// ferryctl flow list [--nic --state --remote_ip --page_size] | get ID --nic
// | close ID --nic [--reset]
#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::ferryctl {
namespace {

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

void PrintFlowDetail(const v1::Flow& flow) {
  PrintFlowTable({flow});
  std::printf(
      "rto %.1f us, peer window %u, in flight %u, queued %u, parked %u%s; "
      "sent %lu B "
      "in %lu segments, received %lu B in %lu segments; retransmits "
      "%lu fast + %lu timeout; %lu duplicates, %lu out of order\n",
      flow.rto_us(), flow.peer_window(), flow.in_flight(),
      flow.queued_messages(), flow.parked_messages(),
      flow.blocked() ? " (blocked)" : "",
      static_cast<unsigned long>(flow.bytes_sent()),
      static_cast<unsigned long>(flow.segments_sent()),
      static_cast<unsigned long>(flow.bytes_received()),
      static_cast<unsigned long>(flow.segments_received()),
      static_cast<unsigned long>(flow.retransmits_fast()),
      static_cast<unsigned long>(flow.retransmits_timeout()),
      static_cast<unsigned long>(flow.duplicates_received()),
      static_cast<unsigned long>(flow.out_of_order_received()));
  if (flow.encryption() == "none" || flow.encryption().empty()) {
    std::printf("encryption none (in clear)\n");
  } else {
    std::printf(
        "encryption %s, key epochs %u sending / %u receiving, peer %s\n",
        flow.encryption().c_str(), flow.tx_key_epoch(), flow.rx_key_epoch(),
        flow.peer_node_key().c_str());
  }
}

// A flow id argument; false when it is not a number.
bool FlowId(const std::string& word, uint32_t* id) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(word.c_str(), &end, 0);
  if (word.empty() || *end != '\0' || v > UINT32_MAX) return false;
  *id = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

int FlowList(const Ctl& ctl, const Args&) {
  if (absl::GetFlag(FLAGS_page_size) < 0) {
    return Usage("--page_size must not be negative");
  }
  auto flows = v1::FlowService::NewStub(ctl.channel);
  v1::ListFlowsRequest request;
  request.set_nic(absl::GetFlag(FLAGS_nic));
  request.set_state(absl::GetFlag(FLAGS_state));
  request.set_remote_ip(absl::GetFlag(FLAGS_remote_ip));
  request.set_page_size(static_cast<uint32_t>(absl::GetFlag(FLAGS_page_size)));
  // Every page, printed as one list.
  return CallAndPrint<v1::ListFlowsResponse>(
      ctl,
      [&](grpc::ClientContext*, v1::ListFlowsResponse* all) {
        do {
          v1::ListFlowsResponse page;
          const grpc::Status status =
              flows->ListFlows(ctl.Context().get(), request, &page);
          if (!status.ok()) return status;
          for (const v1::Flow& f : page.flows()) *all->add_flows() = f;
          request.set_page_token(page.next_page_token());
        } while (!request.page_token().empty());
        return grpc::Status::OK;
      },
      [](const v1::ListFlowsResponse& all) {
        PrintFlowTable({all.flows().begin(), all.flows().end()});
      });
}

int FlowGet(const Ctl& ctl, const Args& args) {
  v1::GetFlowRequest request;
  uint32_t id = 0;
  if (!FlowId(args[0], &id)) return Usage("flow get: ID is a number");
  request.set_nic(absl::GetFlag(FLAGS_nic));
  request.set_id(id);
  auto flows = v1::FlowService::NewStub(ctl.channel);
  return CallAndPrint<v1::Flow>(
      ctl,
      [&](grpc::ClientContext* context, v1::Flow* flow) {
        return flows->GetFlow(context, request, flow);
      },
      PrintFlowDetail);
}

int FlowClose(const Ctl& ctl, const Args& args) {
  v1::CloseFlowRequest request;
  uint32_t id = 0;
  if (!FlowId(args[0], &id)) return Usage("flow close: ID is a number");
  request.set_nic(absl::GetFlag(FLAGS_nic));
  request.set_id(id);
  request.set_reset(absl::GetFlag(FLAGS_reset));
  auto flows = v1::FlowService::NewStub(ctl.channel);
  return CallAndPrint<v1::CloseFlowResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::CloseFlowResponse* response) {
        return flows->CloseFlow(context, request, response);
      },
      [&](const v1::CloseFlowResponse&) {
        std::printf("%s flow %u\n", request.reset() ? "reset" : "closing", id);
      });
}

}  // namespace ferry::ferryctl
