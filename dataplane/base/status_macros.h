// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status control-path code.
#ifndef FERRY_DATAPLANE_BASE_STATUS_MACROS_H_
#define FERRY_DATAPLANE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FERRY_STATUS_CONCAT_INNER(a, b) a##b
#define FERRY_STATUS_CONCAT(a, b) FERRY_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status ferry_status_ = (expr);         \
    if (!ferry_status_.ok()) return ferry_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr)                                           \
  FERRY_ASSIGN_OR_RETURN_IMPL(FERRY_STATUS_CONCAT(ferry_statusor_, __LINE__), \
                              lhs, expr)

#define FERRY_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

#endif  // FERRY_DATAPLANE_BASE_STATUS_MACROS_H_
