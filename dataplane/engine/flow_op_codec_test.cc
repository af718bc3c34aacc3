// The control ring's requests decode into the engine's FlowOp, and results
// encode into the replies the client library reads.
#include "dataplane/engine/flow_op_codec.h"

#include <cstring>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

ferry_ctrl Request(uint16_t op, const ferry_ctrl_flow_args& args) {
  ferry_ctrl request = {};
  request.id = 77;
  request.op = op;
  std::memcpy(request.args, &args, sizeof(args));
  return request;
}

TEST(FlowOpCodecTest, EachRingOperationDecodesToItsKind) {
  const struct {
    uint16_t op;
    FlowOpKind kind;
  } kCases[] = {
      {FERRY_CTRL_NOOP, FlowOpKind::kPing},
      {FERRY_CTRL_LISTEN, FlowOpKind::kListen},
      {FERRY_CTRL_UNLISTEN, FlowOpKind::kUnlisten},
      {FERRY_CTRL_CONNECT, FlowOpKind::kConnect},
      {FERRY_CTRL_CLOSE, FlowOpKind::kClose},
  };
  for (const auto& c : kCases) {
    const std::optional<FlowOp> op = DecodeFlowOp(Request(c.op, {}));
    ASSERT_TRUE(op.has_value()) << c.op;
    EXPECT_EQ(op->kind, c.kind) << c.op;
  }
}

TEST(FlowOpCodecTest, ArgumentsCarryOver) {
  ferry_ctrl_flow_args args = {};
  args.flow = 0x00110005;
  args.remote_ip = 0x0a000002;
  args.remote_port = 7000;
  args.local_port = 49152;
  const std::optional<FlowOp> op =
      DecodeFlowOp(Request(FERRY_CTRL_CONNECT, args));
  ASSERT_TRUE(op.has_value());
  EXPECT_EQ(op->remote_ip.value, 0x0a000002u);
  EXPECT_EQ(op->remote_port, 7000);
  EXPECT_EQ(op->local_port, 49152);
  EXPECT_EQ(op->flow, 0x00110005u);
}

TEST(FlowOpCodecTest, AnOperationTheRingDoesNotCarryIsRefused) {
  // Reset is the operator's (gRPC CloseFlow with reset), not the ring's.
  for (const uint16_t op : {5, 6, 0xffff}) {
    EXPECT_FALSE(DecodeFlowOp(Request(op, {})).has_value()) << op;
  }
}

TEST(FlowOpCodecTest, AReplyEchoesTheRequestAndCarriesTheResult) {
  FlowOpResult result;
  result.status = FERRY_STATUS_REFUSED;
  result.flow = 9;
  result.local_ip = net::Ipv4Address{0x0a000001};
  result.local_port = 49152;
  result.remote_ip = net::Ipv4Address{0x0a000002};
  result.remote_port = 7000;
  const ferry_ctrl reply = EncodeFlowOpReply(77, FERRY_CTRL_CONNECT, result);
  EXPECT_EQ(reply.id, 77u);
  EXPECT_EQ(reply.op, FERRY_CTRL_CONNECT);
  EXPECT_EQ(reply.status, FERRY_STATUS_REFUSED);
  ferry_ctrl_flow_args out;
  std::memcpy(&out, reply.args, sizeof(out));
  EXPECT_EQ(out.flow, 9u);
  EXPECT_EQ(out.local_ip, 0x0a000001u);
  EXPECT_EQ(out.local_port, 49152);
  EXPECT_EQ(out.remote_ip, 0x0a000002u);
  EXPECT_EQ(out.remote_port, 7000);
}

}  // namespace
}  // namespace ferry::engine
