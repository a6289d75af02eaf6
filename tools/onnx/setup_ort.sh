#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (the CPU runtime Osprey's ONNX import is checked
# against) into DIR/node_modules, unless the pinned version is already there and loads.
#
#   tools/onnx/setup_ort.sh [DIR]     DIR defaults to $OSPREY_ORT_DIR, else <repo>/build/ort
#
# Idempotent: when the pinned version is installed and its native binding runs a tiny
# model, it prints nothing and exits 0. Otherwise it writes DIR/package.json pinning
# the version and runs `npm install --ignore-scripts` (the package's postinstall would
# download optional GPU binaries; the CPU runtime is inside the npm tarball itself).
# Binaries for other platforms are deleted afterwards (~300 MB -> ~50 MB).
# Needs Node.js >= 18 and npm.
set -euo pipefail

ORT_VERSION=1.31.1   # onnxruntime-node; bump deliberately (outputs may shift in the last bits)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${1:-${OSPREY_ORT_DIR:-$repo/build/ort}}

# Loads onnxruntime-node from $dir, checks its version, runs an Identity model (opset 13).
check() {
  [[ -f "$dir/node_modules/onnxruntime-node/package.json" ]] || return 1
  ORT_DIR="$dir" ORT_VERSION="$ORT_VERSION" node --input-type=module -e '
    import { createRequire } from "node:module";
    import path from "node:path";
    const require = createRequire(path.resolve(process.env.ORT_DIR, "package.json"));
    const ort = require("onnxruntime-node");
    const v = require("onnxruntime-node/package.json").version;
    if (v !== process.env.ORT_VERSION) {
      console.error(`onnxruntime-node ${v} installed, ${process.env.ORT_VERSION} wanted`);
      process.exit(3);
    }
    const model = Buffer.from("CAcSADo3ChAKAXgSAXkiCElkZW50aXR5EgF0Wg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ==", "base64");
    const s = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
    const r = await s.run({ x: new ort.Tensor("float32", Float32Array.from([1.5]), [1]) });
    if (r.y.data[0] !== 1.5) { console.error("onnxruntime-node: wrong result from Identity"); process.exit(4); }
  '
}

if check 2>/dev/null; then exit 0; fi

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "setup_ort.sh: node and npm are needed" >&2; exit 1; }
mkdir -p "$dir"
exec 9>"$dir/.setup.lock"
flock 9
if check 2>/dev/null; then exit 0; fi   # another process installed it meanwhile

cat >"$dir/package.json" <<EOF
{
  "name": "osprey-ort",
  "private": true,
  "description": "ONNX Runtime for Osprey's ONNX reference runs (written by tools/onnx/setup_ort.sh)",
  "dependencies": { "onnxruntime-node": "$ORT_VERSION" }
}
EOF
echo "setup_ort.sh: installing onnxruntime-node@$ORT_VERSION into $dir" >&2
# A present but broken copy (pruned binaries, partial install) would count as up to date.
rm -rf "$dir/node_modules/onnxruntime-node" "$dir/node_modules/onnxruntime-common"
(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

# Keep only this platform's native runtime.
bin="$dir/node_modules/onnxruntime-node/bin"
here=$(node -p 'process.platform + "/" + process.arch')
for d in "$bin"/napi-v*/*/*; do
  [[ -d "$d" ]] || continue
  case "$d" in */"$here") ;; *) rm -rf "$d" ;; esac
done
find "$bin" -mindepth 1 -type d -empty -delete

if ! check; then
  echo "setup_ort.sh: onnxruntime-node@$ORT_VERSION installed but does not load" >&2
  exit 1
fi
echo "setup_ort.sh: onnxruntime-node@$ORT_VERSION ready ($(du -sh "$dir/node_modules" | cut -f1))" >&2
