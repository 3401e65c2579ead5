#!/usr/bin/env bash
# Builds the tiny test guest the snapshot tests boot under QEMU (issue 7):
#   OUT_DIR/vmlinuz     Debian's distribution kernel (the package linux-image-amd64 points at)
#   OUT_DIR/vmlinux     the same kernel decompressed (ELF with a PVH entry point), which QEMU
#                       boots directly: under TCG the bzImage's own XZ decompression costs about
#                       as much CPU as the whole boot after it (prompt in ~2 s instead of ~5 s)
#   OUT_DIR/initrd.img  newc cpio + gzip: busybox-static, the virtio modules for a virtio-blk
#                       disk, a virtio-serial port and the serial console, and an /init that
#                       prints "vsnapd-guest ready" and starts a root shell (prompt "~ # ") on ttyS0
#   OUT_DIR/VERSION     kernel release (the lib/modules directory name)
#   OUT_DIR/manifest    package versions and the recipe hash; written last, so it marks a
#                       complete build
# Usage: scripts/build-test-guest.sh [OUT_DIR]
#   default OUT_DIR: ${XDG_CACHE_HOME:-$HOME/.cache}/vsnapd/test-guest
# Idempotent: when the manifest matches this script and the packages apt would fetch now, it
# exits at once without touching the network. Boot it with
#   qemu-system-x86_64 -accel tcg -m 128 -nographic -kernel OUT_DIR/vmlinux \
#     -initrd OUT_DIR/initrd.img -append "console=ttyS0 quiet"
# (-kernel OUT_DIR/vmlinuz works the same, slower). Keep console output of one command under the
# tty buffer (4 KiB): beyond it this QEMU/kernel pair drains the 16550 at only ~2 KB/s.
set -euo pipefail

out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/vsnapd/test-guest}
# Module names as modprobe knows them; their dependencies are added below. Built-in
# ones (Debian builds the 8250 UART into the kernel) are skipped, so the list stays correct if a
# later kernel makes one of them modular.
want_modules=(8250 virtio_pci virtio_blk virtio_console)
ready_line="vsnapd-guest ready"

log() { echo "build-test-guest: $*" >&2; }

# Installs the Debian package holding a tool only when the tool is missing (dpkg-deb and apt
# come with Debian; cpio may not, xz/zstd only matter for a kernel with compressed modules).
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
need() {
  command -v "$1" >/dev/null && return 0
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "$2" >/dev/null
}
need cpio cpio

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Concurrent callers (several ctest jobs, two developers' scripts) build once, in turn.
exec 9>"$out/.lock"
flock 9

# The real kernel package behind the linux-image-amd64 metapackage (e.g. linux-image-6.1.0-56-amd64)
# and the candidate versions, from one apt-cache call (each costs ~0.6 s here): the metapackage
# pins its kernel with "(= version)", so a second query is needed only if it ever stops doing so.
resolve() {
  local fields
  fields=$(apt-cache show --no-all-versions linux-image-amd64 busybox-static 2>/dev/null |
           awk '/^Package:/ { p = $2 }
                p == "linux-image-amd64" && /^Depends:/ {
                  sub(/^Depends: */, ""); split($0, d, /, */)
                  for (i in d) if (d[i] ~ /^linux-image-/) { print "k", d[i]; break } }
                p == "busybox-static" && /^Version:/ { print "b", $2 }')
  kpkg=$(awk '$1 == "k" { print $2 }' <<<"$fields")
  kver=$(awk '$1 == "k" && $3 == "(=" { sub(/\)$/, "", $4); print $4 }' <<<"$fields")
  bver=$(awk '$1 == "b" { print $2 }' <<<"$fields")
  [[ -n $kpkg ]] || return 1
  if [[ -z $kver ]]; then
    kver=$(apt-cache show --no-all-versions "$kpkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
  fi
  [[ -n $kver && -n $bver ]]
}
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
expected() {
  printf 'recipe %s\n%s %s\nbusybox-static %s\n' "$recipe" "$kpkg" "$kver" "$bver"
}
complete() { [[ -s $out/vmlinuz && -s $out/vmlinux && -s $out/initrd.img && -s $out/VERSION && -s $out/manifest ]]; }

if resolve; then
  if complete && [[ $(head -n 3 "$out/manifest") == "$(expected)" ]]; then
    exit 0
  fi
elif complete && [[ $(head -n 1 "$out/manifest") == "recipe $recipe" ]]; then
  # No package lists to compare against (never updated, or offline): what we have is usable.
  exit 0
else
  log "apt-get update (no package lists)"
  "${sudo[@]}" apt-get update -qq >/dev/null
  resolve || { log "cannot resolve linux-image-amd64 / busybox-static"; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vsnapd-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/debs" "$work/x"
# apt-get download as root drops privileges to _apt, which must be able to write there.
if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
  chmod 755 "$work"
  chown _apt "$work/debs"
fi

log "downloading $kpkg=$kver busybox-static=$bver"
t0=$(date +%s.%N)
(cd "$work/debs" && apt-get download -q=2 "$kpkg=$kver" "busybox-static=$bver")
t1=$(date +%s.%N)
bytes=$(du -cb "$work"/debs/*.deb | awk 'END { print $1 }')
log "downloaded $((bytes / 1048576)) MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/x"
done

release=$(ls "$work/x/lib/modules")
[[ $(wc -w <<<"$release") -eq 1 ]] || { log "expected one kernel release, got: $release"; exit 1; }
moddir=$work/x/lib/modules/$release
kernel=$work/x/boot/vmlinuz-$release
[[ -f $kernel ]] || { log "no $kernel in $kpkg"; exit 1; }

# The bzImage is a boot stub plus the compressed kernel ELF; the compression is the one the
# package's config names. --single-stream / gzip -dc stop at the end of the payload and ignore the
# trailer (the size field) behind it. Without a PVH entry QEMU could not boot the ELF directly.
config=$work/x/boot/config-$release
grep -qx 'CONFIG_PVH=y' "$config" || { log "$kpkg has no PVH entry point (CONFIG_PVH)"; exit 1; }
case $(grep -E '^CONFIG_KERNEL_(XZ|ZSTD|GZIP)=y' "$config") in
  CONFIG_KERNEL_XZ=y) magic='\xfd7zXZ\x00'; unpack=(xz -dc --single-stream); need xz xz-utils ;;
  CONFIG_KERNEL_ZSTD=y) magic='\x28\xb5\x2f\xfd'; unpack=(zstd -dc); need zstd zstd ;;
  CONFIG_KERNEL_GZIP=y) magic='\x1f\x8b\x08'; unpack=(gzip -dc) ;;
  *) log "$kpkg: kernel compression not xz, zstd or gzip"; exit 1 ;;
esac
offset=$(LC_ALL=C grep -obUaP "$magic" "$kernel" | head -n 1 | cut -d: -f1)
[[ -n $offset ]] || { log "no compressed payload in $kernel"; exit 1; }
# gzip and zstd complain about the trailer after the stream; the ELF check below is the judge.
tail -c +$((offset + 1)) "$kernel" | "${unpack[@]}" >"$work/vmlinux" 2>/dev/null || true
[[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] ||
  { log "decompressed kernel is not an ELF file"; exit 1; }

# Debian ships modules.order (every modular driver's path) and modules.builtin, not the
# modules.dep that depmod makes at install time, so dependencies come from each module's own
# .modinfo "depends=" entry; no kmod needed on the host.
declare -A path_of builtin visited
modname() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }
while IFS= read -r path; do
  path_of[$(modname "$path")]=${path%%.ko*}.ko
done <"$moddir/modules.order"
while IFS= read -r path; do
  builtin[$(modname "$path")]=1
done <"$moddir/modules.builtin"

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,etc,lib/modules}
: >"$root/etc/modules"

# Copies one module in decompressed (busybox insmod reads plain ELF only, and gzip on the whole
# archive compresses them about as well as per-file compression would).
copy_module() {
  local src=$moddir/$1 dst=$2
  if [[ -f $src ]]; then cp "$src" "$dst"
  elif [[ -f $src.xz ]]; then need xz xz-utils; xz -dc "$src.xz" >"$dst"
  elif [[ -f $src.zst ]]; then need zstd zstd; zstd -qdc "$src.zst" >"$dst"
  elif [[ -f $src.gz ]]; then gzip -dc "$src.gz" >"$dst"
  else log "module file $src(.xz|.zst|.gz) missing"; exit 1
  fi
}

# Depth-first: a module is listed after every module it needs, which is the insmod order.
order=()
visit() {
  local name=$1 dst deps dep
  [[ -z ${visited[$name]:-} ]] || return 0
  visited[$name]=1
  [[ -z ${builtin[$name]:-} ]] || return 0
  [[ -n ${path_of[$name]:-} ]] || { log "module $name is neither built in nor modular"; exit 1; }
  dst=$root/lib/modules/$name.ko
  copy_module "${path_of[$name]}" "$dst"
  deps=$(tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p')
  for dep in ${deps//,/ }; do
    visit "$(modname "$dep")"
  done
  order+=("$name")
  echo "$name" >>"$root/etc/modules"
}
for m in "${want_modules[@]}"; do
  visit "$m"
done
cp "$work/x/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

cat >"$root/init" <<EOF
#!/bin/sh
# PID 1 of the vsnapd test guest (generated by scripts/build-test-guest.sh).
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in \$(cat /etc/modules); do
  insmod /lib/modules/\$m.ko || echo "init: insmod \$m failed"
done
# Kernel messages (virtio probes, a later poweroff) must not interleave with shell output.
dmesg -n 1
cd /root
echo "$ready_line"
# init stays PID 1 (an exiting PID 1 panics the kernel); cttyhack gives the shell ttyS0 as its
# controlling terminal so that ^C and job control work there.
while :; do
  setsid cttyhack env PS1='~ # ' /bin/sh -i
done
EOF
chmod 755 "$root/init"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
  gzip -9n >"$work/initrd.img"

# Replace the outputs as a set: the manifest goes last and marks the build complete.
rm -f "$out/manifest"
cp "$kernel" "$out/vmlinuz.new" && mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$work/vmlinux" "$out/vmlinux"
mv "$work/initrd.img" "$out/initrd.img"
echo "$release" >"$out/VERSION"
{
  expected
  echo "kernel-release $release"
  echo "modules ${order[*]}"
  echo "download-bytes $bytes"
} >"$out/manifest.new"
mv "$out/manifest.new" "$out/manifest"
log "built $out (kernel $release, vmlinux $(($(stat -c %s "$out/vmlinux") / 1048576)) MiB, initrd $(($(stat -c %s "$out/initrd.img") / 1024)) KiB, modules: ${order[*]})"
