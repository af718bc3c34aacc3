// ferryctl node | node trust KEY [--name=N] | node distrust KEY
#include <cstdio>

#include "absl/flags/flag.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::ferryctl {
namespace {

void PrintNode(const v1::Node& node) {
  std::printf("node key:      %s\nkey file:      %s\ntrust file:    %s\n",
              node.public_key().c_str(), node.key_file().c_str(),
              node.trusted_peers_file().empty()
                  ? "-"
                  : node.trusted_peers_file().c_str());
  std::printf("trusted peers: %d\n", node.trusted_peers_size());
  for (const v1::TrustedPeer& peer : node.trusted_peers()) {
    std::printf("  %s %s\n", peer.public_key().c_str(), peer.name().c_str());
  }
}

}  // namespace

int NodeGet(const Ctl& ctl, const Args&) {
  auto node = v1::NodeService::NewStub(ctl.channel);
  return CallAndPrint<v1::Node>(
      ctl,
      [&](grpc::ClientContext* context, v1::Node* out) {
        return node->GetNode(context, v1::GetNodeRequest(), out);
      },
      PrintNode);
}

int NodeTrust(const Ctl& ctl, const Args& args) {
  auto node = v1::NodeService::NewStub(ctl.channel);
  v1::TrustPeerRequest request;
  request.set_public_key(args[0]);
  request.set_name(absl::GetFlag(FLAGS_name));
  return CallAndPrint<v1::Node>(
      ctl,
      [&](grpc::ClientContext* context, v1::Node* out) {
        return node->TrustPeer(context, request, out);
      },
      [&](const v1::Node& out) {
        std::printf("trusted %s (%d trusted peers)\n", args[0].c_str(),
                    out.trusted_peers_size());
      });
}

int NodeDistrust(const Ctl& ctl, const Args& args) {
  auto node = v1::NodeService::NewStub(ctl.channel);
  v1::DistrustPeerRequest request;
  request.set_public_key(args[0]);
  return CallAndPrint<v1::Node>(
      ctl,
      [&](grpc::ClientContext* context, v1::Node* out) {
        return node->DistrustPeer(context, request, out);
      },
      [&](const v1::Node& out) {
        std::printf("no longer trusting %s (%d trusted peers)\n",
                    args[0].c_str(), out.trusted_peers_size());
      });
}

}  // namespace ferry::ferryctl
