// The client library, statuses: names and errno values, generated from the
// one list in ferry_channel_abi.h (FERRY_STATUS_LIST).
#include <cerrno>

#include "client/ferry.h"

extern "C" {

const char* ferry_status_name(uint16_t status) {
  switch (status) {
#define FERRY_STATUS_NAME_CASE(name, value, error, text) \
  case FERRY_STATUS_##name:                              \
    return text;
    FERRY_STATUS_LIST(FERRY_STATUS_NAME_CASE)
#undef FERRY_STATUS_NAME_CASE
  }
  return "unknown status";
}

int ferry_status_errno(uint16_t status) {
  switch (status) {
#define FERRY_STATUS_ERRNO_CASE(name, value, error, text) \
  case FERRY_STATUS_##name:                               \
    return -(error);
    FERRY_STATUS_LIST(FERRY_STATUS_ERRNO_CASE)
#undef FERRY_STATUS_ERRNO_CASE
  }
  return -EINVAL;
}

}  // extern "C"
