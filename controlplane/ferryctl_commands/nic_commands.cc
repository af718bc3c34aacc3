// ferryctl nic list | get NAME | attach --device --ip ... | detach NAME,
// and the routes the NICs make: routes | route DESTINATION
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::ferryctl {

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

namespace {

void PrintNicDetail(const v1::Nic& nic) {
  std::printf(
      "name:     %s\ndevice:   %s\ndriver:   %s\nmac:      %s\n"
      "ip:       %s\ngateway:  %s\nmtu:      %u\nlink:     %s\n",
      nic.name().c_str(), nic.device().c_str(), nic.driver().c_str(),
      nic.mac().c_str(), nic.ip().c_str(),
      nic.gateway().empty() ? "-" : nic.gateway().c_str(), nic.mtu(),
      nic.link().up() ? "up" : "down");
  const v1::NicEncryption& e = nic.encryption();
  if (e.mode() == "off" || e.mode().empty()) {
    std::printf("encryption: off\n");
  } else {
    std::printf("encryption: %s, %s, keys move every %lu ms\n",
                e.mode().c_str(), e.cipher().c_str(),
                static_cast<unsigned long>(e.key_rotation_ms()));
  }
  if (nic.has_xdp()) {
    const v1::XdpProgram& x = nic.xdp();
    if (x.id() == 0) {
      std::printf("xdp:      none on %s\n", x.interface().c_str());
    } else {
      std::printf(
          "xdp:      %s id %u (%s) on %s: %lu IPv4 and %lu ARP frames to "
          "Ferry, %lu to the kernel\n",
          x.name().c_str(), x.id(), x.mode().c_str(), x.interface().c_str(),
          static_cast<unsigned long>(x.frames_ferry_ipv4()),
          static_cast<unsigned long>(x.frames_ferry_arp()),
          static_cast<unsigned long>(x.frames_kernel()));
    }
  }
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

}  // namespace

int NicList(const Ctl& ctl, const Args&) {
  auto nics = v1::NicService::NewStub(ctl.channel);
  return CallAndPrint<v1::ListNicsResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::ListNicsResponse* response) {
        return nics->ListNics(context, v1::ListNicsRequest(), response);
      },
      [](const v1::ListNicsResponse& response) {
        std::vector<const v1::Nic*> list;
        for (const v1::Nic& nic : response.nics()) list.push_back(&nic);
        PrintNicTable(list);
      });
}

int RouteList(const Ctl& ctl, const Args&) {
  auto nics = v1::NicService::NewStub(ctl.channel);
  return CallAndPrint<v1::ListRoutesResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::ListRoutesResponse* response) {
        return nics->ListRoutes(context, v1::ListRoutesRequest(), response);
      },
      [](const v1::ListRoutesResponse& response) {
        std::printf("%-18s %-18s %-15s %s\n", "DESTINATION", "NIC", "SOURCE",
                    "GATEWAY");
        for (const v1::Route& route : response.routes()) {
          std::printf("%-18s %-18s %-15s %s\n", route.destination().c_str(),
                      route.nic().c_str(), route.local_ip().c_str(),
                      route.gateway().empty() ? "-" : route.gateway().c_str());
        }
      });
}

int RouteGet(const Ctl& ctl, const Args& args) {
  in_addr ip;
  if (inet_pton(AF_INET, args[0].c_str(), &ip) != 1) {
    return Usage("route: '" + args[0] + "' is not an IPv4 address");
  }
  auto nics = v1::NicService::NewStub(ctl.channel);
  v1::GetRouteRequest request;
  request.set_destination_ipv4(ntohl(ip.s_addr));
  return CallAndPrint<v1::Route>(
      ctl,
      [&](grpc::ClientContext* context, v1::Route* route) {
        return nics->GetRoute(context, request, route);
      },
      [&](const v1::Route& route) {
        // As `ip route get` says it.
        std::printf(
            "%s %s%svia %s src %s\n", args[0].c_str(),
            route.gateway().empty() ? "" : "gateway ",
            route.gateway().empty() ? "" : (route.gateway() + " ").c_str(),
            route.nic().c_str(), route.local_ip().c_str());
      });
}

int NicGet(const Ctl& ctl, const Args& args) {
  auto nics = v1::NicService::NewStub(ctl.channel);
  v1::GetNicRequest request;
  request.set_name(args[0]);
  return CallAndPrint<v1::Nic>(
      ctl,
      [&](grpc::ClientContext* context, v1::Nic* nic) {
        return nics->GetNic(context, request, nic);
      },
      PrintNicDetail);
}

int NicAttach(const Ctl& ctl, const Args&) {
  if (absl::GetFlag(FLAGS_mtu) < 0 || absl::GetFlag(FLAGS_engines) < 0) {
    return Usage("--mtu and --engines must not be negative");
  }
  auto nics = v1::NicService::NewStub(ctl.channel);
  v1::AttachNicRequest request;
  request.set_device(absl::GetFlag(FLAGS_device));
  request.set_ip(absl::GetFlag(FLAGS_ip));
  request.set_gateway(absl::GetFlag(FLAGS_gateway));
  request.set_mac(absl::GetFlag(FLAGS_mac));
  request.set_mtu(static_cast<uint32_t>(absl::GetFlag(FLAGS_mtu)));
  request.set_engines(static_cast<uint32_t>(absl::GetFlag(FLAGS_engines)));
  request.set_cores(absl::GetFlag(FLAGS_cores));
  request.set_polling(absl::GetFlag(FLAGS_polling));
  request.set_encryption(absl::GetFlag(FLAGS_encryption));
  if (absl::GetFlag(FLAGS_key_rotation_ms) < 0) {
    return Usage("--key_rotation_ms must not be negative");
  }
  request.set_key_rotation_ms(
      static_cast<uint32_t>(absl::GetFlag(FLAGS_key_rotation_ms)));
  // Attaching probes a device: allow it more than a query.
  return CallAndPrint<v1::Nic>(
      ctl, ctl.Context(std::chrono::seconds(60)),
      [&](grpc::ClientContext* context, v1::Nic* nic) {
        return nics->AttachNic(context, request, nic);
      },
      [](const v1::Nic& nic) {
        std::printf("attached %s (%s, %s)\n", nic.name().c_str(),
                    nic.ip().c_str(), nic.mac().c_str());
      });
}

int NicDetach(const Ctl& ctl, const Args& args) {
  auto nics = v1::NicService::NewStub(ctl.channel);
  v1::DetachNicRequest request;
  request.set_name(args[0]);
  return CallAndPrint<v1::DetachNicResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::DetachNicResponse* response) {
        return nics->DetachNic(context, request, response);
      },
      [&](const v1::DetachNicResponse&) {
        std::printf("detached %s\n", args[0].c_str());
      });
}

int NicFaults(const Ctl& ctl, const Args& args) {
  auto nics = v1::NicService::NewStub(ctl.channel);
  v1::SetFaultsRequest request;
  request.set_name(args[0]);
  v1::FaultSettings& f = *request.mutable_faults();
  f.set_drop(absl::GetFlag(FLAGS_drop));
  f.set_duplicate(absl::GetFlag(FLAGS_duplicate));
  f.set_delay(absl::GetFlag(FLAGS_delay));
  f.set_delay_us(
      static_cast<uint32_t>(std::max(0, absl::GetFlag(FLAGS_delay_us))));
  f.set_corrupt(absl::GetFlag(FLAGS_corrupt));
  f.set_reorder(absl::GetFlag(FLAGS_reorder));
  return CallAndPrint<v1::SetFaultsResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::SetFaultsResponse* response) {
        return nics->SetFaults(context, request, response);
      },
      [&](const v1::SetFaultsResponse&) {
        std::printf(
            "faults on %s: drop %g duplicate %g delay %g (%d us) corrupt %g "
            "reorder %g\n",
            args[0].c_str(), f.drop(), f.duplicate(), f.delay(), f.delay_us(),
            f.corrupt(), f.reorder());
      });
}

}  // namespace ferry::ferryctl
