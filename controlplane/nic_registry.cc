#include "controlplane/nic_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"

namespace ferry::controlplane {

NicRegistry::~NicRegistry() {
  absl::MutexLock lock(&mu_);
  // Every engine stops before any port closes: an engine may hold (or
  // have in its rings) packets of another NIC's pool.
  for (Entry& entry : nics_) entry.nic->StopEngines();
  for (Entry& entry : nics_) entry.nic->ReleaseEngines();
  nics_.clear();
}

NicRegistry::Entry* NicRegistry::FindLocked(const std::string& name) {
  for (Entry& entry : nics_) {
    if (entry.nic->port().name() == name) return &entry;
  }
  return nullptr;
}

absl::StatusOr<std::string> NicRegistry::Attach(const NicSpec& given) {
  NicSpec spec = given;
  if (spec.encryption.empty()) spec.encryption = default_encryption_;
  absl::StatusOr<NicConfig> config = ValidateNicSpec(spec, num_cpus_);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&mu_);
  if (config->encryption != engine::Encryption::kOff) {
    if (trust_ == nullptr) {
      return absl::FailedPreconditionError(
          "--encryption: this ferryd has no node key configured");
    }
    absl::StatusOr<const crypto::TrustConfig*> trust = trust_->Get();
    if (!trust.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--encryption needs the node key and trust list: ",
                       trust.status().message()));
    }
    config->trust = *trust;
  }
  for (const Entry& entry : nics_) {
    const NicConfig& other = entry.nic->config();
    if (other.device == config->device) {
      return absl::AlreadyExistsError(
          absl::StrFormat("device '%s' is already attached as %s",
                          config->device, entry.nic->port().name()));
    }
    if (other.ip.address == config->ip.address) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "address %s is already used by %s", config->ip.address.ToString(),
          entry.nic->port().name()));
    }
  }
  std::vector<int> engine_indexes;
  for (int i = 0; i < engine::EngineGroup::kMaxEngines &&
                  static_cast<int>(engine_indexes.size()) < config->engines;
       ++i) {
    if (!(used_engines_ & (1u << i))) engine_indexes.push_back(i);
  }
  int interface = -1;
  for (int i = 0; i < engine::kMaxInterfaces && interface < 0; ++i) {
    if (!(used_interfaces_ & (1u << i))) interface = i;
  }
  if (static_cast<int>(engine_indexes.size()) < config->engines ||
      interface < 0) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "ferryd runs at most %d engines and %d NICs in all (a flow id names "
        "its engine in 4 bits); %d engines are in use",
        engine::EngineGroup::kMaxEngines, engine::kMaxInterfaces,
        __builtin_popcount(used_engines_)));
  }
  absl::StatusOr<std::unique_ptr<Nic>> nic =
      Nic::Attach(*config, group_.get(), engine_indexes, interface);
  if (!nic.ok()) return nic.status();
  const std::string name = (*nic)->port().name();
  used_engines_ |= (*nic)->engine_mask();
  used_interfaces_ |= 1u << interface;
  nics_.push_back(Entry{std::move(*nic), 0});
  FERRY_LOG(Info, "NIC %s attached: %s", name, config->ip.ToString());
  return name;
}

absl::Status NicRegistry::Detach(const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (auto it = nics_.begin(); it != nics_.end(); ++it) {
    if (it->nic->port().name() != name) continue;
    if (it->channels > 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "NIC %s still serves %d channel(s); their applications must "
          "detach first",
          name, it->channels));
    }
    Nic& nic = *it->nic;
    nic.StopEngines();
    // Every other engine drops its flows through this NIC and frees what
    // its engines handed over, before the NIC's pool goes with its port.
    for (Entry& other : nics_) {
      if (other.nic.get() == &nic) continue;
      for (size_t e = 0; e < other.nic->num_engines(); ++e) {
        engine::EngineCommand gone;
        gone.type = engine::CommandType::kInterfaceGone;
        gone.count = static_cast<uint32_t>(nic.interface());
        gone.start = nic.engine_mask();
        if (absl::Status s = other.nic->engine(e).Execute(gone, kEngineTimeout);
            !s.ok()) {
          FERRY_LOG(Error, "NIC %s: engine %d of %s did not let go of it: %s",
                    name, e, other.nic->port().name(), s.ToString());
        }
      }
    }
    used_engines_ &= ~nic.engine_mask();
    used_interfaces_ &= ~(1u << nic.interface());
    nics_.erase(it);  // closes the port
    FERRY_LOG(Info, "NIC %s detached", name);
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrFormat("no NIC named '%s' is attached", name));
}

void NicRegistry::ForEach(const std::function<void(Nic&)>& fn) {
  absl::MutexLock lock(&mu_);
  for (Entry& entry : nics_) fn(*entry.nic);
}

absl::Status NicRegistry::With(const std::string& name,
                               const std::function<void(Nic&)>& fn) {
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLocked(name);
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("no NIC named '%s' is attached", name));
  }
  fn(*entry->nic);
  return absl::OkStatus();
}

absl::Status NicRegistry::Post(const EngineRef& where,
                               engine::EngineCommand command,
                               engine::Completion* completion) {
  command.completion = completion;
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLocked(where.nic);
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("no NIC named '%s' is attached", where.nic));
  }
  if (where.engine >= entry->nic->num_engines() ||
      !entry->nic->engine(where.engine).running()) {
    return absl::UnavailableError(absl::StrFormat(
        "engine %d of %s is not running", where.engine, where.nic));
  }
  return entry->nic->engine(where.engine).Post(command);
}

absl::Status NicRegistry::Run(const EngineRef& where,
                              const engine::EngineCommand& command,
                              std::unique_ptr<engine::Completion>& completion,
                              absl::Duration timeout) {
  if (absl::Status s = Post(where, command, completion.get()); !s.ok()) {
    return s;
  }
  return engine::Engine::Await(completion, timeout,
                               static_cast<int>(where.engine));
}

namespace {

NicSummary SummaryOf(Nic& nic) {
  return NicSummary{nic.port().name(), nic.num_engines(), nic.config().ip,
                    nic.engine_indexes()};
}

}  // namespace

absl::StatusOr<NicSummary> NicRegistry::FindNic(const std::string& nic) {
  NicSummary summary;
  if (absl::Status s = With(nic, [&](Nic& n) { summary = SummaryOf(n); });
      !s.ok()) {
    return s;
  }
  return summary;
}

std::vector<NicSummary> NicRegistry::Nics() {
  std::vector<NicSummary> nics;
  ForEach([&](Nic& n) { nics.push_back(SummaryOf(n)); });
  return nics;
}

namespace {

// "10.70.0.0/24" for 10.70.0.1/24.
std::string SubnetOf(net::Ipv4Prefix prefix) {
  prefix.address.value &= prefix.Mask();
  return prefix.ToString();
}

}  // namespace

std::vector<NicRegistry::RouteInfo> NicRegistry::Routes() {
  absl::MutexLock lock(&mu_);
  std::vector<RouteInfo> routes;
  for (const Entry& entry : nics_) {
    const NicConfig& c = entry.nic->config();
    routes.push_back(RouteInfo{SubnetOf(c.ip), entry.nic->port().name(),
                               c.ip.address, std::nullopt});
  }
  for (const Entry& entry : nics_) {
    const NicConfig& c = entry.nic->config();
    if (c.gateway.has_value()) {
      routes.push_back(RouteInfo{"default", entry.nic->port().name(),
                                 c.ip.address, c.gateway});
    }
  }
  return routes;
}

absl::StatusOr<NicRegistry::RouteInfo> NicRegistry::RouteTo(
    net::Ipv4Address dst, net::Ipv4Address local) {
  // The engines' own choice (interface_table.h), with no channel's NIC to
  // prefer.
  const int slot =
      engine::ChooseInterface(group_->interfaces().Snapshot(), -1, dst, local);
  absl::MutexLock lock(&mu_);
  for (const Entry& entry : nics_) {
    if (entry.nic->interface() != slot) continue;
    const NicConfig& c = entry.nic->config();
    RouteInfo route{"", entry.nic->port().name(), c.ip.address, std::nullopt};
    if (c.ip.Contains(dst)) {
      route.destination = SubnetOf(c.ip);
    } else {
      route.destination = "default";
      route.gateway = c.gateway;
    }
    return route;
  }
  return absl::NotFoundError(
      local.value != 0
          ? absl::StrFormat("no route: no NIC has the address %s",
                            local.ToString())
          : absl::StrFormat("no route to %s: no NIC's subnet holds it and "
                            "no NIC has a gateway",
                            dst.ToString()));
}

absl::StatusOr<NicRegistry::Choice> NicRegistry::ChooseEngine() {
  absl::MutexLock lock(&mu_);
  size_t total = 0;
  for (const Entry& entry : nics_) total += entry.nic->num_engines();
  if (total == 0) {
    return absl::FailedPreconditionError("no NIC is attached");
  }
  size_t k = next_engine_++ % total;
  for (Entry& entry : nics_) {
    if (k >= entry.nic->num_engines()) {
      k -= entry.nic->num_engines();
      continue;
    }
    return Choice{EngineRef{entry.nic->port().name(), k},
                  entry.nic->engine(k).doorbell_fd()};
  }
  return absl::InternalError("engine selection out of range");
}

absl::Status NicRegistry::AttachToEngine(
    const Choice& choice, std::unique_ptr<channel::EngineChannel> channel) {
  absl::MutexLock lock(&mu_);
  const EngineRef& where = choice.where;
  Entry* entry = FindLocked(where.nic);
  // A NIC attached anew under the same name has other engines: the
  // channel was built for the chosen engine's doorbell.
  if (entry == nullptr || where.engine >= entry->nic->num_engines() ||
      entry->nic->engine(where.engine).doorbell_fd() != choice.doorbell_fd) {
    return absl::NotFoundError(
        absl::StrFormat("NIC %s was detached during the attach", where.nic));
  }
  if (absl::Status s =
          entry->nic->engine(where.engine).AttachChannel(std::move(channel));
      !s.ok()) {
    return s;
  }
  ++entry->channels;
  return absl::OkStatus();
}

void NicRegistry::DetachChannel(const EngineRef& where, uint64_t channel_id,
                                absl::Duration linger) {
  absl::MutexLock lock(&mu_);
  if (Entry* entry = FindLocked(where.nic)) {
    entry->nic->engine(where.engine)
        .DetachChannel(channel_id,
                       static_cast<uint64_t>(absl::ToInt64Nanoseconds(
                           std::max(linger, absl::ZeroDuration()))));
  }
}

void NicRegistry::ReapChannels(
    const std::function<void(std::unique_ptr<channel::EngineChannel>)>& gone) {
  absl::MutexLock lock(&mu_);
  for (Entry& entry : nics_) {
    for (size_t e = 0; e < entry.nic->num_engines(); ++e) {
      while (std::unique_ptr<channel::EngineChannel> channel =
                 entry.nic->engine(e).TakeDetachedChannel()) {
        --entry.channels;
        gone(std::move(channel));
      }
    }
  }
}

}  // namespace ferry::controlplane
