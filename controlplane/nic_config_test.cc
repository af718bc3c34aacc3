#include "controlplane/nic_config.h"

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

NicSpec GoodSpec() {
  NicSpec spec;
  spec.device = "net_af_packet0,iface=veth0";
  spec.ip = "10.77.0.2/24";
  spec.gateway = "10.77.0.254";
  spec.mac = "02:00:00:00:00:01";
  spec.engines = 2;
  spec.cores = "0-1";
  return spec;
}

TEST(NicConfigTest, AcceptsGoodSpec) {
  absl::StatusOr<NicConfig> config = ValidateNicSpec(GoodSpec(), 2);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ip.ToString(), "10.77.0.2/24");
  EXPECT_EQ(config->gateway->ToString(), "10.77.0.254");
  EXPECT_EQ(config->cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(config->idle.mode, engine::PollingMode::kAdaptive);
  EXPECT_EQ(config->peer_timeout_ns, 2'000'000'000u);
}

// Each bad field is reported by name.
TEST(NicConfigTest, RejectsEachBadField) {
  struct Case {
    void (*mutate)(NicSpec&);
    const char* field;
  } cases[] = {
      {[](NicSpec& s) { s.device = "eth0"; }, "--device"},
      {[](NicSpec& s) { s.device = "0000:zz:00.0"; }, "--device"},
      {[](NicSpec& s) { s.ip = "10.77.0.300/24"; }, "--ip"},
      {[](NicSpec& s) { s.ip = "10.77.0.2/40"; }, "--ip"},
      {[](NicSpec& s) { s.ip = "10.77.0.2"; }, "--ip"},
      {[](NicSpec& s) { s.ip = "10.77.0.0/24"; }, "--ip"},
      {[](NicSpec& s) { s.ip = "224.0.0.1/24"; }, "--ip"},
      {[](NicSpec& s) { s.gateway = "10.78.0.1"; }, "--gateway"},
      {[](NicSpec& s) { s.gateway = "10.77.0.2"; }, "--gateway"},
      {[](NicSpec& s) { s.mac = "02:00:00:00:00"; }, "--mac"},
      {[](NicSpec& s) { s.mac = "01:00:5e:00:00:01"; }, "--mac"},
      {[](NicSpec& s) { s.mtu = 67; }, "--mtu"},
      {[](NicSpec& s) { s.mtu = 575; }, "--mtu"},
      {[](NicSpec& s) { s.mtu = 9001; }, "--mtu"},
      {[](NicSpec& s) { s.engines = 0; }, "--engines"},
      {[](NicSpec& s) { s.cores = "0-5"; }, "--cores"},
      {[](NicSpec& s) { s.cores = "1,1"; }, "--cores"},
      {[](NicSpec& s) { s.cores = "0"; }, "--cores"},
      {[](NicSpec& s) { s.cores = "a-b"; }, "--cores"},
      {[](NicSpec& s) { s.polling = "lazy"; }, "--polling"},
      {[](NicSpec& s) { s.fault_drop = 1.5; }, "--fault_*"},
      {[](NicSpec& s) {
         s.fault_drop = 0.7;
         s.fault_delay = 0.7;
       },
       "--fault_*"},
      {[](NicSpec& s) { s.fault_delay_us = -1; }, "--fault_delay_us"},
      {[](NicSpec& s) { s.cc = "cubic"; }, "--cc"},
      {[](NicSpec& s) { s.cc_target_delay_us = 0; }, "--cc_target_delay_us"},
      {[](NicSpec& s) { s.peer_timeout_ms = 9; }, "--peer_timeout_ms"},
      {[](NicSpec& s) { s.peer_timeout_ms = 3'600'001; }, "--peer_timeout_ms"},
      {[](NicSpec& s) { s.tx_zero_copy_min_bytes = -1; },
       "--tx_zero_copy_min_bytes"},
      {[](NicSpec& s) { s.tx_zero_copy_min_bytes = 65536; },
       "--tx_zero_copy_min_bytes"},
      {[](NicSpec& s) { s.encryption = "sometimes"; }, "--encryption"},
      {[](NicSpec& s) { s.key_rotation_ms = -1; }, "--key_rotation_ms"},
  };
  for (const Case& c : cases) {
    NicSpec spec = GoodSpec();
    c.mutate(spec);
    absl::StatusOr<NicConfig> config = ValidateNicSpec(spec, 2);
    ASSERT_FALSE(config.ok()) << c.field;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message().rfind(c.field, 0), 0u)
        << config.status().message();
  }
}

TEST(CoreListTest, ParsesRangesAndLists) {
  EXPECT_EQ(*ParseCoreList("0,2-4", 8), (std::vector<int>{0, 2, 3, 4}));
  EXPECT_FALSE(ParseCoreList("", 8).ok());
  EXPECT_FALSE(ParseCoreList("3-1", 8).ok());
  EXPECT_FALSE(ParseCoreList("1,", 8).ok());
  EXPECT_FALSE(ParseCoreList("8", 8).ok());
}

TEST(NicFileTest, OneNicPerLineWithCommentsAndDefaults) {
  absl::StatusOr<std::vector<NicSpec>> nics = ParseNicFile(
      "# host A's second and third NICs\n"
      "\n"
      "device=net_memif1,role=server,id=0,socket=/x ip=10.71.0.1/24 "
      "gateway=10.71.0.254 engines=2 fault_drop=0.05\n"
      "  device=net_af_packet0,iface=veth1\tip=10.72.0.1/16  \n");
  ASSERT_TRUE(nics.ok()) << nics.status();
  ASSERT_EQ(nics->size(), 2u);
  EXPECT_EQ((*nics)[0].device, "net_memif1,role=server,id=0,socket=/x");
  EXPECT_EQ((*nics)[0].ip, "10.71.0.1/24");
  EXPECT_EQ((*nics)[0].gateway, "10.71.0.254");
  EXPECT_EQ((*nics)[0].engines, 2);
  EXPECT_DOUBLE_EQ((*nics)[0].fault_drop, 0.05);
  EXPECT_EQ((*nics)[1].device, "net_af_packet0,iface=veth1");
  EXPECT_EQ((*nics)[1].ip, "10.72.0.1/16");
  EXPECT_EQ((*nics)[1].engines, 1);
  EXPECT_EQ((*nics)[1].mtu, 1500);
  EXPECT_TRUE(ParseNicFile("# nothing\n\n")->empty());
}

TEST(NicFileTest, ErrorsNameTheLineAndTheKey) {
  EXPECT_EQ(
      ParseNicFile("device=x ip=10.0.0.1/24 colour=blue").status().message(),
      "line 1: unknown key 'colour'");
  EXPECT_EQ(
      ParseNicFile("\ndevice=x ip=10.0.0.1/24 mtu=big").status().message(),
      "line 2: mtu: 'big' is not a number");
  EXPECT_EQ(ParseNicFile("device=x 10.0.0.1/24").status().message(),
            "line 1: '10.0.0.1/24' is not key=value");
  EXPECT_EQ(ParseNicFile("ip=10.0.0.1/24").status().message(),
            "line 1: a NIC needs device= and ip=");
}

}  // namespace
}  // namespace ferry::controlplane
