// The application's session with ferryd (SessionService in
// proto/ferry/v1/ferry.proto), and the Flow RPCs made for its channels.
//
// Open() starts the session's stream and a thread that sends its
// heartbeats; the destructor ends the stream, and with it every channel and
// flow the session still holds. Calls may come from any thread (gRPC stubs
// are thread-safe); the session must outlive its channels.
#ifndef FERRY_CLIENT_SESSION_CLIENT_H_
#define FERRY_CLIENT_SESSION_CLIENT_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "client/abi/ferry_channel_abi.h"
#include "grpcpp/grpcpp.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

struct ferry_session;  // client/ferry.h

namespace ferry::client {

// The gRPC target of a Unix socket path ("@name": an abstract socket).
std::string GrpcTargetForSocket(const std::string& socket_path);

struct ChannelTicket {
  std::array<uint8_t, 16> ticket;
  std::string channel_socket;
};

class SessionClient {
 public:
  // Connects to ferryd's API socket (`socket_path`; "@name": abstract) and
  // opens a session named `name`. Returns 0 or a negative errno
  // (-ECONNREFUSED when ferryd does not answer, -EAGAIN past its session
  // quota, -EPROTO, -EINVAL for a linger ferryd refuses), with ferryd's
  // reason in `*error`. `linger_ms`: how long ferryd may take to deliver
  // what the session's channels accepted once it ends (0: ferryd's
  // default).
  static int Open(const std::string& socket_path, const std::string& name,
                  std::unique_ptr<SessionClient>* session, std::string* error,
                  uint32_t linger_ms = 0);
  ~SessionClient();
  SessionClient(const SessionClient&) = delete;
  SessionClient& operator=(const SessionClient&) = delete;

  uint64_t id() const { return id_; }

  // A ticket for one more channel: 0 or -errno (-EMFILE past the quota,
  // -ENODEV with no NIC attached).
  // The sizes (0: ferryd's defaults) are reserved against the session's
  // memory quota; the attach request must ask for the same.
  int CreateChannel(ChannelTicket* ticket, std::string* error,
                    uint32_t buffer_count = 0, uint32_t buffer_size = 0,
                    uint32_t ring_capacity = 0);
  // LISTEN, UNLISTEN or CONNECT for the session's channel `channel_id`, as
  // the channel's control ring would answer them: 0 or the errno of
  // ferryd's ferry_status, `out` filled like a ring completion.
  int FlowCall(uint64_t channel_id, uint16_t op,
               const ferry_ctrl_flow_args& args, int timeout_ms,
               ferry_ctrl_flow_args* out, std::string* error);
  // FlowService.Connect with its whole answer (ferryctl shows how long the
  // engine took): 0 or -errno as for FlowCall. `remote_ip` in host byte
  // order.
  int Connect(uint64_t channel_id, uint32_t local_ip, uint32_t remote_ip,
              uint32_t remote_port, uint32_t local_port, int timeout_ms,
              v1::ConnectResponse* response, std::string* error);
  // SessionService.DestroyChannel: ferryd lets go of the channel now
  // rather than when it notices the channel socket closed: it drains what
  // the channel accepted and closes its flows in order, or with `abort`
  // resets them.
  int DestroyChannel(uint64_t channel_id, bool abort, std::string* error);

 private:
  SessionClient() = default;
  void SendHeartbeats();
  void FillRef(v1::SessionRef* ref) const;

  std::shared_ptr<grpc::Channel> grpc_channel_;
  std::unique_ptr<v1::SessionService::Stub> sessions_;
  std::unique_ptr<v1::FlowService::Stub> flows_;
  grpc::ClientContext stream_context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::SessionRequest, v1::SessionEvent>>
      stream_;
  uint64_t id_ = 0;
  std::string token_;
  uint32_t heartbeat_timeout_ms_ = 1000;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread heartbeat_thread_;
};

// The session behind a C API handle, for C++ programs that want the RPCs'
// full answers.
SessionClient* SessionOf(ferry_session* session);

}  // namespace ferry::client

#endif  // FERRY_CLIENT_SESSION_CLIENT_H_
