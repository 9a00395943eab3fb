#!/usr/bin/env bash
# Installs what the Cortex-M4F build and run need, from Debian's archive (rustup cannot add
# targets on this machine): rustc-web and cargo-web (a rustc whose sysroot has the standard
# library's source, rust-web-src, for -Zbuild-std), lld to link, llvm for llvm-size and
# llvm-objdump, and qemu-system-arm for the MPS2-AN386 board. Does nothing if all are there.
set -euo pipefail
packages=(rustc-web cargo-web rust-web-src lld llvm qemu-system-arm)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
