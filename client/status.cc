// The client library, statuses: names and errno values, from the one list
// in ferry_channel_abi.h (see client/abi/ferry_status_text.h).
#include "client/abi/ferry_status_text.h"
#include "client/ferry.h"

extern "C" {

const char* ferry_status_name(uint16_t status) {
  return ferry_status_text(status);
}

int ferry_status_errno(uint16_t status) {
  return ferry_status_to_errno(status);
}

}  // extern "C"
