#!/usr/bin/env bash
# Installs TensorFlow.js (core, converter, CPU backend; pure JavaScript, nothing is
# downloaded at install or run time) into DIR/node_modules: the runtime Osprey's TF.js
# graph import is checked against (tools/tfjs/tfjs_run.mjs).
#
#   tools/tfjs/setup_tfjs.sh [DIR]     DIR defaults to $OSPREY_TFJS_DIR, else <repo>/build/tfjs
#
# Idempotent: when the pinned version is installed and adds two numbers, it prints
# nothing and exits 0. Needs Node.js >= 18 and npm.
set -euo pipefail

TFJS_VERSION=4.22.0   # bump deliberately (the CPU kernels may shift outputs in the last bits)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${1:-${OSPREY_TFJS_DIR:-$repo/build/tfjs}}

check() {
  [[ -f "$dir/node_modules/@tensorflow/tfjs-core/package.json" ]] || return 1
  TFJS_DIR="$dir" TFJS_VERSION="$TFJS_VERSION" node --input-type=module -e '
    import { createRequire } from "node:module";
    import path from "node:path";
    const require = createRequire(path.resolve(process.env.TFJS_DIR, "package.json"));
    for (const p of ["tfjs-core", "tfjs-converter", "tfjs-backend-cpu"]) {
      const v = require(`@tensorflow/${p}/package.json`).version;
      if (v !== process.env.TFJS_VERSION) { console.error(`@tensorflow/${p} ${v} installed, ${process.env.TFJS_VERSION} wanted`); process.exit(3); }
    }
    const tf = require("@tensorflow/tfjs-core");
    require("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
    const s = tf.add(tf.scalar(1.5), tf.scalar(2)).dataSync()[0];
    if (s !== 3.5) { console.error("tfjs: wrong result from add"); process.exit(4); }
  '
}

if check 2>/dev/null; then exit 0; fi

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "setup_tfjs.sh: node and npm are needed" >&2; exit 1; }
mkdir -p "$dir"
exec 9>"$dir/.setup.lock"
flock 9
if check 2>/dev/null; then exit 0; fi   # another process installed it meanwhile

cat >"$dir/package.json" <<JSON
{
  "name": "osprey-tfjs",
  "private": true,
  "description": "TensorFlow.js for Osprey's TF.js reference runs (written by tools/tfjs/setup_tfjs.sh)",
  "dependencies": {
    "@tensorflow/tfjs-core": "$TFJS_VERSION",
    "@tensorflow/tfjs-converter": "$TFJS_VERSION",
    "@tensorflow/tfjs-backend-cpu": "$TFJS_VERSION"
  }
}
JSON
echo "setup_tfjs.sh: installing @tensorflow/tfjs-{core,converter,backend-cpu}@$TFJS_VERSION into $dir" >&2
(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
if ! check; then
  echo "setup_tfjs.sh: TensorFlow.js $TFJS_VERSION installed but does not run" >&2
  exit 1
fi
echo "setup_tfjs.sh: TensorFlow.js $TFJS_VERSION ready ($(du -sh "$dir/node_modules" | cut -f1))" >&2
