#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (CPU execution provider) on .npy inputs and
// writes every graph output as .npy: the referee for Osprey's ONNX import, and the
// ORT side of benchmarks.
//
//   node tools/onnx/ort_run.mjs --model M.onnx --input NAME=FILE.npy [--input ...]
//        --output-dir OUT [--threads N] [--repeat R] [--opt-level LEVEL]
//
// --input FILE.npy (without NAME=) is accepted when the model has a single input.
// An input whose .npy dtype differs from the model's element type is converted
// (with a note on stderr). Outputs go to OUT/<name>.npy, the name with every
// character outside [A-Za-z0-9._-] replaced by '_', in the output's own element
// type (float32 -> <f4, int64 -> <i8, float64 -> <f8, ...), from the first run.
// The first run is a warm-up; then R timed runs (default 1; 0 = only the warm-up).
// Prints one JSON line on stdout:
//   {"model", "ort_version", "threads", "opt_level", "load_ms", "warmup_ms", "repeat",
//    "times_ms": [...], "min_ms", "median_ms", "outputs": {name: {file, dtype, shape}}}
// --threads sets intra-op threads (default 1); --opt-level is ORT's graph optimisation
// level (disabled|basic|extended|layout|all); left out, ORT's default (all) applies.
//
// onnxruntime-node is loaded from $OSPREY_ORT_DIR (default <repo>/build/ort), where
// tools/onnx/setup_ort.sh installs it.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function die(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------- .npy I/O

// npy descr -> [ORT tensor type, typed-array constructor]
const DESCR = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array],
  '<u8': ['uint64', BigUint64Array],
  '<u4': ['uint32', Uint32Array],
  '<u2': ['uint16', Uint16Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
  '<f2': ['float16', Uint16Array], // raw IEEE half bits
};
const DESCR_OF_TYPE = Object.fromEntries(Object.entries(DESCR).map(([d, [t]]) => [t, d]));
const ALIASES = { '<i1': '|i1', '<u1': '|u1', '<b1': '|b1' };

export function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else throw new Error(`${file}: unsupported .npy version ${major}.${buf[7]}`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen);
  const descrM = header.match(/'descr'\s*:\s*'([^']*)'/);
  const fortM = header.match(/'fortran_order'\s*:\s*(True|False)/);
  const shapeM = header.match(/'shape'\s*:\s*\(([^)]*)\)/);
  if (!descrM || !fortM || !shapeM) throw new Error(`${file}: cannot parse header ${header.trim()}`);
  let descr = descrM[1];
  if (descr in ALIASES) descr = ALIASES[descr];
  if (!(descr in DESCR)) {
    throw new Error(`${file}: dtype '${descr}' not supported (little-endian numeric or bool only)`);
  }
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const [type, Ctor] = DESCR[descr];
  const n = shape.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  const nbytes = n * Ctor.BYTES_PER_ELEMENT;
  if (buf.length < start + nbytes) throw new Error(`${file}: truncated (${buf.length - start} of ${nbytes} data bytes)`);
  // slice() copies into a fresh, aligned ArrayBuffer.
  let data = new Ctor(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + nbytes));
  if (fortM[1] === 'True' && shape.length > 1) data = fortranToC(data, shape);
  return { type, descr, shape, data };
}

function fortranToC(src, shape) {
  const dst = new src.constructor(src.length);
  const nd = shape.length;
  const fstride = new Array(nd);
  fstride[0] = 1;
  for (let i = 1; i < nd; i++) fstride[i] = fstride[i - 1] * shape[i - 1];
  const idx = new Array(nd).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let i = 0; i < nd; i++) f += idx[i] * fstride[i];
    dst[c] = src[f];
    for (let i = nd - 1; i >= 0; i--) { // C order: last index fastest
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  return dst;
}

export function writeNpy(file, descr, shape, data) {
  const shapeStr = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad with spaces so that magic(6)+version(2)+len(2)+header ends on a 64-byte boundary.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  if (header.length > 65535) throw new Error('npy header too long for format 1.0');
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------- helpers

const INT_TYPES = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'bool']);
const BIG_TYPES = new Set(['int64', 'uint64']);
const FLOAT_TYPES = new Set(['float32', 'float64']);
const TYPED = Object.fromEntries(Object.values(DESCR).map(([t, C]) => [t, C]));

function convert(arr, to) {
  const C = TYPED[to];
  const out = new C(arr.data.length);
  const fromBig = BIG_TYPES.has(arr.type);
  for (let i = 0; i < out.length; i++) {
    let v = fromBig ? Number(arr.data[i]) : arr.data[i];
    if (BIG_TYPES.has(to)) out[i] = BigInt(Math.trunc(v));
    else if (to === 'bool') out[i] = v ? 1 : 0;
    else out[i] = INT_TYPES.has(to) ? Math.trunc(v) : v;
  }
  return { ...arr, type: to, data: out };
}

function sanitise(name, used) {
  let s = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (s === '' || s.startsWith('.')) s = `_${s}`;
  let cand = s;
  for (let k = 2; used.has(cand); k++) cand = `${s}_${k}`;
  used.add(cand);
  return cand;
}

function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

function parseArgs(argv) {
  const a = { inputs: [], threads: 1, repeat: 1, optLevel: null };
  const need = (i) => { if (i + 1 >= argv.length) die(`${argv[i]} needs a value`); return argv[i + 1]; };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--model') a.model = need(i++);
    else if (k === '--input') a.inputs.push(need(i++));
    else if (k === '--output-dir') a.outDir = need(i++);
    else if (k === '--threads') a.threads = Number(need(i++));
    else if (k === '--repeat') a.repeat = Number(need(i++));
    else if (k === '--opt-level') a.optLevel = need(i++);
    else if (k === '-h' || k === '--help') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    } else die(`unknown argument '${k}' (see --help)`);
  }
  if (!a.model) die('--model is required');
  if (!a.outDir) die('--output-dir is required');
  if (!Number.isInteger(a.threads) || a.threads < 1) die('--threads must be a positive integer');
  if (!Number.isInteger(a.repeat) || a.repeat < 0) die('--repeat must be a non-negative integer');
  const levels = ['disabled', 'basic', 'extended', 'layout', 'all'];
  if (a.optLevel !== null && !levels.includes(a.optLevel)) die(`--opt-level must be one of ${levels.join(', ')}`);
  return a;
}

function loadOrt() {
  const dir = process.env.OSPREY_ORT_DIR ? path.resolve(process.env.OSPREY_ORT_DIR) : path.join(REPO, 'build', 'ort');
  const require = createRequire(path.join(dir, 'package.json'));
  try {
    const ort = require('onnxruntime-node');
    return { ort, version: require('onnxruntime-node/package.json').version };
  } catch (e) {
    die(`cannot load onnxruntime-node from ${dir} (${e.message.split('\n')[0]}); ` +
        'run tools/onnx/setup_ort.sh first (or set OSPREY_ORT_DIR)');
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { ort, version } = loadOrt();

  const opts = { executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1 };
  if (args.optLevel) opts.graphOptimizationLevel = args.optLevel;
  let t0 = performance.now();
  const session = await ort.InferenceSession.create(args.model, opts);
  const loadMs = performance.now() - t0;

  const meta = new Map((session.inputMetadata || []).map((m) => [m.name, m]));
  const feeds = {};
  for (const spec of args.inputs) {
    const eq = spec.indexOf('=');
    let name, file;
    if (eq < 0) {
      if (session.inputNames.length !== 1) {
        die(`--input ${spec}: the model has inputs ${session.inputNames.join(', ')}; use NAME=FILE`);
      }
      [name, file] = [session.inputNames[0], spec];
    } else {
      [name, file] = [spec.slice(0, eq), spec.slice(eq + 1)];
    }
    if (!session.inputNames.includes(name)) die(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    let arr;
    try { arr = readNpy(file); } catch (e) { die(e.message); }
    const m = meta.get(name);
    if (m && m.isTensor && m.type && m.type !== arr.type) {
      const ok = (t) => FLOAT_TYPES.has(t) || INT_TYPES.has(t) || BIG_TYPES.has(t);
      if (!ok(m.type) || !ok(arr.type)) die(`input '${name}' wants ${m.type}, ${file} holds ${arr.type}`);
      process.stderr.write(`ort_run: note: converting ${file} from ${arr.type} to ${m.type}\n`);
      arr = convert(arr, m.type);
    }
    feeds[name] = new ort.Tensor(arr.type, arr.data, arr.shape);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) die(`no --input for ${missing.join(', ')}`);

  t0 = performance.now();
  const results = await session.run(feeds);
  const warmupMs = performance.now() - t0;

  fs.mkdirSync(args.outDir, { recursive: true });
  const used = new Set();
  const outputs = {};
  for (const name of session.outputNames) {
    const t = results[name];
    if (!t || !(t.type in DESCR_OF_TYPE)) die(`output '${name}' has unsupported type ${t && t.type}`);
    const file = `${sanitise(name, used)}.npy`;
    writeNpy(path.join(args.outDir, file), DESCR_OF_TYPE[t.type], t.dims, t.data);
    outputs[name] = { file, dtype: t.type, shape: [...t.dims] };
  }

  const times = [];
  for (let r = 0; r < args.repeat; r++) {
    t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();

  const report = {
    model: args.model,
    ort_version: version,
    threads: args.threads,
    opt_level: args.optLevel || 'default',
    load_ms: round3(loadMs),
    warmup_ms: round3(warmupMs),
    repeat: args.repeat,
    times_ms: times.map(round3),
    min_ms: round3(times.length ? Math.min(...times) : null),
    median_ms: round3(median(times)),
    outputs,
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
