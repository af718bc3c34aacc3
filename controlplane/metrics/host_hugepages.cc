#include "controlplane/metrics/host_hugepages.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/match.h"

namespace ferry::controlplane {
namespace {

// A sysfs number file; false when it is missing or not a number.
bool ReadNumber(const std::string& path, uint64_t* value) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return false;
  unsigned long long n = 0;
  const bool ok = std::fscanf(file, "%llu", &n) == 1;
  std::fclose(file);
  if (ok) *value = n;
  return ok;
}

}  // namespace

std::vector<HugepagePool> ReadHugepagePools(const std::string& dir) {
  std::vector<HugepagePool> pools;
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) return pools;
  while (const dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    constexpr char kPrefix[] = "hugepages-";
    if (!absl::StartsWith(name, kPrefix)) continue;
    HugepagePool pool;
    pool.size = name.substr(sizeof(kPrefix) - 1);
    const std::string base = dir + "/" + name + "/";
    if (!ReadNumber(base + "nr_hugepages", &pool.pages) ||
        !ReadNumber(base + "free_hugepages", &pool.free_pages)) {
      continue;
    }
    pools.push_back(pool);
  }
  closedir(listing);
  std::sort(pools.begin(), pools.end(),
            [](const HugepagePool& a, const HugepagePool& b) {
              return a.size < b.size;
            });
  return pools;
}

}  // namespace ferry::controlplane
