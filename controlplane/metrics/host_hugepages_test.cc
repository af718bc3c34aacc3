#include "controlplane/metrics/host_hugepages.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(HostHugepagesTest, ReadsEveryPoolOfAFakeSysfs) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/huge";
  mkdir(dir.c_str(), 0755);
  for (const char* pool : {"hugepages-2048kB", "hugepages-1048576kB",
                           "hugepages-broken", "not-a-pool"}) {
    mkdir((dir + "/" + pool).c_str(), 0755);
  }
  Write(dir + "/hugepages-2048kB/nr_hugepages", "1024\n");
  Write(dir + "/hugepages-2048kB/free_hugepages", "1000\n");
  Write(dir + "/hugepages-1048576kB/nr_hugepages", "0\n");
  Write(dir + "/hugepages-1048576kB/free_hugepages", "0\n");
  Write(dir + "/hugepages-broken/nr_hugepages", "many\n");
  const std::vector<HugepagePool> pools = ReadHugepagePools(dir);
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].size, "1048576kB");
  EXPECT_EQ(pools[1].size, "2048kB");
  EXPECT_EQ(pools[1].pages, 1024u);
  EXPECT_EQ(pools[1].free_pages, 1000u);
}

TEST(HostHugepagesTest, NoSysfsNoPools) {
  EXPECT_TRUE(ReadHugepagePools("/nonexistent/hugepages").empty());
}

}  // namespace
}  // namespace ferry::controlplane
