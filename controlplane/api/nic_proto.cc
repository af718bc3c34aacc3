#include "controlplane/api/nic_proto.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "dataplane/crypto/segment_aead.h"
#include "dataplane/engine/encryption_mode.h"
#include "dataplane/xdp/xdp_attachment.h"

namespace ferry::controlplane {

v1::Nic NicToProto(Nic& nic) {
  const dpdk::Port& port = nic.port();
  const NicConfig& config = nic.config();
  v1::Nic out;
  out.set_name(port.name());
  out.set_device(config.device);
  out.set_driver(port.driver());
  out.set_mac(port.mac().ToString());
  out.set_ip(config.ip.ToString());
  if (config.gateway.has_value()) out.set_gateway(config.gateway->ToString());
  out.set_mtu(static_cast<uint32_t>(port.mtu()));
  v1::NicEncryption* encryption = out.mutable_encryption();
  encryption->set_mode(engine::EncryptionName(config.encryption));
  if (config.trust != nullptr) {
    encryption->set_cipher(crypto::AeadCipherName(config.trust->cipher));
  }
  encryption->set_key_rotation_ms(config.key_rotation_ns / 1'000'000);
  const dpdk::LinkState link = port.Link();
  out.mutable_link()->set_up(link.up);
  out.mutable_link()->set_speed_mbps(link.speed_mbps);
  out.mutable_link()->set_full_duplex(link.full_duplex);
  const dpdk::PortCapabilities& caps = port.capabilities();
  v1::Capabilities* c = out.mutable_capabilities();
  c->set_rss(caps.rss);
  c->set_rx_interrupts(caps.rx_interrupts);
  c->set_tx_ipv4_checksum(caps.tx_ipv4_checksum);
  c->set_tx_udp_checksum(caps.tx_udp_checksum);
  c->set_rx_ipv4_checksum(caps.rx_ipv4_checksum);
  c->set_rx_udp_checksum(caps.rx_udp_checksum);
  const dpdk::PortStats stats = port.Stats();
  v1::PortCounters* p = out.mutable_counters();
  p->set_rx_packets(stats.rx_packets);
  p->set_tx_packets(stats.tx_packets);
  p->set_rx_bytes(stats.rx_bytes);
  p->set_tx_bytes(stats.tx_bytes);
  p->set_rx_missed(stats.rx_missed);
  p->set_rx_errors(stats.rx_errors);
  p->set_tx_errors(stats.tx_errors);
  p->set_rx_no_mbuf(stats.rx_no_mbuf);
  if (const std::string iface = xdp::AfXdpInterface(config.device);
      !iface.empty()) {
    v1::XdpProgram* x = out.mutable_xdp();
    x->set_interface(iface);
    // A program that is gone (taken off by hand) leaves id 0: the answer
    // says so rather than failing the whole call.
    if (absl::StatusOr<xdp::AttachedProgram> program =
            xdp::DescribeAttachedProgram(iface);
        program.ok()) {
      x->set_id(program->id);
      x->set_name(program->name);
      x->set_mode(program->mode);
    }
    if (absl::StatusOr<xdp::ProgramCounters> counters =
            xdp::ReadProgramCounters(iface);
        counters.ok()) {
      x->set_frames_ferry_ipv4(counters->diverted_ipv4);
      x->set_frames_ferry_arp(counters->diverted_arp);
      x->set_frames_kernel(counters->passed);
    }
  }
  for (size_t i = 0; i < nic.num_engines(); ++i) {
    const engine::Engine& engine = nic.engine(i);
    v1::Engine* e = out.add_engines();
    e->set_id(static_cast<uint32_t>(i));
    e->set_core(engine.config().core);
    e->set_polling(engine::PollingModeName(engine.config().idle.mode));
    const engine::EngineStats s = engine.ReadStats();
    auto& counters = *e->mutable_counters();
#define FERRY_ENGINE_TO_PROTO(name, help) counters[#name] = s.name;
    FERRY_ENGINE_COUNTERS(FERRY_ENGINE_TO_PROTO)
#undef FERRY_ENGINE_TO_PROTO
    for (size_t r = 1; r < s.rx_drop_malformed.size(); ++r) {
      counters[absl::StrCat(
          "rx_drop_", net::DropReasonName(static_cast<net::DropReason>(r)))] =
          s.rx_drop_malformed[r];
    }
  }
  return out;
}

v1::ChannelStats ChannelTotalsToProto(const ChannelTotals& t) {
  v1::ChannelStats out;
  out.set_attached(t.attached);
  out.set_refused(t.refused);
  out.set_reclaimed(t.reclaimed);
  out.set_live(t.live);
  auto& counters = *out.mutable_counters();
#define FERRY_CHANNEL_TO_PROTO(name, help) counters[#name] = t.name;
  FERRY_CHANNEL_COUNTERS(FERRY_CHANNEL_TO_PROTO)
#undef FERRY_CHANNEL_TO_PROTO
  return out;
}

}  // namespace ferry::controlplane
