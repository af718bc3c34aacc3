#include "controlplane/device_policy.h"

#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "dataplane/dpdk/port.h"

namespace ferry::controlplane {
namespace {

// What a key's value is.
enum class Value {
  kPlain,      // a number, a name or a MAC: harmless
  kInterface,  // a host network interface
  kFile,       // a host file
};

struct Driver {
  std::map<std::string, Value> keys;
};

const std::map<std::string, Driver>& Drivers() {
  static const auto* drivers = new std::map<std::string, Driver>{
      {"net_af_packet",
       {{{"iface", Value::kInterface},
         {"qpairs", Value::kPlain},
         {"blocksz", Value::kPlain},
         {"framesz", Value::kPlain},
         {"framecnt", Value::kPlain},
         {"qdisc_bypass", Value::kPlain},
         {"fanout_mode", Value::kPlain}}}},
      {"net_af_xdp",
       {{{"iface", Value::kInterface},
         {"start_queue", Value::kPlain},
         {"queue_count", Value::kPlain},
         {"shared_umem", Value::kPlain},
         {"busy_budget", Value::kPlain},
         {"force_copy", Value::kPlain},
         {"xdp_prog", Value::kFile}}}},
      // The memif socket lives in the abstract namespace unless
      // socket-abstract=no makes it a file (checked below).
      {"net_memif",
       {{{"id", Value::kPlain},
         {"role", Value::kPlain},
         {"bsize", Value::kPlain},
         {"rsize", Value::kPlain},
         {"socket", Value::kPlain},
         {"socket-abstract", Value::kPlain},
         {"mac", Value::kPlain},
         {"secret", Value::kPlain},
         {"zero-copy", Value::kPlain}}}},
      // net_tap creates a kernel interface named by iface; remote names an
      // existing one whose traffic it mirrors.
      {"net_tap",
       {{{"iface", Value::kInterface},
         {"remote", Value::kInterface},
         {"mac", Value::kPlain}}}},
      {"net_pcap",
       {{{"rx_pcap", Value::kFile},
         {"tx_pcap", Value::kFile},
         {"rx_iface", Value::kInterface},
         {"rx_iface_in", Value::kInterface},
         {"tx_iface", Value::kInterface},
         {"iface", Value::kInterface},
         {"phy_mac", Value::kPlain},
         {"infinite_rx", Value::kPlain}}}},
      {"net_null",
       {{{"size", Value::kPlain},
         {"copy", Value::kPlain},
         {"no-rx", Value::kPlain}}}},
      {"net_ring", {{}}},
  };
  return *drivers;
}

// Values never hold separators DPDK's kvargs would read as another key.
bool SafeText(absl::string_view text, absl::string_view extra) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return !text.empty();
}

std::string KnownKeys(const Driver& driver) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : driver.keys) keys.push_back(key);
  return keys.empty() ? "none" : absl::StrJoin(keys, ", ");
}

}  // namespace

absl::Status CheckDeviceSpec(absl::string_view device,
                             const DevicePolicy& policy) {
  if (device.size() > kMaxDeviceSpecLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("device spec of %d bytes (at most %d)", device.size(),
                        kMaxDeviceSpecLength));
  }
  if (absl::Status s = dpdk::ValidateDeviceSpec(device); !s.ok()) return s;
  if (dpdk::IsPciAddress(device)) return absl::OkStatus();
  std::vector<absl::string_view> parts = absl::StrSplit(device, ',');
  // "net_pcap0" is driver net_pcap, instance 0 (DPDK matches the prefix).
  absl::string_view name = parts[0];
  absl::string_view driver_name = name;
  while (!driver_name.empty() &&
         absl::ascii_isdigit(static_cast<unsigned char>(driver_name.back()))) {
    driver_name.remove_suffix(1);
  }
  const auto driver = Drivers().find(std::string(driver_name));
  if (driver == Drivers().end() || driver_name.size() == name.size()) {
    std::vector<std::string> names;
    for (const auto& [known, unused] : Drivers()) names.push_back(known + "N");
    return absl::InvalidArgumentError(absl::StrFormat(
        "device '%s': not an accepted network port driver (accepted: a PCI "
        "address, %s)",
        name, absl::StrJoin(names, ", ")));
  }
  std::map<std::string, std::string> args;
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const absl::string_view key = parts[i].substr(0, eq);
    if (eq == absl::string_view::npos || eq + 1 == parts[i].size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "device %s: '%s' is not key=value", name, parts[i].substr(0, 64)));
    }
    const auto known = driver->second.keys.find(std::string(key));
    if (known == driver->second.keys.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "device %s: key '%s' is not accepted (accepted keys: %s)", name,
          key.substr(0, 64), KnownKeys(driver->second)));
    }
    if (!args.emplace(std::string(key), std::string(parts[i].substr(eq + 1)))
             .second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("device %s: key '%s' given twice", name, key));
    }
  }
  for (const auto& [key, value] : args) {
    Value kind = driver->second.keys.at(key);
    if (driver_name == "net_memif" && key == "socket") {
      if (auto a = args.find("socket-abstract");
          a != args.end() && a->second == "no") {
        kind = Value::kFile;
      }
    }
    switch (kind) {
      case Value::kPlain:
        if (!SafeText(value, "_-.:/")) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "device %s: %s: the value holds characters that are not "
              "accepted",
              name, key));
        }
        break;
      case Value::kInterface:
        if (value.size() > 15 || !SafeText(value, "_-.")) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "device %s: %s: not an interface name (at most 15 of "
              "A-Z a-z 0-9 _ - .)",
              name, key));
        }
        if (!policy.any_host_resource && policy.interfaces.count(value) == 0) {
          return absl::PermissionDeniedError(absl::StrFormat(
              "device %s: %s names a host interface that ferryd's "
              "configuration does not allow (--allow_device_interfaces)",
              name, key));
        }
        break;
      case Value::kFile:
        if (value[0] != '/' || value.find("..") != std::string::npos ||
            !SafeText(value, "_-./")) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "device %s: %s: not an absolute path of A-Z a-z 0-9 _ - . /",
              name, key));
        }
        if (!policy.any_host_resource && policy.files.count(value) == 0) {
          // The path itself is not echoed: nothing here tells whether a
          // file exists.
          return absl::PermissionDeniedError(absl::StrFormat(
              "device %s: %s names a host file that ferryd's configuration "
              "does not allow (--allow_device_files)",
              name, key));
        }
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::controlplane
