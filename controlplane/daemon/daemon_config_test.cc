// VerifyDaemonConfig is pure: each case checks flags and nothing starts.
#include "controlplane/daemon/daemon_config.h"

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

std::optional<int> NoGroups(const std::string&) { return std::nullopt; }
std::optional<int> FerryGroup(const std::string& name) {
  if (name == "ferry") return 990;
  return std::nullopt;
}

DaemonFlags Defaults() {
  DaemonFlags flags;
  flags.channel_socket = "/run/ferry/channels.sock";
  flags.grpc_socket = "/run/ferry/ferryd.sock";
  flags.metrics_address = "127.0.0.1:10960";
  return flags;
}

// The message of a refused configuration ("" when it was accepted).
std::string Refusal(const DaemonFlags& flags) {
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(DaemonConfigTest, DefaultsNeedNoNic) {
  absl::StatusOr<DaemonConfig> config =
      VerifyDaemonConfig(Defaults(), 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  // Expect: no NIC at start, the admin socket next to the application's.
  EXPECT_FALSE(config->nic.has_value());
  EXPECT_EQ(config->admin_socket, "/run/ferry/admin.sock");
  EXPECT_EQ(config->admin_socket_mode, 0600);
  EXPECT_EQ(config->grpc_socket_mode, 0660);
  EXPECT_EQ(config->socket_gid, -1);
  EXPECT_EQ(config->session_limits.max_sessions, 256u);
  EXPECT_EQ(config->stats_interval, absl::ZeroDuration());
}

// --encryption is every NIC's mode unless it names its own, so it is
// checked with no --device too.
TEST(DaemonConfigTest, EncryptionIsTheDefaultOfEveryNic) {
  DaemonFlags flags = Defaults();
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  // Flows are encrypted unless the operator says otherwise.
  EXPECT_EQ(config->default_encryption, "required");
  flags.nic.encryption = "off";
  config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_encryption, "off");
  flags.nic.encryption = "sometimes";
  EXPECT_EQ(Refusal(flags).rfind("--encryption: ", 0), 0u) << Refusal(flags);
}

TEST(DaemonConfigTest, ANicFromFlagsIsCheckedWhole) {
  DaemonFlags flags = Defaults();
  flags.nic.device = "net_ring0";
  flags.nic.ip = "10.0.0.1/24";
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->nic.has_value());
  EXPECT_EQ(config->nic->device, "net_ring0");
  // Expect: half a NIC is a mistake, and the message names the flag.
  flags.nic.ip = "";
  EXPECT_NE(Refusal(flags), "");
  flags.nic.ip = "10.0.0.1/24";
  flags.nic.device = "net_pcap0,rx_pcap=/etc/shadow,unknown_key=1";
  EXPECT_EQ(Refusal(flags).rfind("--device: ", 0), 0u) << Refusal(flags);
}

TEST(DaemonConfigTest, ANicsFileAddsCheckedNics) {
  DaemonFlags flags = Defaults();
  flags.nics_file = "/etc/ferry/nics.conf";
  flags.nics_file_text =
      "device=net_ring0 ip=10.70.0.1/24\n"
      "# the second\n"
      "device=net_ring1 ip=10.71.0.1/24 gateway=10.71.0.254 engines=2\n";
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->nic.has_value());  // the file alone is enough
  ASSERT_EQ(config->more_nics.size(), 2u);
  EXPECT_EQ(config->more_nics[1].device, "net_ring1");
  EXPECT_EQ(config->more_nics[1].engines, 2);
  // Expect: a bad NIC is named by the file, its number and its field.
  flags.nics_file_text = "device=net_ring0 ip=10.70.0.1/24 mtu=99999\n";
  EXPECT_EQ(
      Refusal(flags).rfind(
          "--nics_file /etc/ferry/nics.conf: NIC 1 (net_ring0): --mtu", 0),
      0u)
      << Refusal(flags);
  flags.nics_file_text = "device=net_ring0 address=10.70.0.1/24\n";
  EXPECT_EQ(Refusal(flags),
            "--nics_file /etc/ferry/nics.conf: line 1: unknown key 'address'");
}

TEST(DaemonConfigTest, RangesNameTheirFlag) {
  DaemonFlags flags = Defaults();
  flags.max_sessions = 0;
  EXPECT_EQ(Refusal(flags), "--max_sessions: must be 1..4096");
  flags = Defaults();
  flags.memory_mb = 63;
  EXPECT_EQ(Refusal(flags), "--memory_mb: must be 64..1048576");
  flags = Defaults();
  flags.session_linger_ms = 600001;
  EXPECT_EQ(Refusal(flags), "--session_linger_ms: must be 0..600000");
  flags = Defaults();
  flags.stats_interval_s = -1;
  EXPECT_EQ(Refusal(flags), "--stats_interval_s: must be >= 0");
  flags = Defaults();
  flags.log_level = "debug";
  EXPECT_EQ(Refusal(flags),
            "--log_level: 'debug' is not info, warning or error");
  flags = Defaults();
  flags.hugepages = "maybe";
  EXPECT_EQ(Refusal(flags), "--hugepages: 'maybe' is not auto, require or off");
}

TEST(DaemonConfigTest, SystemGroupIdTakesNamesAndNumbers) {
  EXPECT_EQ(SystemGroupId("root"), 0);
  EXPECT_EQ(SystemGroupId("0"), 0);
  EXPECT_EQ(SystemGroupId("2100"), 2100);  // known or not to this host
  EXPECT_EQ(SystemGroupId("no-such-group-here"), std::nullopt);
  EXPECT_EQ(SystemGroupId("21x"), std::nullopt);
  EXPECT_EQ(SystemGroupId("-1"), std::nullopt);
  EXPECT_EQ(SystemGroupId("99999999999"), std::nullopt);
  EXPECT_EQ(SystemGroupId(""), std::nullopt);
}

TEST(DaemonConfigTest, Sockets) {
  DaemonFlags flags = Defaults();
  flags.grpc_socket_mode = "0669";
  EXPECT_EQ(Refusal(flags),
            "--grpc_socket_mode: '0669' is not an octal permission like 0660");
  // Expect: the admin socket is root's alone, and never the app socket.
  flags = Defaults();
  flags.admin_socket_mode = "0660";
  EXPECT_NE(Refusal(flags), "");
  flags = Defaults();
  flags.admin_socket = flags.grpc_socket;
  EXPECT_NE(Refusal(flags), "");
  // Expect: channel memory is named, not guessed.
  flags = Defaults();
  flags.channel_pages = "tiny";
  EXPECT_EQ(Refusal(flags),
            "--channel_pages: 'tiny' is not auto, huge or small");
  flags.channel_pages = "small";
  EXPECT_EQ(Refusal(flags), "");
  // Expect: TCP only with TLS; admin names only with a client CA.
  flags = Defaults();
  flags.grpc_tls_address = "127.0.0.1:0";
  EXPECT_NE(Refusal(flags), "");
  flags.grpc_tls_cert = "cert.pem";
  flags.grpc_tls_key = "key.pem";
  EXPECT_EQ(Refusal(flags), "");
  flags.grpc_tls_admin_names = "ops,root";
  EXPECT_NE(Refusal(flags), "");
  flags.grpc_tls_client_ca = "ca.pem";
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls_admin_names, (std::set<std::string>{"ops", "root"}));
}

TEST(DaemonConfigTest, SocketGroupFromTheGroupDatabase) {
  DaemonFlags flags = Defaults();
  flags.grpc_socket_group = "ferry";
  EXPECT_EQ(Refusal(flags), "--grpc_socket_group: no group 'ferry'");
  absl::StatusOr<DaemonConfig> config =
      VerifyDaemonConfig(flags, 2, FerryGroup);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->socket_gid, 990);
}

TEST(DaemonConfigTest, PingNeedsANic) {
  DaemonFlags flags = Defaults();
  flags.ping = "10.0.0.2";
  EXPECT_EQ(Refusal(flags), "--ping needs --device and --ip");
  flags.nic.device = "net_ring0";
  flags.nic.ip = "10.0.0.1/24";
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->ping.has_value());
  EXPECT_EQ(config->ping->count, 5u);
  flags.ping_count = 0;
  EXPECT_NE(Refusal(flags), "");
}

TEST(DaemonConfigTest, DeviceFilesMustBeAbsolute) {
  DaemonFlags flags = Defaults();
  flags.allow_device_files = "/srv/in.pcap,relative.pcap";
  EXPECT_EQ(Refusal(flags),
            "--allow_device_files: 'relative.pcap' is not an absolute path");
  flags.allow_device_files = "/srv/in.pcap";
  flags.allow_device_interfaces = "veth1,veth2";
  absl::StatusOr<DaemonConfig> config = VerifyDaemonConfig(flags, 2, NoGroups);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_devices.interfaces.size(), 2u);
}

}  // namespace
}  // namespace ferry::controlplane
