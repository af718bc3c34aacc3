#include "controlplane/nic_registry.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"

namespace ferry::controlplane {

NicRegistry::~NicRegistry() {
  absl::MutexLock lock(&mu_);
  nics_.clear();
}

NicRegistry::Entry* NicRegistry::FindLocked(const std::string& name) {
  for (Entry& entry : nics_) {
    if (entry.nic->port().name() == name) return &entry;
  }
  return nullptr;
}

absl::StatusOr<std::string> NicRegistry::Attach(const NicSpec& spec) {
  absl::StatusOr<NicConfig> config = ValidateNicSpec(spec, num_cpus_);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&mu_);
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
  absl::StatusOr<std::unique_ptr<Nic>> nic = Nic::Attach(*config);
  if (!nic.ok()) return nic.status();
  const std::string name = (*nic)->port().name();
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
    nics_.erase(it);  // stops its engines, closes the port
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

absl::StatusOr<EngineRef> NicRegistry::PlaceChannel(
    const std::function<bool(engine::Engine&, const EngineRef&)>& place) {
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
    const EngineRef where{entry.nic->port().name(), k};
    if (!place(entry.nic->engine(k), where)) {
      return absl::UnavailableError("the channel could not be placed");
    }
    ++entry.channels;
    return where;
  }
  return absl::InternalError("engine selection out of range");
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
