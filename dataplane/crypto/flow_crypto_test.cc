#include "dataplane/crypto/flow_crypto.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::crypto {
namespace {

TrustConfig Node() {
  TrustConfig config;
  config.node_key = *KeyPair::Generate();
  return config;
}

void Trust(TrustConfig& a, const TrustConfig& b) {
  a.trusted.Insert(b.node_key->public_key());
}

// Two nodes that trust each other, and one flow's ends, handshake done.
struct Pair {
  TrustConfig a = Node();
  TrustConfig b = Node();
  std::unique_ptr<FlowCrypto> initiator;
  std::unique_ptr<FlowCrypto> responder;

  bool Handshake() {
    initiator = std::make_unique<FlowCrypto>(a);
    responder = std::make_unique<FlowCrypto>(b);
    absl::Span<const uint8_t> syn = initiator->SynPayload();
    if (syn.size() != FlowCrypto::kSynPayloadSize) return false;
    if (responder->AcceptSyn(syn) != FlowCrypto::Verdict::kOk) return false;
    return initiator->CompleteSynAck(responder->SynAckPayload()) ==
           FlowCrypto::Verdict::kOk;
  }
};

Pair Trusting() {
  Pair p;
  Trust(p.a, p.b);
  Trust(p.b, p.a);
  return p;
}

// A segment as the engine lays it out: 48 header bytes, 8 secure header
// bytes, the payload, the tag.
struct Segment {
  std::vector<uint8_t> header = std::vector<uint8_t>(56);
  std::vector<uint8_t> payload;
  uint8_t tag[16];
};

Segment Seal(FlowCrypto& from, const std::vector<uint8_t>& message,
             uint8_t header_byte = 0x33) {
  Segment s;
  std::fill(s.header.begin(), s.header.begin() + 48, header_byte);
  s.payload.resize(message.size());
  EXPECT_TRUE(from.BeginSeal(absl::MakeSpan(s.header)));
  // In two pieces, as from two channel buffers.
  const size_t half = message.size() / 2;
  EXPECT_TRUE(from.Encrypt(message.data(), s.payload.data(), half));
  EXPECT_TRUE(from.Encrypt(message.data() + half, s.payload.data() + half,
                           message.size() - half));
  EXPECT_TRUE(from.FinishSeal(s.tag));
  return s;
}

FlowCrypto::OpenResult Open(FlowCrypto& to, Segment s,
                            std::vector<uint8_t>* out = nullptr) {
  FlowCrypto::OpenResult r =
      to.Open(s.header, s.payload.data(), s.payload.size(), s.tag);
  if (out != nullptr) *out = s.payload;
  return r;
}

TEST(FlowCryptoTest, TrustingNodesAgreeAndExchangeSegmentsBothWays) {
  Pair p = Trusting();
  ASSERT_TRUE(p.Handshake());
  ASSERT_TRUE(p.initiator->ready() && p.responder->ready());
  EXPECT_EQ(*p.initiator->peer(), p.b.node_key->public_key());
  EXPECT_EQ(*p.responder->peer(), p.a.node_key->public_key());
  EXPECT_EQ(p.responder->SynAckPayload().size(),
            FlowCrypto::kSynAckPayloadSize);
  const std::vector<uint8_t> message(1000, 0x7e);
  Segment s = Seal(*p.initiator, message);
  EXPECT_NE(s.payload, message);
  std::vector<uint8_t> got;
  ASSERT_EQ(Open(*p.responder, s, &got), FlowCrypto::OpenResult::kOk);
  EXPECT_EQ(got, message);
  Segment back = Seal(*p.responder, message);
  ASSERT_EQ(Open(*p.initiator, back, &got), FlowCrypto::OpenResult::kOk);
  EXPECT_EQ(got, message);
  // The two directions use different keys: a segment does not open on
  // the side that sealed it.
  EXPECT_EQ(Open(*p.responder, Seal(*p.responder, message)),
            FlowCrypto::OpenResult::kForged);
}

TEST(FlowCryptoTest, ASynIsResentAsItWasAndKeysAreOnePerFlow) {
  Pair p = Trusting();
  FlowCrypto initiator(p.a);
  const std::vector<uint8_t> first(initiator.SynPayload().begin(),
                                   initiator.SynPayload().end());
  const std::vector<uint8_t> again(initiator.SynPayload().begin(),
                                   initiator.SynPayload().end());
  EXPECT_EQ(first, again);
  // Two flows between the same nodes get different keys (fresh ephemeral
  // keys): one's segment does not open on the other.
  ASSERT_TRUE(p.Handshake());
  std::unique_ptr<FlowCrypto> first_initiator = std::move(p.initiator);
  ASSERT_TRUE(p.Handshake());
  EXPECT_EQ(Open(*p.responder, Seal(*first_initiator, {1, 2, 3})),
            FlowCrypto::OpenResult::kForged);
}

TEST(FlowCryptoTest, AnUntrustedKeyGetsNoFlowOnEitherSide) {
  // The responder does not know the initiator.
  Pair p;
  Trust(p.a, p.b);
  FlowCrypto initiator(p.a);
  FlowCrypto responder(p.b);
  EXPECT_EQ(responder.AcceptSyn(initiator.SynPayload()),
            FlowCrypto::Verdict::kUntrusted);
  EXPECT_FALSE(responder.ready());
  EXPECT_EQ(*responder.peer(), p.a.node_key->public_key());
  // The initiator does not know the responder.
  Pair q;
  Trust(q.b, q.a);
  FlowCrypto i2(q.a);
  FlowCrypto r2(q.b);
  ASSERT_EQ(r2.AcceptSyn(i2.SynPayload()), FlowCrypto::Verdict::kOk);
  EXPECT_EQ(i2.CompleteSynAck(r2.SynAckPayload()),
            FlowCrypto::Verdict::kUntrusted);
  EXPECT_FALSE(i2.ready());
}

TEST(FlowCryptoTest, MalformedHandshakesAreRefused) {
  Pair p = Trusting();
  FlowCrypto responder(p.b);
  EXPECT_EQ(responder.AcceptSyn({}), FlowCrypto::Verdict::kBadMessage);
  std::vector<uint8_t> zeros(FlowCrypto::kSynPayloadSize, 0);
  FlowCrypto r2(p.b);
  // Zeros parse (the first message has no DH), and name a key nobody
  // trusts.
  EXPECT_EQ(r2.AcceptSyn(zeros), FlowCrypto::Verdict::kUntrusted);
  EXPECT_FALSE(r2.ready());
  // A SYN-ACK changed on the way.
  FlowCrypto initiator(p.a);
  FlowCrypto r3(p.b);
  ASSERT_EQ(r3.AcceptSyn(initiator.SynPayload()), FlowCrypto::Verdict::kOk);
  std::vector<uint8_t> synack(r3.SynAckPayload().begin(),
                              r3.SynAckPayload().end());
  synack[40] ^= 1;
  EXPECT_EQ(initiator.CompleteSynAck(synack), FlowCrypto::Verdict::kBadMessage);
  EXPECT_FALSE(initiator.ready());
  // A node without a key cannot take part.
  TrustConfig keyless;
  FlowCrypto nobody(keyless);
  EXPECT_TRUE(nobody.SynPayload().empty());
}

// Replays, changed headers, payloads and tags are refused, and a refused
// segment does not move the replay window.
TEST(FlowCryptoTest, ReplaysAndForgeriesAreRefusedWithoutHarm) {
  Pair p = Trusting();
  ASSERT_TRUE(p.Handshake());
  const std::vector<uint8_t> message(500, 0x42);
  Segment first = Seal(*p.initiator, message);
  Segment second = Seal(*p.initiator, message);
  ASSERT_EQ(Open(*p.responder, first), FlowCrypto::OpenResult::kOk);
  EXPECT_EQ(Open(*p.responder, first), FlowCrypto::OpenResult::kReplayed);
  Segment header = second;
  header.header[10] ^= 1;
  EXPECT_EQ(Open(*p.responder, header), FlowCrypto::OpenResult::kForged);
  Segment body = second;
  body.payload[100] ^= 1;
  EXPECT_EQ(Open(*p.responder, body), FlowCrypto::OpenResult::kForged);
  Segment tag = second;
  tag.tag[0] ^= 1;
  EXPECT_EQ(Open(*p.responder, tag), FlowCrypto::OpenResult::kForged);
  // A forged packet number far ahead must not slide the window.
  Segment ahead = second;
  ahead.header[55] ^= 0x40;
  EXPECT_EQ(Open(*p.responder, ahead), FlowCrypto::OpenResult::kForged);
  std::vector<uint8_t> got;
  ASSERT_EQ(Open(*p.responder, second, &got), FlowCrypto::OpenResult::kOk);
  EXPECT_EQ(got, message);
}

// The sender rotates every 50 segments; the receiver sees them reordered
// (some from before a rotation arrive after the first of the next epoch)
// and opens every one exactly once.
TEST(FlowCryptoTest, RotationUnderReorderingLosesAndRepeatsNothing) {
  Pair p = Trusting();
  ASSERT_TRUE(p.Handshake());
  std::vector<Segment> sent;
  std::vector<std::vector<uint8_t>> messages;
  for (int i = 0; i < 1000; ++i) {
    if (i > 0 && i % 50 == 0) {
      ASSERT_TRUE(p.initiator->Rotate().ok());
    }
    messages.push_back(std::vector<uint8_t>(64, static_cast<uint8_t>(i)));
    sent.push_back(Seal(*p.initiator, messages.back()));
  }
  EXPECT_EQ(p.initiator->tx_epoch(), 19);
  // Swap neighbours across each epoch boundary, and shuffle within small
  // windows elsewhere.
  std::vector<int> order(sent.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::mt19937 rng(3);
  for (size_t i = 0; i + 8 <= order.size(); i += 8) {
    std::shuffle(order.begin() + i, order.begin() + i + 8, rng);
  }
  for (size_t i = 50; i < order.size(); i += 50)
    std::swap(order[i - 1], order[i]);
  int opened = 0;
  for (int i : order) {
    std::vector<uint8_t> got;
    ASSERT_EQ(Open(*p.responder, sent[i], &got), FlowCrypto::OpenResult::kOk)
        << "segment " << i;
    EXPECT_EQ(got, messages[i]);
    ++opened;
    // And never twice.
    EXPECT_EQ(Open(*p.responder, sent[i]), FlowCrypto::OpenResult::kReplayed);
  }
  EXPECT_EQ(opened, 1000);
  EXPECT_EQ(p.responder->rx_epoch(), 19);
  // Two epochs ahead (a segment the receiver cannot have a key for yet).
  ASSERT_TRUE(p.initiator->Rotate().ok());
  ASSERT_TRUE(p.initiator->Rotate().ok());
  EXPECT_EQ(Open(*p.responder, Seal(*p.initiator, {9})),
            FlowCrypto::OpenResult::kBadEpoch);
}

TEST(FlowCryptoTest, SecureHeaderRoundTrip) {
  uint8_t bytes[8];
  WriteSecureHeader(SecureHeader{0xab, 0x00123456789abcdeull}, bytes);
  const SecureHeader back = ReadSecureHeader(bytes);
  EXPECT_EQ(back.epoch, 0xab);
  EXPECT_EQ(back.packet_number, 0x00123456789abcdeull);
}

}  // namespace
}  // namespace ferry::crypto
