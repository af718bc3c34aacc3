#include "controlplane/node_identity.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

std::string TempDir() {
  std::string dir =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
      "/node_identity_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// First start makes the key (the file 0600, its new directory 0700); the
// next start reads the same key back.
TEST(NodeIdentityTest, MakesTheKeyOnceThenReadsIt) {
  const std::string dir = TempDir() + "/ferry";
  const std::string path = dir + "/node.key";
  absl::StatusOr<crypto::KeyPair> made = LoadOrCreateNodeKey(path);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(path), 0600u);
  absl::StatusOr<crypto::KeyPair> again = LoadOrCreateNodeKey(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->public_key(), made->public_key());
  // A second node's key differs.
  absl::StatusOr<crypto::KeyPair> other = LoadOrCreateNodeKey(dir + "/b.key");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->public_key(), made->public_key());
}

// Daemons starting at the same moment on a new host (the default key
// file is shared): each gets the one key that is made, none an error or a
// half-written file, and nothing else is left in the directory.
TEST(NodeIdentityTest, StartsAtTheSameMomentShareOneKey) {
  const std::string dir = TempDir() + "/ferry";
  const std::string path = dir + "/node.key";
  constexpr int kStarts = 8;
  std::vector<absl::StatusOr<crypto::KeyPair>> keys(
      kStarts, absl::UnknownError("not run"));
  std::vector<std::thread> starts;
  for (int i = 0; i < kStarts; ++i) {
    starts.emplace_back(
        [&keys, &path, i] { keys[i] = LoadOrCreateNodeKey(path); });
  }
  for (std::thread& start : starts) start.join();
  for (const auto& key : keys) {
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->public_key(), keys[0]->public_key());
  }
  DIR* listing = opendir(dir.c_str());
  ASSERT_NE(listing, nullptr);
  std::vector<std::string> names;
  while (dirent* entry = readdir(listing)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(listing);
  EXPECT_EQ(names, std::vector<std::string>{"node.key"});
  EXPECT_EQ(Mode(path), 0600u);
}

TEST(NodeIdentityTest, RefusesAKeyOthersCanReadOrThatIsNotAKey) {
  const std::string dir = TempDir();
  const std::string path = dir + "/node.key";
  ASSERT_TRUE(LoadOrCreateNodeKey(path).ok());
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  absl::StatusOr<crypto::KeyPair> open = LoadOrCreateNodeKey(path);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos)
      << open.status();

  const std::string bad = dir + "/bad.key";
  {
    std::ofstream out(bad);
    out << "not base64 at all\n";
  }
  ASSERT_EQ(chmod(bad.c_str(), 0600), 0);
  absl::StatusOr<crypto::KeyPair> garbage = LoadOrCreateNodeKey(bad);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("32 bytes of base64"),
            std::string::npos)
      << garbage.status();
  // A directory where the key should be.
  ASSERT_EQ(mkdir((dir + "/dir.key").c_str(), 0700), 0);
  EXPECT_FALSE(LoadOrCreateNodeKey(dir + "/dir.key").ok());
}

TEST(NodeIdentityTest, PublicKeysAsText) {
  absl::StatusOr<crypto::KeyPair> key = crypto::KeyPair::Generate();
  ASSERT_TRUE(key.ok());
  const std::string text = PublicKeyToText(key->public_key());
  EXPECT_EQ(text.size(), 44u);
  absl::StatusOr<crypto::PublicKey> back = PublicKeyFromText(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, key->public_key());
  EXPECT_FALSE(PublicKeyFromText("").ok());
  EXPECT_FALSE(PublicKeyFromText(text.substr(1)).ok());
  EXPECT_FALSE(PublicKeyFromText(text.substr(0, 43) + "!").ok());
}

TEST(NodeIdentityTest, TrustListWithNamesCommentsAndErrorsByLine) {
  const std::string a =
      PublicKeyToText(crypto::KeyPair::Generate()->public_key());
  const std::string b =
      PublicKeyToText(crypto::KeyPair::Generate()->public_key());
  absl::StatusOr<std::vector<TrustedPeer>> peers =
      ParseTrustedPeers("# the storage tier\n" + a + "  host-a.example\n\n  " +
                        b + "   # no name\n");
  ASSERT_TRUE(peers.ok()) << peers.status();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ(PublicKeyToText((*peers)[0].key), a);
  EXPECT_EQ((*peers)[0].name, "host-a.example");
  EXPECT_EQ((*peers)[1].name, "");
  absl::StatusOr<std::vector<TrustedPeer>> bad =
      ParseTrustedPeers(a + "\nnot-a-key\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  absl::StatusOr<std::vector<TrustedPeer>> twice =
      ParseTrustedPeers(a + " x\n" + a + " y\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("listed twice"), std::string::npos);
  EXPECT_TRUE(ParseTrustedPeers("").ok());
}

}  // namespace
}  // namespace ferry::controlplane
