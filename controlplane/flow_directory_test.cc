// FlowDirectory over a fake engine (engine_commands_fake.h): listing in
// pages across NICs and engines, filters, page tokens, one flow, and
// closing. No DPDK, no ferryd; milliseconds.
#include "controlplane/flow_directory.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "controlplane/engine_commands_fake.h"
#include "controlplane/flow_status.h"
#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

using engine::FlowInfo;
using engine::FlowOp;
using engine::FlowOpKind;
using engine::FlowOpResult;
using transport::FlowState;

const net::Ipv4Prefix kRingAddress{net::Ipv4Address{0x0a000001}, 24};
const net::Ipv4Prefix kTapAddress{net::Ipv4Address{0x0a010001}, 24};

// A flow in `slot` of `engine`, with the id the engine would give it.
FlowInfo Flow(size_t engine, uint32_t slot, uint64_t channel,
              FlowState state = FlowState::kEstablished,
              uint32_t remote_ip = 0x0a000002) {
  FlowInfo info;
  info.id = static_cast<uint32_t>(engine << 16) | slot;
  info.channel_id = channel;
  info.state = state;
  info.remote_ip = remote_ip;
  info.remote_port = 7000;
  return info;
}

class FlowDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // net_ring0: two engines, three flows; net_tap0: one engine, two.
    engines_.AddNic("net_ring0", kRingAddress, 2);
    engines_.AddNic("net_tap0", kTapAddress, 1);
    engines_.SetFlows(
        {"net_ring0", 0},
        {{1, Flow(0, 1, 7)}, {4, Flow(0, 4, 8, FlowState::kConnecting)}});
    engines_.SetFlows({"net_ring0", 1}, {{0, Flow(1, 0, 7)}});
    engines_.SetFlows(
        {"net_tap0", 0},
        {{2, Flow(0, 2, 9, FlowState::kClosing, 0x0a010002)},
         {3, Flow(0, 3, 9, FlowState::kEstablished, 0x0a010002)}});
  }

  // Every page of a listing, as NIC:id strings.
  std::vector<std::string> ListAll(const FlowFilter& filter, uint32_t page_size,
                                   int* pages) {
    std::vector<std::string> seen;
    std::string token;
    *pages = 0;
    do {
      absl::StatusOr<FlowPage> page = directory_.List(filter, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++*pages;
      for (const FlowRecord& r : page->flows) {
        seen.push_back(absl::StrFormat("%s:%x", r.nic, r.info.id));
      }
      token = page->next_token;
    } while (!token.empty() && *pages < 100);
    return seen;
  }

  FakeEngineCommands engines_;
  FlowDirectory directory_{&engines_};
};

TEST_F(FlowDirectoryTest, ListsEveryFlowInNicEngineAndSlotOrder) {
  int pages = 0;
  const std::vector<std::string> all = ListAll(FlowFilter{}, 100, &pages);
  // Expect: one page, NICs in attach order, then engine, then slot.
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(all, (std::vector<std::string>{"net_ring0:1", "net_ring0:4",
                                           "net_ring0:10000", "net_tap0:2",
                                           "net_tap0:3"}));
}

TEST_F(FlowDirectoryTest, PagesResumeWhereTheyStopped) {
  for (uint32_t size : {1u, 2u, 3u}) {
    int pages = 0;
    const std::vector<std::string> all = ListAll(FlowFilter{}, size, &pages);
    // Expect: the same five flows, each once, whatever the page size.
    EXPECT_EQ(all.size(), 5u) << size;
    EXPECT_EQ(all.front(), "net_ring0:1");
    EXPECT_EQ(all.back(), "net_tap0:3");
    EXPECT_GE(pages, static_cast<int>((5 + size - 1) / size)) << size;
  }
}

TEST_F(FlowDirectoryTest, FiltersByNicStateChannelsAndPeer) {
  int pages = 0;
  FlowFilter by_nic;
  by_nic.nic = "net_tap0";
  EXPECT_EQ(ListAll(by_nic, 100, &pages),
            (std::vector<std::string>{"net_tap0:2", "net_tap0:3"}));
  FlowFilter by_state;
  by_state.state = "connecting";
  EXPECT_EQ(ListAll(by_state, 100, &pages),
            (std::vector<std::string>{"net_ring0:4"}));
  FlowFilter by_channels;
  by_channels.channels = std::set<uint64_t>{7};
  EXPECT_EQ(ListAll(by_channels, 100, &pages),
            (std::vector<std::string>{"net_ring0:1", "net_ring0:10000"}));
  FlowFilter by_peer;
  by_peer.remote_ip = 0x0a010002;
  by_peer.state = "established";
  EXPECT_EQ(ListAll(by_peer, 100, &pages),
            (std::vector<std::string>{"net_tap0:3"}));
}

TEST_F(FlowDirectoryTest, BadRequestsAreRefused) {
  FlowFilter filter;
  EXPECT_EQ(directory_.List(filter, 1001, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory_.List(filter, 0, "nonsense").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory_.List(filter, 0, "net_ring0/-1/0").status().code(),
            absl::StatusCode::kInvalidArgument);
  filter.state = "listening";
  EXPECT_EQ(directory_.List(filter, 0, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  filter = FlowFilter{};
  filter.nic = "net_gone0";
  EXPECT_EQ(directory_.List(filter, 0, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FlowDirectoryTest, ATokenWhoseNicWasDetachedMustStartOver) {
  absl::StatusOr<FlowPage> first = directory_.List(FlowFilter{}, 4, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_token.empty());
  EXPECT_EQ(first->next_token.rfind("net_tap0/", 0), 0u) << first->next_token;
  engines_.RemoveNic("net_tap0");
  // Expect: INVALID_ARGUMENT, saying to list from the start.
  const absl::Status s =
      directory_.List(FlowFilter{}, 4, first->next_token).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("from the start"), std::string::npos);
}

TEST_F(FlowDirectoryTest, GetFindsAFlowByNicAndId) {
  absl::StatusOr<FlowRecord> r = directory_.Get("net_ring0", 0x10000);
  ASSERT_TRUE(r.ok()) << r.status();
  // Expect: engine 1's flow, with the NIC's address.
  EXPECT_EQ(r->engine, 1);
  EXPECT_EQ(r->info.channel_id, 7u);
  EXPECT_EQ(r->local_ip, kRingAddress.address.value);
  // Expect: a free slot, an engine the NIC lacks, an unknown NIC.
  EXPECT_EQ(directory_.Get("net_ring0", 2).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(directory_.Get("net_ring0", 0x50001).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(directory_.Get("net_gone0", 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(directory_.Get("", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FlowDirectoryTest, CloseIsOneFlowOperationOnTheFlowsEngine) {
  engines_.set_flow_op_answer([](const FlowOp& op, FlowOpResult* result) {
    result->status =
        op.flow == 0x10000 ? FERRY_STATUS_OK : FERRY_STATUS_UNKNOWN_FLOW;
    return true;
  });
  EXPECT_TRUE(directory_.Close("net_ring0", 0x10000, /*reset=*/true, 7).ok());
  // Expect: a reset of that flow on engine 1, for channel 7 only.
  const std::vector<engine::EngineCommand> posted = engines_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].type, engine::CommandType::kFlowOp);
  EXPECT_EQ(posted[0].flow_op.kind, FlowOpKind::kReset);
  EXPECT_EQ(posted[0].flow_op.flow, 0x10000u);
  EXPECT_EQ(posted[0].channel_id, 7u);
  // Expect: an orderly close when not a reset; an engine that does not
  // know the flow makes it NOT_FOUND, carrying its reason.
  EXPECT_TRUE(directory_.Close("net_ring0", 0x10000, false).ok());
  EXPECT_EQ(engines_.posted().back().flow_op.kind, FlowOpKind::kClose);
  EXPECT_EQ(engines_.posted().back().channel_id, 0u);
  const absl::Status gone = directory_.Close("net_ring0", 3, false);
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FerryStatusOf(gone), FERRY_STATUS_UNKNOWN_FLOW);
}

}  // namespace
}  // namespace ferry::controlplane
