#!/usr/bin/env bash
# Builds a corpus of real photographs at the sizes and quality of web
# datasets, for the end-to-end benchmark on real images
# (go test -bench EndToEndReal, in the repository's root). Nothing here is
# committed.
#
#   examples/matcheval/webcorpus.sh [DIR [PHOTOS...]]
#
# DIR is corpus.sh's directory (default ~/.cache/imgconsent/corpus); run
# corpus.sh first. Every JPEG under DIR/tree larger than 1024 pixels on a
# side (wallpapers, photographs, paintings), and every JPEG among PHOTOS
# (files or folders, e.g. ../shared/fixtures/pdq/large), is scaled by
# libjpeg-turbo (djpeg -scale, its own filter) to up to four web sizes of at
# most 1024 pixels and encoded by libjpeg-turbo (cjpeg) at quality 85 with
# 4:2:0 chroma, one in four progressive, as most web JPEGs are made. The
# result is DIR/web/web-NNNN.jpg. The JPEGs of DIR/tree already within 1024
# pixels are added as they are, as DIR/web/deb-NNNN.jpg (screenshots, game
# art, photos: denser than web photos). DIR/web/SOURCES.tsv says where each
# came from; the benchmark reads the first 400 of each kind, by name. Needs djpeg, cjpeg and
# rdjpgcom (package libjpeg-turbo-progs; installed when run as root).
set -euo pipefail
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/imgconsent/corpus}
shift || true
if ! command -v cjpeg >/dev/null || ! command -v djpeg >/dev/null || ! command -v rdjpgcom >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libjpeg-turbo-progs >/dev/null
  else
    echo "webcorpus.sh: needs djpeg and cjpeg (apt-get install libjpeg-turbo-progs)" >&2
    exit 1
  fi
fi
[ -d "$dir/tree" ] || { echo "webcorpus.sh: no $dir/tree; run corpus.sh first" >&2; exit 1; }
out="$dir/web"
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out.tmp"' EXIT

# size FILE prints "WIDTH HEIGHT" of a JPEG, or nothing.
size() {
  rdjpgcom -verbose "$1" 2>/dev/null | sed -n 's/^JPEG image is \([0-9]*\)w \* \([0-9]*\)h.*/\1 \2/p'
}

n=0 nweb=0 ndeb=0
emit() { # emit FILE SOURCE PREFIX
  n=$((n + 1))
  local name
  if [ "$3" = web ]; then
    nweb=$((nweb + 1))
    name=$(printf 'web-%04d.jpg' "$nweb")
  else
    ndeb=$((ndeb + 1))
    name=$(printf 'deb-%04d.jpg' "$ndeb")
  fi
  mv "$1" "$out.tmp/$name"
  printf '%s\t%s\n' "$name" "$2" >>"$out.tmp/SOURCES.tsv"
}

sources=()
while IFS= read -r -d '' f; do sources+=("$f"); done < <(find "$dir/tree" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) -print0 | sort -z)
for p in "$@"; do
  while IFS= read -r -d '' f; do sources+=("$f"); done < <(find "$p" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) -print0 | sort -z)
done

k=0
for f in "${sources[@]}"; do
  read -r w h < <(size "$f" || true) || continue
  [ -n "${w:-}" ] && [ -n "${h:-}" ] || continue
  side=$((w > h ? w : h))
  if [ "$side" -le 1024 ]; then
    case "$f" in "$dir/tree/"*) cp "$f" "$tmp/x.jpg" && emit "$tmp/x.jpg" "${f#"$dir/"} (as shipped)" deb ;; esac
    continue
  fi
  made=0
  for s in 1/2 3/8 1/4 3/16 1/8; do
    num=${s%/*} den=${s#*/}
    t=$((side * num / den))
    { [ "$t" -le 1024 ] && [ "$t" -ge 160 ]; } || continue
    k=$((k + 1))
    prog=()
    [ $((k % 4)) = 0 ] && prog=(-progressive)
    if djpeg -scale "$s" -pnm "$f" >"$tmp/x.pnm" 2>/dev/null &&
      cjpeg -quality 85 -sample 2x2 "${prog[@]}" "$tmp/x.pnm" >"$tmp/x.jpg" 2>/dev/null; then
      emit "$tmp/x.jpg" "$f scaled $s, cjpeg -quality 85${prog:+ -progressive}" web
      made=$((made + 1))
    fi
    [ "$made" -lt 4 ] || break
  done
done
rm -rf "$out"
mv "$out.tmp" "$out"
echo "webcorpus.sh: $nweb web-size photos (web-*.jpg) and $ndeb JPEGs as Debian ships them (deb-*.jpg) in $out"
