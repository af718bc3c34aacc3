#include "dataplane/channel/channel_segment.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"

namespace ferry::channel {
namespace {

constexpr uint64_t kHugePageSize = 2ull << 20;

absl::Status Errno(const char* what) {
  return absl::InternalError(absl::StrFormat("%s: %s", what, strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChannelSegment>> ChannelSegment::Create(
    const shm::ChannelSizes& sizes, uint64_t channel_id, SegmentMemory memory) {
  std::unique_ptr<ChannelSegment> segment(new ChannelSegment());
  segment->channel_id_ = channel_id;
  const std::string name = absl::StrFormat("ferry-channel-%d", channel_id);
  shm::ChannelLayout layout;
  std::string error;
  for (const bool huge : {true, false}) {
    if (huge && memory == SegmentMemory::kOrdinaryPages) continue;
    if (!huge && memory == SegmentMemory::kHugepages) break;
    if (!shm::ComputeChannelLayout(sizes, huge ? kHugePageSize : 4096, &layout,
                                   &error)) {
      return absl::InvalidArgumentError(error);
    }
    const unsigned flags =
        MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0u);
    const int fd = memfd_create(name.c_str(), flags);
    if (fd < 0) continue;
    // With hugepages, ftruncate succeeds even when too few pages are free;
    // fallocate reserves them now so that the failure happens here.
    if (ftruncate(fd, static_cast<off_t>(layout.segment_size)) != 0 ||
        (huge &&
         fallocate(fd, 0, 0, static_cast<off_t>(layout.segment_size)) != 0)) {
      close(fd);
      continue;
    }
    segment->fd_ = fd;
    segment->hugepages_ = huge;
    break;
  }
  if (segment->fd_ < 0) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "cannot create a %s channel segment of %d bytes: %s",
        memory == SegmentMemory::kHugepages ? "hugepage" : "shared",
        layout.segment_size, strerror(errno)));
  }
  if (fcntl(segment->fd_, F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return Errno("sealing the channel segment");
  }
  // Hugepages are reserved by fallocate above: map them all now. Ordinary
  // pages come on first touch, so that a channel costs what it uses (an
  // idle one: its rings' first lines and free rings, a few hundred KiB,
  // not 32 MiB of buffers; 64 idle channels took ferryd to 1.1 GB RSS
  // when every page was populated at attach).
  void* base = mmap(nullptr, layout.segment_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | (segment->hugepages_ ? MAP_POPULATE : 0),
                    segment->fd_, 0);
  if (base == MAP_FAILED) return Errno("mapping the channel segment");
  segment->view_.base = static_cast<uint8_t*>(base);
  segment->view_.layout = layout;
  shm::WriteChannelHeader(layout, channel_id, segment->view_.header());
  return segment;
}

ChannelSegment::~ChannelSegment() {
  if (view_.base != nullptr) munmap(view_.base, view_.layout.segment_size);
  if (fd_ >= 0) close(fd_);
}

}  // namespace ferry::channel
