#include "controlplane/device_policy.h"

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

absl::StatusCode Check(const std::string& spec, const DevicePolicy& p = {}) {
  return CheckDeviceSpec(spec, p).code();
}

TEST(DevicePolicyTest, HarmlessSpecsPass) {
  for (const char* spec :
       {"0000:3b:00.0", "net_null0", "net_null3,size=64,copy=1", "net_ring0",
        "net_memif0,role=server,id=0,socket=/ferry-a",
        "net_memif1,role=client,socket=/x.sock,bsize=2048,rsize=10"}) {
    EXPECT_EQ(Check(spec), absl::StatusCode::kOk) << spec;
  }
}

TEST(DevicePolicyTest, HostInterfacesNeedTheOperator) {
  for (const char* spec :
       {"net_af_packet0,iface=eth0", "net_af_xdp0,iface=eth0",
        "net_tap0,iface=evil0", "net_tap0,remote=eth0", "net_pcap0,iface=lo",
        "net_pcap0,rx_iface=lo", "net_pcap0,tx_iface=eth0"}) {
    EXPECT_EQ(Check(spec), absl::StatusCode::kPermissionDenied) << spec;
  }
  DevicePolicy listed;
  listed.interfaces = {"veth0"};
  EXPECT_EQ(Check("net_af_packet0,iface=veth0,qdisc_bypass=0", listed),
            absl::StatusCode::kOk);
  EXPECT_EQ(Check("net_af_packet0,iface=veth1", listed),
            absl::StatusCode::kPermissionDenied);
  DevicePolicy operator_flag;
  operator_flag.any_host_resource = true;
  EXPECT_EQ(Check("net_af_packet0,iface=eth7", operator_flag),
            absl::StatusCode::kOk);
}

TEST(DevicePolicyTest, HostFilesNeedTheOperator) {
  for (const char* spec :
       {"net_pcap0,rx_pcap=/etc/shadow", "net_pcap0,tx_pcap=/some/file",
        "net_memif0,role=server,socket=/run/x.sock,socket-abstract=no",
        "net_af_xdp0,iface=veth0,xdp_prog=/tmp/prog.o"}) {
    DevicePolicy p;
    p.interfaces = {"veth0"};
    EXPECT_EQ(Check(spec, p), absl::StatusCode::kPermissionDenied) << spec;
  }
  DevicePolicy listed;
  listed.files = {"/run/ferry/wire.sock"};
  EXPECT_EQ(Check("net_memif0,role=server,socket=/run/ferry/wire.sock,"
                  "socket-abstract=no",
                  listed),
            absl::StatusCode::kOk);
  // The refusal does not depend on whether the file exists.
  EXPECT_EQ(CheckDeviceSpec("net_pcap0,rx_pcap=/etc/shadow", {}).message(),
            CheckDeviceSpec("net_pcap0,rx_pcap=/no/such/file", {}).message());
}

TEST(DevicePolicyTest, UnknownDriversKeysAndJunkAreRefused) {
  for (const char* spec :
       {"net_bonding0,slave=0000:00:01.0", "crypto_null0", "net_vhost0,iface=x",
        "net_null", "net_null0,bogus=1", "net_ring0,nodeaction=r:0:CREATE",
        "net_null0,size", "net_null0,size=", "net_null0,size=1,size=2",
        "net_memif0,owner-uid=0", "net_tap0,iface=a;b",
        "net_pcap0,rx_pcap=relative", "net_pcap0,rx_pcap=/a/../etc/shadow",
        "net_tap0,iface=abcdefghijklmnop"}) {
    DevicePolicy p;
    p.any_host_resource = true;  // even the operator gets these checked
    EXPECT_EQ(Check(spec, p), absl::StatusCode::kInvalidArgument) << spec;
  }
  EXPECT_EQ(Check("net_null0,size=" + std::string(600, '1')),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(CheckDeviceSpec("net_null0,bogus=1", {}).message().find("'bogus'"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::controlplane
