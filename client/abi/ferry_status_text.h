/*
 * The text and the errno of each ferry_status, generated from the one list
 * (FERRY_STATUS_LIST in ferry_channel_abi.h). The client library exports
 * them as ferry_status_name and ferry_status_errno; ferryd words its
 * errors with the same text.
 */
#ifndef FERRY_CLIENT_ABI_FERRY_STATUS_TEXT_H_
#define FERRY_CLIENT_ABI_FERRY_STATUS_TEXT_H_

#include <errno.h>
#include <stdint.h>

#include "client/abi/ferry_channel_abi.h"

static inline const char* ferry_status_text(uint16_t status) {
  switch (status) {
#define FERRY_STATUS_TEXT_CASE(name, value, error, text) \
  case FERRY_STATUS_##name:                              \
    return text;
    FERRY_STATUS_LIST(FERRY_STATUS_TEXT_CASE)
#undef FERRY_STATUS_TEXT_CASE
  }
  return "unknown status";
}

/* A negative errno (0 for OK); -EINVAL for a status not in the list. */
static inline int ferry_status_to_errno(uint16_t status) {
  switch (status) {
#define FERRY_STATUS_ERRNO_CASE(name, value, error, text) \
  case FERRY_STATUS_##name:                               \
    return -(error);
    FERRY_STATUS_LIST(FERRY_STATUS_ERRNO_CASE)
#undef FERRY_STATUS_ERRNO_CASE
  }
  return -EINVAL;
}

#endif /* FERRY_CLIENT_ABI_FERRY_STATUS_TEXT_H_ */
