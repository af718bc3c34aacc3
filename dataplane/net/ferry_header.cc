#include "dataplane/net/ferry_header.h"

namespace ferry::net {

const char* FerryHeaderErrorName(FerryHeaderError error) {
  switch (error) {
    case FerryHeaderError::kNone:
      return "none";
    case FerryHeaderError::kTruncated:
      return "truncated_ferry_header";
    case FerryHeaderError::kBadMagic:
      return "bad_ferry_magic";
    case FerryHeaderError::kBadVersion:
      return "bad_ferry_version";
    case FerryHeaderError::kBadType:
      return "bad_ferry_type";
    case FerryHeaderError::kBadLength:
      return "bad_ferry_header_length";
    case FerryHeaderError::kUnknownFlags:
      return "unknown_ferry_flags";
  }
  return "unknown";
}

}  // namespace ferry::net
