// Tells a service manager (systemd, Type=notify) how ferryd is doing, with
// the sd_notify(3) datagram protocol, without linking libsystemd: one
// datagram of "KEY=value" lines to the socket named by $NOTIFY_SOCKET.
#ifndef FERRY_CONTROLPLANE_DAEMON_SERVICE_NOTIFY_H_
#define FERRY_CONTROLPLANE_DAEMON_SERVICE_NOTIFY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::controlplane {

// Sends `state` ("READY=1\nSTATUS=...", "STOPPING=1") to `socket_path`: a
// filesystem path, or an abstract name written with a leading '@'.
absl::Status NotifyServiceManagerAt(const std::string& socket_path,
                                    absl::string_view state);

// The same to $NOTIFY_SOCKET; OK and nothing sent when it is not set
// (ferryd not started by a service manager, or one that does not ask).
absl::Status NotifyServiceManager(absl::string_view state);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_DAEMON_SERVICE_NOTIFY_H_
