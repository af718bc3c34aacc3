// A real gRPC server and client over a Unix socket, built from protos that
// Debian's protoc and grpc_cpp_plugin compiled offline.
#include <unistd.h>

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "third_party/grpc_check/echo.grpc.pb.h"

namespace ferry::grpc_check {
namespace {

class EchoService final : public Echo::Service {
  grpc::Status Say(grpc::ServerContext*, const EchoRequest* request,
                   EchoReply* reply) override {
    if (request->text().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty text");
    }
    reply->set_text("echo: " + request->text());
    return grpc::Status::OK;
  }
};

TEST(GrpcToolchainTest, ServerAndClientTalkOverUnixSocket) {
  // Abstract socket: unique per process, nothing on disk, and free of the
  // 107-character path limit that Bazel's deep TEST_TMPDIR would hit.
  const std::string address =
      "unix-abstract:ferry-echo-" + std::to_string(getpid());
  EchoService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto stub = Echo::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  EchoRequest request;
  request.set_text("ferry");
  EchoReply reply;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Say(&context, request, &reply).ok());
  EXPECT_EQ(reply.text(), "echo: ferry");

  grpc::ClientContext bad_context;
  EchoRequest empty;
  grpc::Status status = stub->Say(&bad_context, empty, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "empty text");
  server->Shutdown();
}

}  // namespace
}  // namespace ferry::grpc_check
