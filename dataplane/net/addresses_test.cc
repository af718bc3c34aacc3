#include "dataplane/net/addresses.h"

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

TEST(MacAddressTest, ParsesAndFormats) {
  absl::StatusOr<MacAddress> mac = MacAddress::Parse("02:00:0A:ff:00:01");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "02:00:0a:ff:00:01");
  EXPECT_FALSE(mac->IsMulticast());
  EXPECT_TRUE(MacAddress::Parse("02-00-0a-ff-00-01").ok());
  EXPECT_TRUE(MacAddress::Broadcast().IsBroadcast());
}

TEST(MacAddressTest, RejectsMalformed) {
  for (const char* bad :
       {"", "02:00:0a:ff:00", "02:00:0a:ff:00:01:02", "02:00:0a:ff:00:1",
        "02:00:0a:ff:00:0g", "0200:0a:ff:00:01", "02:00:0a:ff:00:001"}) {
    EXPECT_FALSE(MacAddress::Parse(bad).ok()) << bad;
  }
}

TEST(Ipv4AddressTest, ParsesAndFormats) {
  absl::StatusOr<Ipv4Address> ip = Ipv4Address::Parse("10.77.0.2");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->value, 0x0a4d0002u);
  EXPECT_EQ(ip->ToString(), "10.77.0.2");
}

TEST(Ipv4AddressTest, RejectsMalformed) {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.1.1", "10..0.1",
                          "a.b.c.d", "10.0.0.-1", "10.0.0.1 ", "1000.0.0.1"}) {
    EXPECT_FALSE(Ipv4Address::Parse(bad).ok()) << bad;
  }
}

TEST(Ipv4PrefixTest, ParsesAndContains) {
  absl::StatusOr<Ipv4Prefix> prefix = Ipv4Prefix::Parse("10.77.0.2/24");
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->length, 24);
  EXPECT_TRUE(prefix->Contains(*Ipv4Address::Parse("10.77.0.200")));
  EXPECT_FALSE(prefix->Contains(*Ipv4Address::Parse("10.77.1.1")));
  EXPECT_EQ(prefix->ToString(), "10.77.0.2/24");
  EXPECT_TRUE(Ipv4Prefix::Parse("10.0.0.1/32")
                  ->Contains(*Ipv4Address::Parse("10.0.0.1")));
}

TEST(Ipv4PrefixTest, RejectsMalformed) {
  for (const char* bad :
       {"10.0.0.1", "10.0.0.1/", "10.0.0.1/0", "10.0.0.1/33", "10.0.0.1/2x",
        "10.0.0.1/-1", "10.0.0/24", "10.0.0.1/024"}) {
    EXPECT_FALSE(Ipv4Prefix::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ferry::net
