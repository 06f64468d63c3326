#!/usr/bin/env bash
# Installs the Debian 12 packages akavs needs to build, test and benchmark.
# Quick when everything is already there; prints the apt-get line when not root.
set -eu
pkgs=(build-essential cmake pkg-config clang clang-tools libclang-rt-14-dev
  liburing-dev libssl-dev libjemalloc-dev liblmdb-dev lmdb-utils libinih-dev
  check libsubunit-dev libbenchmark-dev openssl
  libosmocore-dev libosmocore-utils
  gnuplot-nox python3 procps iproute2 valgrind
  kamailio kamailio-ims-modules kamailio-presence-modules sip-tester tshark)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "deps: all ${#pkgs[@]} packages present"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing: ${missing[*]}"
  echo "run as root: apt-get install -y ${missing[*]}"
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts kamailio as a service on install; tests start their own instances.
systemctl disable --now kamailio >/dev/null 2>&1 || true
pkill -x kamailio >/dev/null 2>&1 || true
echo "deps: done"
