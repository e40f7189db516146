#!/usr/bin/env bash
# Builds a corpus of real, unrelated images for the match-quality evaluation
# (go run ./examples/matcheval): photos, wallpapers, artwork and
# documentation images shipped in Debian packages. Nothing here is committed:
# the packages and their images stay under DIR (default
# ~/.cache/imgconsent/corpus). Needs apt-get and dpkg-deb (Debian or Ubuntu);
# as root it also installs cwebp (package webp) for the WebP edit.
#
#   examples/matcheval/corpus.sh [DIR]
#
# Each package is unpacked under DIR/tree/PACKAGE, so an image's path says
# where it came from. A package the archive does not have is skipped.
set -euo pipefail
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/imgconsent/corpus}
pkgs=(
  # wallpapers and photos
  desktop-base gnome-backgrounds plasma-workspace-wallpapers mate-backgrounds
  lxqt-themes ukui-wallpapers lomiri-wallpapers
  # photos of objects, animals, places and the sky
  tuxpaint-stamps-default gcompris-qt-data kstars-data marble-data
  python3-skimage-lib python3-sklearn-lib opencv-data hugin-data
  # artwork and renders
  openclipart-png wesnoth-1.16-data endless-sky-data extremetuxracer-data
  lugaru-data pokerth-data
  # documentation images (screenshots)
  gimp-help-en
)
mkdir -p "$dir/debs" "$dir/tree"
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  command -v cwebp >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends webp >/dev/null
fi
cd "$dir/debs"
for p in "${pkgs[@]}"; do
  if [ -d "$dir/tree/$p" ]; then continue; fi
  if ! ls "${p}"_*.deb >/dev/null 2>&1; then
    apt-get download -qq "$p" 2>/dev/null || { echo "skipped $p: not in the archive" >&2; continue; }
  fi
  mkdir -p "$dir/tree/$p.tmp"
  dpkg-deb -x "${p}"_*.deb "$dir/tree/$p.tmp"
  mv "$dir/tree/$p.tmp" "$dir/tree/$p"
  echo "unpacked $p" >&2
done
echo "$dir/tree"
