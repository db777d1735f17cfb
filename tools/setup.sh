# SPDX-License-Identifier: MIT
# tools/setup.sh: shared by tools/run and tools/test (sourced, not run).  Installs the
# Debian 12 packages that are missing (as root; otherwise prints the one apt-get line to
# run), then configures and builds into build/.  Idempotent: a second run only rebuilds
# what changed.

NS_PACKAGES="gcc pkg-config meson ninja-build libglib2.0-dev libgtk-4-dev libcairo2-dev \
libepoxy-dev libegl-dev libegl-mesa0 libgl1-mesa-dri \
libnifti2-dev zlib1g-dev libdnnl-dev libsqlite3-dev libjson-glib-dev xvfb xauth imagemagick \
clang libclang-rt-14-dev mricron-data python3 python3-numpy python3-scipy python3-nibabel valgrind cmake desktop-file-utils appstream libdeflate-dev \
g++ libdcmtk-dev dcmtk dcm2niix dicom3tools python3-pydicom xdotool libpq-dev postgresql slurm-wlm munge \
libopenmpi-dev openmpi-bin"

ns_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ns_root" || exit 1

ns_install_packages () {
  local missing=()
  for p in $NS_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "neuroseg: missing Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "neuroseg: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ns_build () {
  local dir=${1:-build}; shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >&2 || return 1
  fi
  ninja -C "$dir" >&2
}
