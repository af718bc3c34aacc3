#include "dataplane/transport/message_segments.h"

namespace ferry::transport {

const char* ReassemblyResultName(ReassemblyResult result) {
  switch (result) {
    case ReassemblyResult::kContinue:
      return "continue";
    case ReassemblyResult::kComplete:
      return "complete";
    case ReassemblyResult::kUnexpectedFirst:
      return "unexpected_first_segment";
    case ReassemblyResult::kMissingFirst:
      return "missing_first_segment";
    case ReassemblyResult::kLengthMismatch:
      return "message_length_mismatch";
    case ReassemblyResult::kTooLong:
      return "message_too_long";
  }
  return "unknown";
}

}  // namespace ferry::transport
