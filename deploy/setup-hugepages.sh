#!/usr/bin/env bash
# Reserves 2 MiB hugepages and mounts hugetlbfs on /dev/hugepages.
# Usage: setup-hugepages.sh [PAGES]   (default 1024 pages = 2 GiB)
# Exits non-zero with one line when the machine does not allow it; ferryd then
# needs --no-huge.
set -euo pipefail

pages=${1:-1024}
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

if [[ ! -w $nr ]]; then
  echo "setup-hugepages: $nr not writable; run ferryd with --no-huge" >&2
  exit 1
fi
if (($(cat "$nr") < pages)); then
  echo "$pages" >"$nr" || true
fi
got=$(cat "$nr")
if ! mountpoint -q /dev/hugepages; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages || {
    echo "setup-hugepages: cannot mount hugetlbfs; run ferryd with --no-huge" >&2
    exit 1
  }
fi
echo "setup-hugepages: $got x 2 MiB hugepages reserved, hugetlbfs on /dev/hugepages"
