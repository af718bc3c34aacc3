#include "controlplane/nic_config.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dataplane/base/status_macros.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/transport/message_segments.h"

namespace ferry::controlplane {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrFormat("--%s: %s", field, message));
}

bool ParseCpu(absl::string_view text, int* cpu) {
  return !text.empty() && text.size() <= 4 &&
         text.find_first_not_of("0123456789") == absl::string_view::npos &&
         absl::SimpleAtoi(text, cpu);
}

bool ParseInt(absl::string_view text, int* out) {
  return absl::SimpleAtoi(text, out);
}

bool ParseDouble(absl::string_view text, double* out) {
  return absl::SimpleAtod(text, out);
}

// Sets `key` of `spec` from `value`; false for an unknown key or a value
// that is not a number where one is needed.
bool SetNicKey(absl::string_view key, absl::string_view value, NicSpec* spec,
               bool* known) {
  *known = true;
  const std::string v(value);
  if (key == "device")
    spec->device = v;
  else if (key == "ip")
    spec->ip = v;
  else if (key == "gateway")
    spec->gateway = v;
  else if (key == "mac")
    spec->mac = v;
  else if (key == "cores")
    spec->cores = v;
  else if (key == "polling")
    spec->polling = v;
  else if (key == "cc")
    spec->cc = v;
  else if (key == "mtu")
    return ParseInt(value, &spec->mtu);
  else if (key == "engines")
    return ParseInt(value, &spec->engines);
  else if (key == "sleep_after_idle_us")
    return ParseInt(value, &spec->sleep_after_idle_us);
  else if (key == "cc_target_delay_us")
    return ParseInt(value, &spec->cc_target_delay_us);
  else if (key == "max_flows_per_channel")
    return ParseInt(value, &spec->max_flows_per_channel);
  else if (key == "max_flows_per_engine")
    return ParseInt(value, &spec->max_flows_per_engine);
  else if (key == "max_flows_per_session")
    return ParseInt(value, &spec->max_flows_per_session);
  else if (key == "peer_timeout_ms")
    return ParseInt(value, &spec->peer_timeout_ms);
  else if (key == "tx_zero_copy_min_bytes")
    return ParseInt(value, &spec->tx_zero_copy_min_bytes);
  else if (key == "encryption")
    spec->encryption = v;
  else if (key == "key_rotation_ms")
    return ParseInt(value, &spec->key_rotation_ms);
  else if (key == "fault_drop")
    return ParseDouble(value, &spec->fault_drop);
  else if (key == "fault_duplicate")
    return ParseDouble(value, &spec->fault_duplicate);
  else if (key == "fault_delay")
    return ParseDouble(value, &spec->fault_delay);
  else if (key == "fault_delay_us")
    return ParseInt(value, &spec->fault_delay_us);
  else if (key == "fault_corrupt")
    return ParseDouble(value, &spec->fault_corrupt);
  else if (key == "fault_reorder")
    return ParseDouble(value, &spec->fault_reorder);
  else if (key == "fault_seed")
    return ParseInt(value, &spec->fault_seed);
  else
    *known = false;
  return *known;
}

}  // namespace

absl::StatusOr<std::vector<NicSpec>> ParseNicFile(absl::string_view text) {
  std::vector<NicSpec> nics;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    NicSpec spec;
    for (absl::string_view word :
         absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      const size_t eq = word.find('=');
      if (eq == absl::string_view::npos || eq == 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "line %d: '%s' is not key=value", line_number, word));
      }
      const absl::string_view key = word.substr(0, eq);
      bool known = false;
      if (!SetNicKey(key, word.substr(eq + 1), &spec, &known)) {
        return absl::InvalidArgumentError(
            known ? absl::StrFormat("line %d: %s: '%s' is not a number",
                                    line_number, key, word.substr(eq + 1))
                  : absl::StrFormat("line %d: unknown key '%s'", line_number,
                                    key));
      }
    }
    if (spec.device.empty() || spec.ip.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: a NIC needs device= and ip=", line_number));
    }
    nics.push_back(std::move(spec));
  }
  return nics;
}

absl::StatusOr<std::vector<int>> ParseCoreList(absl::string_view text,
                                               int num_cpus) {
  std::vector<int> cores;
  std::set<int> seen;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    int first, last;
    if (range.size() == 1 && ParseCpu(range[0], &first)) {
      last = first;
    } else if (range.size() == 2 && ParseCpu(range[0], &first) &&
               ParseCpu(range[1], &last) && first <= last) {
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("'%s' is not a CPU list (want e.g. 0,2-3)", text));
    }
    for (int cpu = first; cpu <= last; ++cpu) {
      if (cpu >= num_cpus) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "CPU %d does not exist (this machine has CPUs 0-%d)", cpu,
            num_cpus - 1));
      }
      if (!seen.insert(cpu).second) {
        return absl::InvalidArgumentError(
            absl::StrFormat("CPU %d is listed twice", cpu));
      }
      cores.push_back(cpu);
    }
  }
  return cores;
}

namespace {

// The NIC's IPv4 address and prefix, gateway and MAC.
absl::Status ValidateAddresses(const NicSpec& spec, NicConfig* config) {
  absl::StatusOr<net::Ipv4Prefix> ip = net::Ipv4Prefix::Parse(spec.ip);
  if (!ip.ok()) return FieldError("ip", ip.status().message());
  const uint32_t host = ip->address.value & ~ip->Mask();
  if (ip->length < 31 && (host == 0 || host == ~ip->Mask())) {
    return FieldError(
        "ip", absl::StrFormat("%s is the network or broadcast address of "
                              "its subnet",
                              spec.ip));
  }
  if ((ip->address.value >> 28) >= 0xe || (ip->address.value >> 24) == 0 ||
      (ip->address.value >> 24) == 127) {
    return FieldError(
        "ip", absl::StrFormat("%s is not a unicast host address", spec.ip));
  }
  config->ip = *ip;

  if (!spec.gateway.empty()) {
    absl::StatusOr<net::Ipv4Address> gw = net::Ipv4Address::Parse(spec.gateway);
    if (!gw.ok()) return FieldError("gateway", gw.status().message());
    if (!config->ip.Contains(*gw) || *gw == config->ip.address) {
      return FieldError("gateway",
                        absl::StrFormat("%s must be another address inside %s",
                                        spec.gateway, config->ip.ToString()));
    }
    config->gateway = *gw;
  }

  if (!spec.mac.empty()) {
    absl::StatusOr<net::MacAddress> mac = net::MacAddress::Parse(spec.mac);
    if (!mac.ok()) return FieldError("mac", mac.status().message());
    if (mac->IsMulticast() || mac->IsZero()) {
      return FieldError(
          "mac", absl::StrFormat("%s is not a unicast address", spec.mac));
    }
    config->mac = *mac;
  }

  return absl::OkStatus();
}

// The MTU, the engines, their CPUs and how they poll.
absl::Status ValidateEngines(const NicSpec& spec, int num_cpus,
                             NicConfig* config) {
  // The port takes MTUs from dpdk::kMinMtu, but flows need room for a
  // segment's headers and a useful payload.
  constexpr int kMinMtu =
      std::max(dpdk::kMinMtu, static_cast<int>(transport::kMinFlowMtu));
  if (spec.mtu < kMinMtu || spec.mtu > dpdk::kMaxMtu) {
    return FieldError(
        "mtu", absl::StrFormat("%d is out of range [%d, %d] (flows need at "
                               "least %d: IPv4, UDP and Ferry headers take "
                               "%d bytes of each segment)",
                               spec.mtu, kMinMtu, dpdk::kMaxMtu,
                               transport::kMinFlowMtu,
                               transport::kSegmentOverheadBytes));
  }
  config->mtu = spec.mtu;

  if (spec.engines < 1 || spec.engines > kMaxEnginesPerNic) {
    return FieldError(
        "engines", absl::StrFormat("%d is out of range [1, %d]", spec.engines,
                                   kMaxEnginesPerNic));
  }
  config->engines = spec.engines;

  if (!spec.cores.empty()) {
    absl::StatusOr<std::vector<int>> cores =
        ParseCoreList(spec.cores, num_cpus);
    if (!cores.ok()) return FieldError("cores", cores.status().message());
    if (static_cast<int>(cores->size()) != config->engines) {
      return FieldError("cores",
                        absl::StrFormat("%d CPUs listed for %d engines",
                                        cores->size(), config->engines));
    }
    config->cores = *cores;
  }

  if (!engine::ParsePollingMode(spec.polling, &config->idle.mode)) {
    return FieldError("polling", absl::StrFormat("'%s' is not busy or adaptive",
                                                 spec.polling));
  }
  if (spec.sleep_after_idle_us < 0 || spec.sleep_after_idle_us > 10'000'000) {
    return FieldError("sleep_after_idle_us", "must be 0..10000000");
  }
  config->idle.sleep_after_idle_ns =
      static_cast<uint64_t>(spec.sleep_after_idle_us) * 1000;
  return absl::OkStatus();
}

// Fault injection, congestion control, flow quotas and the peer timeout.
absl::Status ValidateTransport(const NicSpec& spec, NicConfig* config) {
  config->faults.drop = spec.fault_drop;
  config->faults.duplicate = spec.fault_duplicate;
  config->faults.delay = spec.fault_delay;
  config->faults.delay_ns = static_cast<uint64_t>(spec.fault_delay_us) * 1000;
  config->faults.corrupt = spec.fault_corrupt;
  config->faults.reorder = spec.fault_reorder;
  config->faults.seed = static_cast<uint64_t>(spec.fault_seed);
  if (spec.fault_delay_us < 0) {
    return FieldError("fault_delay_us", "must not be negative");
  }
  if (absl::Status s = config->faults.Validate(); !s.ok()) {
    return FieldError("fault_*", s.message());
  }
  if (!transport::ParseCongestionAlgorithm(spec.cc,
                                           &config->congestion.algorithm)) {
    return FieldError("cc",
                      absl::StrFormat("'%s' is not swift or none", spec.cc));
  }
  if (spec.cc_target_delay_us < 1 || spec.cc_target_delay_us > 1'000'000) {
    return FieldError("cc_target_delay_us", "must be 1..1000000");
  }
  config->congestion.target_delay_ns =
      static_cast<uint64_t>(spec.cc_target_delay_us) * 1000;
  if (spec.max_flows_per_channel < 1 || spec.max_flows_per_channel > 65536) {
    return FieldError("max_flows_per_channel", "must be 1..65536");
  }
  config->max_flows_per_channel =
      static_cast<uint32_t>(spec.max_flows_per_channel);
  if (spec.max_flows_per_engine < 1 || spec.max_flows_per_engine > 65535) {
    return FieldError("max_flows_per_engine", "must be 1..65535");
  }
  config->max_flows_per_engine =
      static_cast<uint32_t>(spec.max_flows_per_engine);
  if (spec.max_flows_per_session < 1 || spec.max_flows_per_session > 65535) {
    return FieldError("max_flows_per_session", "must be 1..65535");
  }
  config->max_flows_per_session =
      static_cast<uint32_t>(spec.max_flows_per_session);
  if (spec.peer_timeout_ms < 10 || spec.peer_timeout_ms > 3'600'000) {
    return FieldError("peer_timeout_ms", "must be 10..3600000");
  }
  config->peer_timeout_ns =
      static_cast<uint64_t>(spec.peer_timeout_ms) * 1'000'000;
  if (spec.tx_zero_copy_min_bytes < 0 || spec.tx_zero_copy_min_bytes > 65535) {
    return FieldError("tx_zero_copy_min_bytes", "must be 0..65535");
  }
  config->tx_zero_copy_min_bytes =
      static_cast<uint32_t>(spec.tx_zero_copy_min_bytes);
  if (spec.encryption == "off" || spec.encryption.empty()) {
    config->encryption = engine::Encryption::kOff;
  } else if (spec.encryption == "preferred") {
    config->encryption = engine::Encryption::kPreferred;
  } else if (spec.encryption == "required") {
    config->encryption = engine::Encryption::kRequired;
  } else {
    return FieldError("encryption", "must be off, preferred or required");
  }
  if (spec.key_rotation_ms < 0 || spec.key_rotation_ms > 86'400'000) {
    return FieldError("key_rotation_ms", "must be 0..86400000");
  }
  config->key_rotation_ns =
      static_cast<uint64_t>(spec.key_rotation_ms) * 1'000'000;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NicConfig> ValidateNicSpec(const NicSpec& spec, int num_cpus) {
  NicConfig config;
  if (absl::Status s = dpdk::ValidateDeviceSpec(spec.device); !s.ok()) {
    return FieldError("device", s.message());
  }
  config.device = spec.device;

  RETURN_IF_ERROR(ValidateAddresses(spec, &config));
  RETURN_IF_ERROR(ValidateEngines(spec, num_cpus, &config));
  RETURN_IF_ERROR(ValidateTransport(spec, &config));
  return config;
}

}  // namespace ferry::controlplane
