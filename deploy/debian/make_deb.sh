#!/usr/bin/env bash
# Builds ferry_VERSION_amd64.deb from built artifacts (run by the
# //deploy/debian:ferry_deb genrule; deploy/debian/build.sh is the command
# for people). dpkg-deb and dpkg-shlibdeps from Debian's dpkg-dev; no
# debhelper, no root (--root-owner-group).
#
#   make_deb.sh OUT.deb VERSION_FILE FERRYD FERRYCTL MSG_GEN LIBFERRYCLIENT \
#     LIBMACHNET_SHIM SOURCE_FILES...
# SOURCE_FILES are repository files (headers, Python, protos, unit, config,
# docs), placed by their repository path.
set -euo pipefail
out=$(realpath -m "$1")
version=$(tr -d '[:space:]' <"$2")
ferryd=$3 ferryctl=$4 msg_gen=$5 libferry=$6 libshim=$7
shift 7
root=$(mktemp -d "${TMPDIR:-/tmp}/ferry-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
pkg=$root/pkg
multiarch=x86_64-linux-gnu
lib=$pkg/usr/lib/$multiarch

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$lib/pkgconfig" \
  "$pkg/usr/include/client/abi" "$pkg/usr/lib/ferry/python" \
  "$pkg/usr/lib/python3/dist-packages/ferry" "$pkg/lib/systemd/system" \
  "$pkg/etc/ferry" "$pkg/etc/sysctl.d" "$pkg/usr/share/doc/ferry"
install -m 0755 "$ferryd" "$pkg/usr/bin/ferryd"
install -m 0755 "$ferryctl" "$pkg/usr/bin/ferryctl"
install -m 0755 "$msg_gen" "$pkg/usr/bin/ferry-msg-gen"
install -m 0644 "$libferry" "$lib/libferryclient.so"
install -m 0644 "$libshim" "$lib/libmachnet_shim.so"
# Debug information stays in the build tree.
strip --strip-unneeded "$pkg/usr/bin/"* "$lib/"*.so

# Repository files by path.
for f in "$@"; do
  f=${f#./}
  case $f in
    client/ferry.h) install -m 0644 "$f" "$pkg/usr/include/client/" ;;
    client/abi/ferry_channel_abi.h)
      install -m 0644 "$f" "$pkg/usr/include/client/abi/" ;;
    client/compat/machnet.h | client/compat/machnet_common.h)
      install -m 0644 "$f" "$pkg/usr/include/" ;;
    client/python/ferry/*.py)
      install -m 0644 "$f" "$pkg/usr/lib/python3/dist-packages/ferry/" ;;
    bench/agent/make_test_ca.sh)
      install -m 0755 "$f" "$pkg/usr/bin/ferry-bench-test-ca" ;;
    bench/*.py | proto/*.proto)
      install -D -m 0644 "$f" "$pkg/usr/lib/ferry/python/$f" ;;
    deploy/systemd/ferryd.service)
      install -m 0644 "$f" "$pkg/lib/systemd/system/" ;;
    deploy/etc/ferryd.conf | deploy/etc/trusted_peers)
      install -m 0644 "$f" "$pkg/etc/ferry/" ;;
    deploy/etc/60-ferry-hugepages.conf)
      install -m 0644 "$f" "$pkg/etc/sysctl.d/" ;;
    README.md | docs/*.md) install -m 0644 "$f" "$pkg/usr/share/doc/ferry/" ;;
    deploy/prometheus/*)
      install -D -m 0644 "$f" "$pkg/usr/share/ferry/prometheus/${f##*/}" ;;
    deploy/debian/copyright) install -m 0644 "$f" "$pkg/usr/share/doc/ferry/" ;;
    deploy/debian/VERSION | deploy/debian/make_deb.sh) ;;
    *)
      echo "make_deb: no place for $f" >&2
      exit 1
      ;;
  esac
done

# pkg-config files for the installed layout (the SDK's are relocatable).
for name in ferry machnet_shim; do
  if [[ $name == ferry ]]; then
    desc="Ferry client library: kernel-bypass messaging through ferryd"
    libs=-lferryclient
  else
    desc="Machnet's machnet.h API implemented over Ferry"
    libs=-lmachnet_shim
  fi
  cat >"$lib/pkgconfig/$name.pc" <<PC
prefix=/usr
includedir=\${prefix}/include
libdir=\${prefix}/lib/$multiarch

Name: $name
Description: $desc
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} $libs
PC
done

# Commands for the Python tools, whatever python3 comes first on PATH.
cat >"$pkg/usr/bin/ferry-orchestrator" <<'SH'
#!/bin/sh
# Ferry's benchmark orchestrator: drives bench agents, writes the report.
exec /usr/bin/python3 /usr/lib/ferry/python/bench/orchestrator.py "$@"
SH
cat >"$pkg/usr/bin/ferry-bench-agent" <<'SH'
#!/bin/sh
# Ferry's bench agent: runs msg_gen roles for the orchestrator.
exec /usr/bin/python3 /usr/lib/ferry/python/bench/agent/bench_agent.py "$@"
SH
chmod 0755 "$pkg/usr/bin/ferry-orchestrator" "$pkg/usr/bin/ferry-bench-agent"

# A native package (no Debian revision): changelog.gz.
gzip -9n -c >"$pkg/usr/share/doc/ferry/changelog.gz" <<CHANGELOG
ferry ($version) unstable; urgency=medium

  * Built from the Ferry repository (deploy/debian/make_deb.sh).

 -- Ferry developers <ferry@localhost>  Sat, 05 Dec 2026 00:00:00 +0000
CHANGELOG

# Shared-library dependencies, as dpkg-shlibdeps reads them from the ELF
# files (it wants a debian/control to stand in).
mkdir -p "$root/src/debian"
printf 'Source: ferry\n\nPackage: ferry\nArchitecture: amd64\n' \
  >"$root/src/debian/control"
shlibs=$(cd "$root/src" && dpkg-shlibdeps -O --warnings=0 \
  "$pkg/usr/bin/ferryd" "$pkg/usr/bin/ferryctl" "$pkg/usr/bin/ferry-msg-gen" \
  "$lib/libferryclient.so" "$lib/libmachnet_shim.so" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || {
  echo "make_deb: dpkg-shlibdeps found no dependencies" >&2
  exit 1
}

installed_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
# DPDK's EAL loads its buses, mempool handler and NIC drivers as plugins,
# which no library dependency names: the ones Ferry uses are listed (the
# dpdk package only recommends some of them, and not memif, null, ring or
# af_xdp). dpdk itself: dpdk-devbind.py for deploy/bind-nic.sh and, as its
# recommendations, the PCI NICs' drivers. adduser: the ferry group. The Python tools' generator (grpc_tools) imports
# pkg_resources without depending on it.
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: ferry
Version: $version
Architecture: amd64
Maintainer: Ferry developers <ferry@localhost>
Installed-Size: $installed_kb
Depends: $shlibs, librte-bus-pci23, librte-bus-vdev23, librte-mempool-ring23, librte-net-af-packet23, librte-net-af-xdp23, librte-net-memif23, librte-net-null23, librte-net-ring23, librte-net-tap23, dpdk (>= 22.11), adduser
Recommends: python3, python3-grpcio, python3-grpc-tools, python3-pkg-resources, openssl
Section: net
Priority: optional
Homepage: https://github.com/ferry-net/ferry
Description: kernel-bypass messaging between hosts
 ferryd owns NICs through DPDK and runs one polling engine per core;
 applications link the small client library (C, C++, Python; a Machnet
 compatible API) and exchange messages with an engine over shared memory,
 carried between hosts by a reliable transport over UDP/IPv4.
 .
 This package holds ferryd with its systemd unit and configuration,
 ferryctl, the client libraries with headers and pkg-config files, the
 Python binding, and the benchmark tools (ferry-msg-gen, ferry-bench-agent,
 ferry-orchestrator, ferry-bench-test-ca).
CONTROL
cat >"$pkg/DEBIAN/conffiles" <<'CONFFILES'
/etc/ferry/ferryd.conf
/etc/ferry/trusted_peers
/etc/sysctl.d/60-ferry-hugepages.conf
CONFFILES
# The loader's cache is rebuilt by dpkg's ldconfig trigger.
echo "activate-noawait ldconfig" >"$pkg/DEBIAN/triggers"
# The maintainer scripts do what debhelper's would for a unit and a system
# group (deb-systemd-helper and deb-systemd-invoke, from Debian's
# init-system-helpers).
cat >"$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  # Members of this group may run applications (ferryd.conf gives it the
  # application and channel sockets).
  addgroup --quiet --system ferry
  # Enabled, and started where systemd runs: with no NIC configured ferryd
  # starts idle and NICs come through the admin API.
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper enable ferryd.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    deb-systemd-invoke restart ferryd.service >/dev/null || true
  fi
fi
POSTINST
cat >"$pkg/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop ferryd.service >/dev/null || true
fi
# Python's byte code, written next to the modules when they first ran
# (py3clean's job in debhelper packages): left, it would keep the package's
# directories from going.
for dir in /usr/lib/ferry/python /usr/lib/python3/dist-packages/ferry; do
  if [ -d "$dir" ]; then
    find "$dir" -depth -type d -name __pycache__ -exec rm -rf {} +
  fi
done
PRERM
cat >"$pkg/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
# As debhelper does: a removed unit stays masked until purge forgets it.
if command -v deb-systemd-helper >/dev/null; then
  if [ "$1" = remove ]; then
    deb-systemd-helper mask ferryd.service >/dev/null || true
  elif [ "$1" = purge ]; then
    deb-systemd-helper purge ferryd.service >/dev/null || true
    deb-systemd-helper unmask ferryd.service >/dev/null || true
  fi
fi
# The node key ferryd made: purge forgets this node's identity, as
# openssh-server's purge removes its host keys.
if [ "$1" = purge ]; then
  rm -rf /var/lib/ferry
fi
POSTRM
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
