// msg_gen over kernel sockets, the baseline that every run can carry: the
// same request/response loop and measurement as over Ferry. TCP frames
// each message with a 4-byte big-endian length and sets TCP_NODELAY; UDP
// sends one datagram per message (at most 65507 bytes; a lost datagram
// ends the run, since UDP itself never resends).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/msg_gen/payload.h"
#include "bench/msg_gen/roles.h"
#include "bench/msg_gen/run_stats.h"
#include "client/abi/ferry_channel_abi.h"
#include "dataplane/base/clock.h"

namespace ferry::bench {
namespace {

constexpr uint32_t kMaxUdpPayload = 65507;
constexpr size_t kInitialFrame = 64 << 10;

absl::Status Sys(const char* what) {
  return absl::UnavailableError(
      absl::StrFormat("%s: %s", what, std::strerror(errno)));
}

sockaddr_in Address(uint32_t ip, uint16_t port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  a.sin_port = htons(port);
  return a;
}

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool WriteFrame(int fd, const uint8_t* p, uint32_t n) {
  uint8_t header[4];
  const uint32_t be = htonl(n);
  std::memcpy(header, &be, 4);
  iovec iov[2] = {{header, 4}, {const_cast<uint8_t*>(p), n}};
  msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  size_t total = 4 + size_t{n};
  ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (w < 0) return false;
  if (static_cast<size_t>(w) == total) return true;
  // A partial write: finish the rest plainly.
  const size_t done = static_cast<size_t>(w);
  if (done < 4) {
    return WriteAll(fd, header + done, 4 - done) && WriteAll(fd, p, n);
  }
  return WriteAll(fd, p + (done - 4), n - (done - 4));
}

// Reassembles length-prefixed frames from a TCP byte stream. The buffer
// starts small and grows to the largest frame seen, so that a server that
// accepts any size up to 8 MiB does not hold 8 MiB per connection.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame) : max_frame_(max_frame) {
    buffer_.resize(4 + std::min<size_t>(max_frame, kInitialFrame) + 65536);
  }
  // Reads what the socket has; false on EOF or error.
  bool Fill(int fd) {
    if (end_ == buffer_.size()) Compact();
    const ssize_t r =
        recv(fd, buffer_.data() + end_, buffer_.size() - end_, MSG_DONTWAIT);
    if (r == 0) return false;
    if (r < 0) return errno == EAGAIN || errno == EINTR;
    end_ += static_cast<size_t>(r);
    return true;
  }
  // The next whole frame, or null. Sets bad() on an oversized frame.
  const uint8_t* Next(uint32_t* length) {
    if (end_ - start_ < 4) {
      Compact();
      return nullptr;
    }
    uint32_t be;
    std::memcpy(&be, buffer_.data() + start_, 4);
    const uint32_t n = ntohl(be);
    if (n > max_frame_) {
      bad_ = true;
      return nullptr;
    }
    if (end_ - start_ < 4 + size_t{n}) {
      Compact();
      if (buffer_.size() < 4 + size_t{n}) buffer_.resize(4 + size_t{n} + 65536);
      return nullptr;
    }
    const uint8_t* p = buffer_.data() + start_ + 4;
    start_ += 4 + size_t{n};
    *length = n;
    return p;
  }
  bool bad() const { return bad_; }

 private:
  void Compact() {
    if (start_ == 0) return;
    std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  size_t max_frame_;
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  size_t end_ = 0;
  bool bad_ = false;
};

struct Outstanding {
  std::vector<uint64_t> sent_ns;
  std::vector<uint64_t> seqs;
  std::vector<uint8_t> size_classes;
  uint32_t head = 0;
  uint32_t count = 0;
  uint64_t next_seq = 0;
  uint64_t rng = 0x9E3779B97F4A7C15ull;  // request sizes' draws
};

// Fills the next request into `request`; returns its size.
uint32_t NextRequest(Outstanding& out, uint32_t index, const MsgGenOptions& o,
                     std::vector<uint8_t>& request) {
  // A request too short to carry its sequence number carries 0 (the
  // server answers with the pattern of what it read).
  const uint64_t seq = o.request_size >= sizeof(uint64_t)
                           ? (uint64_t{index} << 40) | out.next_seq++
                           : 0;
  const size_t size_class = o.request_sizes.Draw(&out.rng);
  const uint32_t size = o.request_sizes.mixed()
                            ? o.request_sizes.size(size_class)
                            : static_cast<uint32_t>(request.size());
  if (o.verify) {
    FillPayload(request.data(), size, seq, false);
  } else if (size >= sizeof(seq)) {
    std::memcpy(request.data(), &seq, sizeof(seq));
  }
  const uint32_t window = static_cast<uint32_t>(out.sent_ns.size());
  const uint32_t slot = (out.head + out.count) % window;
  out.sent_ns[slot] = MonotonicNanos();
  out.seqs[slot] = seq;
  out.size_classes[slot] = static_cast<uint8_t>(size_class);
  ++out.count;
  return size;
}

// Takes the oldest outstanding request for a response that arrived now.
void Complete(Outstanding& out, RunStats& stats, const MsgGenOptions& o,
              const uint8_t* response, size_t n, uint64_t now) {
  const uint32_t window = static_cast<uint32_t>(out.sent_ns.size());
  const uint64_t seq = out.seqs[out.head];
  stats.OnRoundTrip(now, now - out.sent_ns[out.head],
                    out.size_classes[out.head]);
  out.head = (out.head + 1) % window;
  --out.count;
  if (o.verify &&
      (n != o.response_size || !CheckPayload(response, n, seq, true))) {
    stats.OnVerifyFailure();
  }
}

void FillResponse(const MsgGenOptions& o, const uint8_t* request, size_t n,
                  std::vector<uint8_t>& response, uint64_t* bad) {
  const uint64_t seq = PayloadSeq(request, n);
  if (o.verify) {
    if (!CheckPayload(request, n, seq, false)) ++*bad;
    FillPayload(response.data(), response.size(), seq, true);
  } else if (response.size() >= sizeof(seq)) {
    std::memcpy(response.data(), &seq, sizeof(seq));
  }
}

absl::Status Verdict(const RunStats& stats, const std::string& error,
                     absl::Status written) {
  if (!error.empty()) return absl::AbortedError(error);
  if (stats.verify_failures() > 0) {
    return absl::DataLossError(absl::StrFormat(
        "%d responses failed verification", stats.verify_failures()));
  }
  return written;
}

// A server's closing line and verdict.
absl::Status ServerVerdict(uint64_t served, uint64_t bad) {
  std::printf(
      "msg_gen server: %lu requests answered, %lu failed "
      "verification\n",
      static_cast<unsigned long>(served), static_cast<unsigned long>(bad));
  if (bad > 0) {
    return absl::DataLossError(
        absl::StrFormat("%d requests failed verification", bad));
  }
  return absl::OkStatus();
}

absl::Status CheckUdpSizes(const MsgGenOptions& o) {
  if (o.request_size > kMaxUdpPayload || o.response_size > kMaxUdpPayload) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "UDP carries at most %d bytes per message", kMaxUdpPayload));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunTcpClient(const MsgGenOptions& o) {
  std::vector<int> fds;
  std::vector<FrameReader> readers;
  std::vector<Outstanding> outs(o.flows);
  auto close_all = [&] {
    for (int fd : fds) close(fd);
  };
  for (uint32_t i = 0; i < o.flows; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Sys("socket");
    fds.push_back(fd);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o.local_ip != 0) {
      sockaddr_in local = Address(o.local_ip, 0);
      bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    }
    sockaddr_in remote = Address(o.ServerOfFlow(i).ip, o.ServerOfFlow(i).port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) !=
        0) {
      const absl::Status s = Sys("connect");
      close_all();
      return s;
    }
    readers.emplace_back(o.response_size);
    outs[i].sent_ns.resize(o.window);
    outs[i].seqs.resize(o.window);
    outs[i].size_classes.resize(o.window);
  }
  std::vector<uint8_t> request(o.request_size);
  RunStats stats(o, MonotonicNanos());
  std::string error;
  for (uint32_t i = 0; i < o.flows && error.empty(); ++i) {
    while (outs[i].count < o.window) {
      const uint32_t size = NextRequest(outs[i], i, o, request);
      if (!WriteFrame(fds[i], request.data(), size)) {
        error = std::strerror(errno);
        break;
      }
    }
  }
  std::vector<pollfd> pfds(o.flows);
  for (uint32_t i = 0; i < o.flows; ++i) pfds[i] = {fds[i], POLLIN, 0};
  bool done = false;
  while (!done && error.empty()) {
    const int ready = poll(pfds.data(), pfds.size(), o.spin ? 0 : 100);
    const uint64_t now = MonotonicNanos();
    done = stats.Tick(now);
    if (ready <= 0) continue;
    for (uint32_t i = 0; i < o.flows && error.empty(); ++i) {
      if ((pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      if (!readers[i].Fill(fds[i])) {
        error = "the server closed the connection";
        break;
      }
      uint32_t n;
      while (const uint8_t* frame = readers[i].Next(&n)) {
        if (outs[i].count == 0) {
          error = "a response nobody asked for";
          break;
        }
        const uint64_t at = MonotonicNanos();
        Complete(outs[i], stats, o, frame, n, at);
        done = stats.Tick(at);
        if (done) break;
        const uint32_t size = NextRequest(outs[i], i, o, request);
        if (!WriteFrame(fds[i], request.data(), size)) {
          error = std::strerror(errno);
          break;
        }
      }
      if (readers[i].bad()) error = "an oversized response frame";
    }
  }
  const absl::Status written = stats.Finish(MonotonicNanos(), error);
  close_all();
  return Verdict(stats, error, written);
}

absl::Status RunTcpServer(const MsgGenOptions& o,
                          const std::atomic<bool>& stop) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return Sys("socket");
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in local = Address(o.local_ip, o.local_port);
  if (bind(listener, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      listen(listener, 256) != 0) {
    const absl::Status s = Sys("bind/listen");
    close(listener);
    return s;
  }
  std::printf("msg_gen server: tcp, listening on port %d\n", o.local_port);
  std::fflush(stdout);
  std::vector<pollfd> pfds = {{listener, POLLIN, 0}};
  std::vector<FrameReader> readers;  // readers[i] for pfds[i + 1]
  std::vector<uint8_t> response(o.response_size);
  uint64_t served = 0, bad = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (poll(pfds.data(), pfds.size(), o.spin ? 0 : 100) <= 0) continue;
    if (pfds[0].revents & POLLIN) {
      const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pfds.push_back({fd, POLLIN, 0});
        // Any request size a client sends (up to 8 MiB): the server
        // does not know the clients' sizes.
        readers.emplace_back(FERRY_MAX_MESSAGE_SIZE);
      }
    }
    for (size_t i = 1; i < pfds.size(); ++i) {
      if ((pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      bool alive = readers[i - 1].Fill(pfds[i].fd);
      uint32_t n;
      while (alive) {
        const uint8_t* frame = readers[i - 1].Next(&n);
        if (frame == nullptr) break;
        FillResponse(o, frame, n, response, &bad);
        alive = WriteFrame(pfds[i].fd, response.data(), o.response_size);
        ++served;
      }
      if (!alive || readers[i - 1].bad()) {
        close(pfds[i].fd);
        pfds.erase(pfds.begin() + static_cast<long>(i));
        readers.erase(readers.begin() + static_cast<long>(i - 1));
        --i;
      }
    }
  }
  for (size_t i = 1; i < pfds.size(); ++i) close(pfds[i].fd);
  close(listener);
  return ServerVerdict(served, bad);
}

absl::Status RunUdpClient(const MsgGenOptions& o) {
  if (absl::Status s = CheckUdpSizes(o); !s.ok()) return s;
  std::vector<int> fds;
  std::vector<Outstanding> outs(o.flows);
  auto close_all = [&] {
    for (int fd : fds) close(fd);
  };
  for (uint32_t i = 0; i < o.flows; ++i) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Sys("socket");
    fds.push_back(fd);
    sockaddr_in remote = Address(o.ServerOfFlow(i).ip, o.ServerOfFlow(i).port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) !=
        0) {
      const absl::Status s = Sys("connect");
      close_all();
      return s;
    }
    outs[i].sent_ns.resize(o.window);
    outs[i].seqs.resize(o.window);
    outs[i].size_classes.resize(o.window);
  }
  std::vector<uint8_t> request(o.request_size);
  std::vector<uint8_t> response(o.response_size + 1);
  RunStats stats(o, MonotonicNanos());
  std::string error;
  for (uint32_t i = 0; i < o.flows && error.empty(); ++i) {
    while (outs[i].count < o.window) {
      NextRequest(outs[i], i, o, request);
      if (send(fds[i], request.data(), request.size(), 0) < 0) {
        error = std::strerror(errno);
        break;
      }
    }
  }
  std::vector<pollfd> pfds(o.flows);
  for (uint32_t i = 0; i < o.flows; ++i) pfds[i] = {fds[i], POLLIN, 0};
  uint64_t last_progress = MonotonicNanos();
  bool done = false;
  while (!done && error.empty()) {
    const int ready = poll(pfds.data(), pfds.size(), o.spin ? 0 : 100);
    const uint64_t now = MonotonicNanos();
    done = stats.Tick(now);
    if (now - last_progress > 1'000'000'000) {
      error = "no response for 1 s: a datagram was lost";
      break;
    }
    if (ready <= 0) continue;
    for (uint32_t i = 0; i < o.flows && error.empty() && !done; ++i) {
      if ((pfds[i].revents & POLLIN) == 0) continue;
      ssize_t n;
      while ((n = recv(fds[i], response.data(), response.size(),
                       MSG_DONTWAIT)) >= 0) {
        if (outs[i].count == 0) continue;  // a duplicate
        const uint64_t at = MonotonicNanos();
        last_progress = at;
        Complete(outs[i], stats, o, response.data(), static_cast<size_t>(n),
                 at);
        done = stats.Tick(at);
        if (done) break;
        NextRequest(outs[i], i, o, request);
        if (send(fds[i], request.data(), request.size(), 0) < 0) {
          error = std::strerror(errno);
          break;
        }
      }
    }
  }
  const absl::Status written = stats.Finish(MonotonicNanos(), error);
  close_all();
  return Verdict(stats, error, written);
}

absl::Status RunUdpServer(const MsgGenOptions& o,
                          const std::atomic<bool>& stop) {
  if (absl::Status s = CheckUdpSizes(o); !s.ok()) return s;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Sys("socket");
  sockaddr_in local = Address(o.local_ip, o.local_port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    const absl::Status s = Sys("bind");
    close(fd);
    return s;
  }
  std::printf("msg_gen server: udp, listening on port %d\n", o.local_port);
  std::fflush(stdout);
  std::vector<uint8_t> request(kMaxUdpPayload + 1);
  std::vector<uint8_t> response(o.response_size);
  uint64_t served = 0, bad = 0;
  pollfd pfd = {fd, POLLIN, 0};
  while (!stop.load(std::memory_order_relaxed)) {
    if (poll(&pfd, 1, o.spin ? 0 : 100) <= 0) continue;
    sockaddr_in peer = {};
    socklen_t len = sizeof(peer);
    ssize_t n;
    while ((n = recvfrom(fd, request.data(), request.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&peer), &len)) >= 0) {
      FillResponse(o, request.data(), static_cast<size_t>(n), response, &bad);
      sendto(fd, response.data(), response.size(), 0,
             reinterpret_cast<sockaddr*>(&peer), len);
      ++served;
      len = sizeof(peer);
    }
  }
  close(fd);
  return ServerVerdict(served, bad);
}

}  // namespace ferry::bench
