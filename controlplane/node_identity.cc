#include "controlplane/node_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dataplane/base/logging.h"

namespace ferry::controlplane {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// The key's text without its line end; the caller wipes it.
absl::StatusOr<std::string> ReadKeyFile(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("node key ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node key ", path,
                     " must belong to this user and be readable by it "
                     "alone (chmod 600)"));
  }
  std::string text(128, '\0');
  const ssize_t n = read(fd, text.data(), text.size());
  if (n < 0) return Errno("cannot read", path);
  text.resize(static_cast<size_t>(n));
  return text;
}

// Writes a new key to a temporary file beside `path` and links it there:
// a ferryd starting at the same moment either links first or finds the
// whole file (never an empty or half-written one). OK also when the other
// won: the caller then reads the key that is there.
absl::Status CreateNodeKeyFile(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    // The directory is root's alone if we make it.
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Errno("cannot make the directory of", path);
    }
  }
  absl::StatusOr<crypto::KeyPair> key = crypto::KeyPair::Generate();
  if (!key.ok()) return key.status();
  std::string text =
      absl::StrCat(absl::Base64Escape(absl::string_view(
                       reinterpret_cast<const char*>(key->private_key().data()),
                       key->private_key().size())),
                   "\n");
  std::string temporary = absl::StrCat(path, ".new-XXXXXX");
  // mkstemp makes the file 0600, exclusively.
  const int out = mkstemp(temporary.data());
  if (out < 0) return Errno("cannot create a file beside", path);
  const ssize_t written = write(out, text.data(), text.size());
  const bool synced = fsync(out) == 0;
  close(out);
  std::fill(text.begin(), text.end(), '\0');
  if (written != static_cast<ssize_t>(text.size()) || !synced) {
    unlink(temporary.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write the node key to ", path));
  }
  const bool linked = link(temporary.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  unlink(temporary.c_str());
  if (!linked && link_errno != EEXIST) {
    errno = link_errno;
    return Errno("cannot create", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<crypto::KeyPair> LoadOrCreateNodeKey(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    absl::Status created = CreateNodeKeyFile(path);
    if (!created.ok()) return created;
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return Errno("cannot open", path);
  absl::StatusOr<std::string> text = ReadKeyFile(fd, path);
  close(fd);
  if (!text.ok()) return text.status();
  std::string raw;
  const bool decoded =
      absl::Base64Unescape(absl::StripAsciiWhitespace(*text), &raw);
  std::fill(text->begin(), text->end(), '\0');
  absl::StatusOr<crypto::KeyPair> key =
      decoded && raw.size() == crypto::kKeySize
          ? crypto::KeyPair::FromPrivate(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(raw.data()), raw.size()))
          : absl::InvalidArgumentError(absl::StrCat(
                "node key ", path,
                " is not 32 bytes of base64 (delete it to make a new one)"));
  std::fill(raw.begin(), raw.end(), '\0');
  return key;
}

std::string PublicKeyToText(const crypto::PublicKey& key) {
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

absl::StatusOr<crypto::PublicKey> PublicKeyFromText(absl::string_view text) {
  std::string raw;
  if (text.size() != 44 || !absl::Base64Unescape(text, &raw) ||
      raw.size() != crypto::kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text.substr(0, 60),
                     "' is not a public key (44 characters of base64)"));
  }
  crypto::PublicKey key;
  std::memcpy(key.data(), raw.data(), key.size());
  return key;
}

absl::StatusOr<std::vector<TrustedPeer>> ParseTrustedPeers(
    absl::string_view text) {
  std::vector<TrustedPeer> peers;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = line.substr(0, line.find('#'));
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t space = line.find_first_of(" \t");
    absl::StatusOr<crypto::PublicKey> key =
        PublicKeyFromText(line.substr(0, space));
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trusted peers, line ", line_number, ": ", key.status().message()));
    }
    for (const TrustedPeer& peer : peers) {
      if (peer.key == *key) {
        return absl::InvalidArgumentError(absl::StrCat(
            "trusted peers, line ", line_number, ": key listed twice"));
      }
    }
    TrustedPeer peer;
    peer.key = *key;
    if (space != absl::string_view::npos) {
      peer.name = std::string(absl::StripAsciiWhitespace(line.substr(space)));
    }
    peers.push_back(std::move(peer));
  }
  return peers;
}

absl::StatusOr<const crypto::TrustConfig*> NodeTrust::Get() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = LoadLocked(); !s.ok()) return s;
  return &config_;
}

absl::Status NodeTrust::LoadLocked() {
  if (loaded_) return absl::OkStatus();
  absl::StatusOr<crypto::KeyPair> key = LoadOrCreateNodeKey(key_file_);
  if (!key.ok()) return key.status();
  std::vector<TrustedPeer> peers;
  if (!trusted_peers_file_.empty()) {
    std::string text;
    const int fd = open(trusted_peers_file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", trusted_peers_file_);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
      text.append(chunk, static_cast<size_t>(n));
      if (text.size() > (1u << 20)) break;
    }
    close(fd);
    if (n < 0) return Errno("cannot read", trusted_peers_file_);
    absl::StatusOr<std::vector<TrustedPeer>> parsed = ParseTrustedPeers(text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(trusted_peers_file_, ": ", parsed.status().message()));
    }
    peers = *std::move(parsed);
  }
  config_.node_key = *key;
  peers_ = std::move(peers);
  PublishLocked();
  loaded_ = true;
  FERRY_LOG(Info, "node key %s (%s); %u trusted peers",
            PublicKeyToText(config_.node_key->public_key()), key_file_,
            static_cast<unsigned>(peers_.size()));
  return absl::OkStatus();
}

void NodeTrust::PublishLocked() {
  crypto::TrustList::Keys keys;
  for (const TrustedPeer& peer : peers_) keys.insert(peer.key);
  config_.trusted.Replace(std::move(keys));
}

absl::StatusOr<NodeTrust::Description> NodeTrust::Describe() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = LoadLocked(); !s.ok()) return s;
  Description d;
  d.public_key = config_.node_key->public_key();
  d.key_file = key_file_;
  d.trusted_peers_file = trusted_peers_file_;
  d.peers = peers_;
  return d;
}

absl::Status NodeTrust::Trust(const crypto::PublicKey& key, std::string name) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = LoadLocked(); !s.ok()) return s;
  for (const TrustedPeer& peer : peers_) {
    if (peer.key == key) {
      return absl::AlreadyExistsError(absl::StrCat(
          "node key ", PublicKeyToText(key), " is trusted already",
          peer.name.empty() ? "" : absl::StrCat(" (", peer.name, ")")));
    }
  }
  if (key == config_.node_key->public_key()) {
    // Harmless, but a sign of a pasted wrong key: say so.
    FERRY_LOG(Warning, "trusting this node's own key %s", PublicKeyToText(key));
  }
  peers_.push_back(TrustedPeer{key, std::move(name)});
  PublishLocked();
  FERRY_LOG(
      Info, "trusted node key %s%s (%u trusted peers)", PublicKeyToText(key),
      peers_.back().name.empty() ? ""
                                 : absl::StrCat(" (", peers_.back().name, ")"),
      static_cast<unsigned>(peers_.size()));
  return absl::OkStatus();
}

absl::Status NodeTrust::Distrust(const crypto::PublicKey& key) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = LoadLocked(); !s.ok()) return s;
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (it->key != key) continue;
    peers_.erase(it);
    PublishLocked();
    FERRY_LOG(Info, "no longer trusting node key %s (%u trusted peers)",
              PublicKeyToText(key), static_cast<unsigned>(peers_.size()));
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("node key ", PublicKeyToText(key), " is not trusted"));
}

}  // namespace ferry::controlplane
