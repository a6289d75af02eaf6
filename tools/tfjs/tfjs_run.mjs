#!/usr/bin/env node
// Runs a TF.js graph model (model.json + weight shards, read from disk through a custom
// IO handler: nothing is fetched) with TensorFlow.js's CPU backend on a .npy input and
// writes the named outputs as .npy: the referee for Osprey's TF.js import.
//
//   node tools/tfjs/tfjs_run.mjs --model M/model.json --input FILE.npy --output-dir OUT
//        [--outputs NODE,NODE,...]
//
// The input is float32 in the model's own layout (NHWC for most TF models). Outputs (the
// signature's when --outputs is not given) go to OUT/<name>.npy, the name with every
// character outside [A-Za-z0-9._-] replaced by '_', as float32. Prints one JSON line:
//   {"model", "tfjs_version", "backend", "ms", "outputs": {name: {file, shape}}}
// TensorFlow.js is loaded from $OSPREY_TFJS_DIR (default <repo>/build/tfjs), where
// tools/tfjs/setup_tfjs.sh installs it.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function die(msg) {
  process.stderr.write(`tfjs_run: ${msg}\n`);
  process.exit(1);
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== '<f4') die(`${file}: expected float32 (<f4), got ${descr}`);
  if (/'fortran_order':\s*True/.test(header)) die(`${file}: Fortran order is not supported`);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const offset = start + headerLen;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(offset, offset + 4 * count));
  return { shape, data };
}

function writeNpy(file, shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(Float32Array.from(data).buffer);
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

const args = process.argv.slice(2);
const opt = { outputs: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const next = () => args[++i] ?? die(`${a} needs a value`);
  if (a === '--model') opt.model = next();
  else if (a === '--input') opt.input = next();
  else if (a === '--output-dir') opt.outputDir = next();
  else if (a === '--outputs') opt.outputs = next().split(',').filter(Boolean);
  else die(`unknown argument ${a}`);
}
if (!opt.model || !opt.input || !opt.outputDir) die('usage: --model M/model.json --input FILE.npy --output-dir OUT [--outputs A,B]');

const tfjsDir = process.env.OSPREY_TFJS_DIR || path.join(REPO, 'build', 'tfjs');
const require = createRequire(path.resolve(tfjsDir, 'package.json'));
let tf, tfconv;
try {
  tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  tfconv = require('@tensorflow/tfjs-converter');
} catch (e) {
  die(`TensorFlow.js is not installed in ${tfjsDir} (run tools/tfjs/setup_tfjs.sh): ${e.message}`);
}
await tf.setBackend('cpu');

// A custom IO handler: model.json and the manifest's shards, concatenated as TF.js does.
const modelJson = JSON.parse(fs.readFileSync(opt.model, 'utf8'));
const handler = {
  load: async () => {
    const specs = [];
    const parts = [];
    for (const group of modelJson.weightsManifest) {
      specs.push(...group.weights);
      for (const p of group.paths) parts.push(fs.readFileSync(path.join(path.dirname(opt.model), p)));
    }
    const all = Buffer.concat(parts);
    return {
      modelTopology: modelJson.modelTopology,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
      signature: modelJson.signature,
      userDefinedMetadata: modelJson.userDefinedMetadata,
      weightSpecs: specs,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    };
  },
};
const model = await tfconv.loadGraphModel(handler);
const input = readNpy(opt.input);
const x = tf.tensor(input.data, input.shape, 'float32');
const names = opt.outputs.length ? opt.outputs : model.outputs.map((o) => o.name);
const t0 = performance.now();
let results = model.execute(x, names);
if (!Array.isArray(results)) results = [results];
const ms = performance.now() - t0;
fs.mkdirSync(opt.outputDir, { recursive: true });
const outputs = {};
for (let i = 0; i < names.length; i++) {
  const name = names[i];
  const file = path.join(opt.outputDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
  writeNpy(file, results[i].shape, results[i].dataSync());
  outputs[name] = { file, shape: results[i].shape };
}
const version = require('@tensorflow/tfjs-core/package.json').version;
process.stdout.write(JSON.stringify({ model: opt.model, tfjs_version: version, backend: tf.getBackend(), ms: Math.round(ms * 100) / 100, outputs }) + '\n');
