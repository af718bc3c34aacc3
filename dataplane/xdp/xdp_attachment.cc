#include "dataplane/xdp/xdp_attachment.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "dataplane/xdp/ferry_xdp_maps.h"
#include "dataplane/xdp/ferry_xdp_object.h"

namespace ferry::xdp {
namespace {

// An fd closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status Errno(absl::string_view what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(error)));
}

absl::StatusOr<int> InterfaceIndex(const std::string& iface) {
  const unsigned index = if_nametoindex(iface.c_str());
  if (index == 0) {
    return absl::NotFoundError(
        absl::StrFormat("no network interface '%s' here", iface));
  }
  return static_cast<int>(index);
}

struct Attached {
  uint32_t id = 0;
  uint8_t mode = XDP_ATTACHED_NONE;
};

absl::StatusOr<Attached> QueryAttached(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  const int rc = bpf_xdp_query(ifindex, 0, &opts);
  if (rc != 0) return Errno("bpf_xdp_query", -rc);
  Attached attached;
  attached.mode = opts.attach_mode;
  switch (opts.attach_mode) {
    case XDP_ATTACHED_DRV:
      attached.id = opts.drv_prog_id;
      break;
    case XDP_ATTACHED_SKB:
      attached.id = opts.skb_prog_id;
      break;
    case XDP_ATTACHED_HW:
      attached.id = opts.hw_prog_id;
      break;
    default:
      attached.id = opts.prog_id;
      break;
  }
  return attached;
}

absl::StatusOr<bpf_prog_info> ProgramInfo(int prog_fd,
                                          std::vector<uint32_t>* map_ids) {
  bpf_prog_info info;
  std::memset(&info, 0, sizeof(info));
  uint32_t length = sizeof(info);
  int rc = bpf_obj_get_info_by_fd(prog_fd, &info, &length);
  if (rc != 0) return Errno("bpf_obj_get_info_by_fd(program)", errno);
  if (map_ids == nullptr) return info;
  // A second call fills the ids, now that their number is known.
  map_ids->assign(info.nr_map_ids, 0);
  const uint32_t maps = info.nr_map_ids;
  std::memset(&info, 0, sizeof(info));
  info.nr_map_ids = maps;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids->data());
  length = sizeof(info);
  rc = bpf_obj_get_info_by_fd(prog_fd, &info, &length);
  if (rc != 0) return Errno("bpf_obj_get_info_by_fd(program)", errno);
  map_ids->resize(std::min(maps, info.nr_map_ids));
  return info;
}

// The program attached to an interface; `prog` is open when `attached.id`
// is not 0 (no program: not an error here).
struct OpenProgram {
  int ifindex = 0;
  Attached attached;
  std::unique_ptr<Fd> prog;
  bpf_prog_info info;
};

absl::StatusOr<OpenProgram> OpenAttachedProgram(
    const std::string& iface, std::vector<uint32_t>* map_ids = nullptr) {
  OpenProgram out;
  std::memset(&out.info, 0, sizeof(out.info));
  absl::StatusOr<int> ifindex = InterfaceIndex(iface);
  if (!ifindex.ok()) return ifindex.status();
  out.ifindex = *ifindex;
  absl::StatusOr<Attached> attached = QueryAttached(out.ifindex);
  if (!attached.ok()) return attached.status();
  out.attached = *attached;
  if (out.attached.id == 0) return out;
  out.prog = std::make_unique<Fd>(bpf_prog_get_fd_by_id(out.attached.id));
  if (out.prog->get() < 0) return Errno("bpf_prog_get_fd_by_id", errno);
  absl::StatusOr<bpf_prog_info> info = ProgramInfo(out.prog->get(), map_ids);
  if (!info.ok()) return info.status();
  out.info = *info;
  return out;
}

absl::Status NoProgram(const std::string& iface) {
  return absl::NotFoundError(
      absl::StrFormat("no XDP program is attached to %s", iface));
}

// An fd for the map named `name` of the program attached to `iface`.
absl::StatusOr<int> AttachedProgramMap(const std::string& iface,
                                       absl::string_view name) {
  std::vector<uint32_t> map_ids;
  absl::StatusOr<OpenProgram> program = OpenAttachedProgram(iface, &map_ids);
  if (!program.ok()) return program.status();
  if (program->attached.id == 0) return NoProgram(iface);
  for (uint32_t id : map_ids) {
    const int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_map_info map;
    std::memset(&map, 0, sizeof(map));
    uint32_t length = sizeof(map);
    if (bpf_obj_get_info_by_fd(fd, &map, &length) == 0 && map.name == name) {
      return fd;
    }
    close(fd);
  }
  return absl::NotFoundError(
      absl::StrFormat("the XDP program on %s (%s) has no map '%s'", iface,
                      program->info.name, name));
}

const char* ModeName(uint8_t mode) {
  switch (mode) {
    case XDP_ATTACHED_DRV:
      return "native";
    case XDP_ATTACHED_SKB:
      return "generic";
    case XDP_ATTACHED_HW:
      return "offload";
    default:
      return "multi";
  }
}

}  // namespace

absl::StatusOr<ProgramFile> ProgramFile::Create() {
  const int fd = memfd_create("ferry_xdp.o", MFD_CLOEXEC);
  if (fd < 0) return Errno("memfd_create", errno);
  ProgramFile file(fd);
  size_t done = 0;
  while (done < kFerryXdpObjectSize) {
    const ssize_t n =
        write(fd, kFerryXdpObject + done, kFerryXdpObjectSize - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing the XDP program", errno);
    done += static_cast<size_t>(n);
  }
  return file;
}

ProgramFile::ProgramFile(int fd)
    : fd_(fd), path_(absl::StrCat("/proc/self/fd/", fd)) {}

ProgramFile::ProgramFile(ProgramFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

ProgramFile::~ProgramFile() {
  if (fd_ >= 0) close(fd_);
}

std::string AfXdpInterface(absl::string_view device_spec) {
  std::vector<absl::string_view> parts = absl::StrSplit(device_spec, ',');
  if (!absl::StartsWith(parts[0], "net_af_xdp")) return "";
  for (size_t i = 1; i < parts.size(); ++i) {
    if (absl::StartsWith(parts[i], "iface=")) {
      return std::string(parts[i].substr(6));
    }
  }
  return "";
}

std::string AfXdpDeviceSpec(absl::string_view device_spec,
                            const std::string& program_path, int queues) {
  std::string spec(device_spec);
  if (!absl::StrContains(spec, ",xdp_prog=")) {
    absl::StrAppend(&spec, ",xdp_prog=", program_path);
  }
  if (queues > 1 && !absl::StrContains(spec, ",queue_count=")) {
    absl::StrAppend(&spec, ",queue_count=", queues);
  }
  return spec;
}

absl::Status CheckAddressIsNotTheKernels(net::Ipv4Address ip) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Errno("getifaddrs", errno);
  std::string holder;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (ntohl(in->sin_addr.s_addr) == ip.value) {
      holder = a->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  if (holder.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s is the kernel's own address (on %s); over net_af_xdp Ferry needs an "
      "address of its own, since every frame for Ferry's address leaves the "
      "kernel",
      ip.ToString(), holder));
}

absl::StatusOr<bool> RemoveLeftoverProgram(const std::string& iface) {
  absl::StatusOr<OpenProgram> program = OpenAttachedProgram(iface);
  if (!program.ok()) return program.status();
  const Attached& attached = program->attached;
  if (attached.id == 0) return false;
  if (std::strcmp(program->info.name, kFerryXdpProgramName) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s already has an XDP program (id %u, '%s'): detach it (ip link set "
        "dev %s xdp off) or name it with xdp_prog=",
        iface, attached.id, program->info.name, iface));
  }
  uint32_t flags = XDP_FLAGS_REPLACE;
  if (attached.mode == XDP_ATTACHED_SKB) flags |= XDP_FLAGS_SKB_MODE;
  if (attached.mode == XDP_ATTACHED_DRV) flags |= XDP_FLAGS_DRV_MODE;
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = program->prog->get());
  const int rc = bpf_xdp_detach(program->ifindex, flags, &opts);
  if (rc != 0) return Errno("bpf_xdp_detach", -rc);
  return true;
}

absl::Status ConfigureAttachedProgram(const std::string& iface,
                                      net::Ipv4Address ip) {
  absl::StatusOr<int> map = AttachedProgramMap(iface, "ferry_config");
  if (!map.ok()) return map.status();
  Fd fd(*map);
  const uint32_t key = 0;
  ferry_xdp_config config;
  std::memset(&config, 0, sizeof(config));
  config.ipv4 = htonl(ip.value);
  if (bpf_map_update_elem(fd.get(), &key, &config, BPF_ANY) != 0) {
    return Errno("writing the XDP program's configuration", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<ProgramCounters> ReadProgramCounters(const std::string& iface) {
  absl::StatusOr<int> map = AttachedProgramMap(iface, "ferry_counters");
  if (!map.ok()) return map.status();
  Fd fd(*map);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Errno("libbpf_num_possible_cpus", -cpus);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  uint64_t sums[FERRY_XDP_COUNTER_COUNT] = {};
  for (uint32_t key = 0; key < FERRY_XDP_COUNTER_COUNT; ++key) {
    if (bpf_map_lookup_elem(fd.get(), &key, per_cpu.data()) != 0) {
      return Errno("reading the XDP program's counters", errno);
    }
    for (uint64_t v : per_cpu) sums[key] += v;
  }
  ProgramCounters counters;
  counters.diverted_ipv4 = sums[FERRY_XDP_IPV4];
  counters.diverted_arp = sums[FERRY_XDP_ARP];
  counters.passed = sums[FERRY_XDP_PASSED];
  return counters;
}

absl::StatusOr<AttachedProgram> DescribeAttachedProgram(
    const std::string& iface) {
  absl::StatusOr<OpenProgram> program = OpenAttachedProgram(iface);
  if (!program.ok()) return program.status();
  if (program->attached.id == 0) return NoProgram(iface);
  AttachedProgram out;
  out.id = program->attached.id;
  out.name = program->info.name;
  out.mode = ModeName(program->attached.mode);
  return out;
}

absl::StatusOr<uint32_t> AttachedProgramId(const std::string& iface) {
  absl::StatusOr<int> ifindex = InterfaceIndex(iface);
  if (!ifindex.ok()) return ifindex.status();
  absl::StatusOr<Attached> attached = QueryAttached(*ifindex);
  if (!attached.ok()) return attached.status();
  return attached->id;
}

}  // namespace ferry::xdp
