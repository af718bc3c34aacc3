// A well-behaved application for channel tests, using the public C API.
//
//   channel_test_client --socket=@name --mode=roundtrip --sizes=1,1024
//   channel_test_client --socket=@name --mode=traffic --count=20000
//
// roundtrip: each size once, echoed back byte-exact (self-checking content).
// traffic: `count` messages of mixed sizes, one in flight, each verified.
// hold: attach, print "attached", keep the channel for --hold_ms, detach.
// probe: against ferryd with no flows: the engine answers a control ping,
// and a message on an unknown flow comes back as a send error saying so.
// Prints one line per result and "PASS ..." last; exits 1 on any mismatch.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/ferry.h"
#include "dataplane/channel/testing/test_message.h"

ABSL_FLAG(std::string, socket, "", "channel socket (a bare channel)");
ABSL_FLAG(std::string, ferryd_socket, "",
          "ferryd's API socket: a channel in a session of its own");
ABSL_FLAG(std::string, mode, "roundtrip", "roundtrip, traffic or probe");
ABSL_FLAG(std::string, sizes, "1,32,33,1024,1048576,8388608",
          "roundtrip sizes");
ABSL_FLAG(int, count, 1000, "traffic: messages");
ABSL_FLAG(int, seed, 1, "content seed");
ABSL_FLAG(int, hold_ms, 1000, "hold: keep the channel this long");

namespace {

using ferry::channel::testing::MakeTestMessage;

std::vector<uint8_t> received(FERRY_MAX_MESSAGE_SIZE);

bool Exchange(ferry_channel* channel, uint64_t flow,
              const std::vector<uint8_t>& message) {
  int rc;
  while ((rc = ferry_send(channel, flow, message.data(), message.size())) ==
         -EAGAIN) {
    usleep(100);
  }
  if (rc != 0) {
    std::printf("FAIL send of %zu bytes: %s\n", message.size(), strerror(-rc));
    return false;
  }
  ferry_recv_info info;
  const ssize_t n =
      ferry_recv_wait(channel, received.data(), received.size(), &info, 30000);
  if (n < 0 || (info.flags & FERRY_RECV_SEND_ERROR)) {
    std::printf("FAIL receive of %zu bytes: %s status %d\n", message.size(),
                n < 0 ? strerror(static_cast<int>(-n)) : "send error",
                info.status);
    return false;
  }
  if (static_cast<size_t>(n) != message.size() || info.flow != flow ||
      std::memcmp(received.data(), message.data(), message.size()) != 0) {
    std::printf("FAIL echo of %zu bytes differs (got %zd, flow %lu)\n",
                message.size(), n, static_cast<unsigned long>(info.flow));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  ferry_channel* channel = nullptr;
  const auto start = std::chrono::steady_clock::now();
  const int rc =
      absl::GetFlag(FLAGS_ferryd_socket).empty()
          ? ferry_attach_channel_socket(absl::GetFlag(FLAGS_socket).c_str(),
                                        nullptr, &channel)
          : ferry_attach(absl::GetFlag(FLAGS_ferryd_socket).c_str(), nullptr,
                         &channel);
  if (rc != 0) {
    std::printf("FAIL attach: %s\n", strerror(-rc));
    return 1;
  }
  const uint64_t seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_seed));
  if (absl::GetFlag(FLAGS_mode) == "hold") {
    // The attach's wall time (session, ticket, segment, engine), for
    // measurements of many applications attaching at once.
    std::printf("attached in %lld us\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count()));
    std::fflush(stdout);
    usleep(static_cast<useconds_t>(absl::GetFlag(FLAGS_hold_ms)) * 1000);
  } else if (absl::GetFlag(FLAGS_mode) == "probe") {
    const int ping = ferry_ping_engine(channel, 10000);
    if (ping != 0) {
      std::printf("FAIL engine ping: %s\n", strerror(-ping));
      return 1;
    }
    std::printf("ok engine ping\n");
    const std::vector<uint8_t> message = MakeTestMessage(5000, seed);
    if (ferry_sendmsg(channel, 77, nullptr, 0, 4242) != 0 ||
        ferry_send(channel, 78, message.data(), message.size()) != 0) {
      std::printf("FAIL send\n");
      return 1;
    }
    for (uint64_t flow : {77, 78}) {
      ferry_recv_info info;
      const ssize_t n = ferry_recv_wait(channel, received.data(),
                                        received.size(), &info, 10000);
      if (n != 0 || !(info.flags & FERRY_RECV_SEND_ERROR) ||
          info.flow != flow || info.status != FERRY_STATUS_UNKNOWN_FLOW) {
        std::printf("FAIL expected an unknown-flow error for flow %lu\n",
                    static_cast<unsigned long>(flow));
        return 1;
      }
    }
    std::printf("PASS probe\n");
  } else if (absl::GetFlag(FLAGS_mode) == "roundtrip") {
    for (absl::string_view text :
         absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
      size_t size = 0;
      if (!absl::SimpleAtoi(text, &size)) return 2;
      if (!Exchange(channel, 100 + size, MakeTestMessage(size, seed + size))) {
        return 1;
      }
      std::printf("ok size=%zu\n", size);
    }
    std::printf("PASS roundtrip\n");
  } else {
    std::mt19937_64 rng(seed);
    // Inline (up to FERRY_INLINE_MAX), one buffer, chains; the last two
    // are rarer.
    const size_t kSizes[] = {1,    16,   32,    33,    100,    1000,
                             4096, 4097, 20000, 65536, 300000, 1 << 20};
    uint64_t bytes = 0;
    const int count = absl::GetFlag(FLAGS_count);
    for (int i = 0; i < count; ++i) {
      const size_t size = kSizes[rng() % (i % 50 == 0 ? 12 : 10)];
      if (!Exchange(channel, 1, MakeTestMessage(size, rng()))) return 1;
      bytes += size;
    }
    std::printf("PASS traffic messages=%d bytes=%lu\n", count,
                static_cast<unsigned long>(bytes));
  }
  std::fflush(stdout);
  ferry_detach(channel);
  return 0;
}
