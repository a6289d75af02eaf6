#!/usr/bin/python3
"""Generate ONNX models with PyTorch and ONNX Runtime reference outputs for Osprey's
ONNX import tests.

  /usr/bin/python3 tests/onnx/make_onnx_references.py --out DIR [--models a,b] [--opsets 11,13]
      [--ort-threads N] [--force] [--no-ort]

For each model and opset k, with stem S = DIR/<name>_op<k>:
  S.onnx          tools/onnx/export_torchvision_onnx.py's export (static batch 2)
  S.input.npy     float32 [2, 3, 224, 224], N(0,1)
  S.torch.npy     PyTorch's output (float32 [2, 1000]; fcn_resnet50: [2, 21, 224, 224])
  S.ort/<out>.npy ONNX Runtime's output (tools/onnx/ort_run.mjs), <out> = "output" or "out"
  S.ort/run.json  ort_run.mjs's JSON line (ORT version, timings)
and DIR/onnx_references.json listing every stem. Weights, input and PyTorch output
of a model are the same for every opset, and for resnet50, googlenet and vgg16 the
same as tests/parity/make_references.py's (same seed and recipe).
Files newer than the scripts that make them are kept (--force remakes them).
Prints max |torch - ORT| per model; exits 1 if one is above --tol.
ONNX Runtime is installed (once, silently after) with tools/onnx/setup_ort.sh into
$OSPREY_ORT_DIR (default build/ort).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(REPO, "tools")
ONNX_TOOLS = os.path.join(TOOLS, "onnx")
sys.path.insert(0, ONNX_TOOLS)
import export_torchvision_onnx as exp  # noqa: E402

MODELS = ["resnet50", "googlenet", "vgg16", "mobilenet_v2", "fcn_resnet50"]
OPSETS = [11, 13]
ORT_RUN = os.path.join(ONNX_TOOLS, "ort_run.mjs")
SETUP_ORT = os.path.join(ONNX_TOOLS, "setup_ort.sh")

# Files whose change invalidates existing references.
TORCH_DEPS = [os.path.abspath(__file__), os.path.join(ONNX_TOOLS, "export_torchvision_onnx.py"),
              os.path.join(TOOLS, "export_torchvision.py")]
ORT_DEPS = [ORT_RUN, SETUP_ORT]  # setup_ort.sh pins the ORT version


def model_seed(name):
    """Same as tests/parity/make_references.py: fixed, derived from the name."""
    return zlib.crc32(name.encode()) % 100000


def torch_files(out_dir, name, opset):
    stem = os.path.join(out_dir, f"{name}_op{opset}")
    return [stem + ".onnx", stem + ".input.npy", stem + ".torch.npy"]


def ort_file(out_dir, name, opset):
    return os.path.join(out_dir, f"{name}_op{opset}.ort", exp.output_name(name) + ".npy")


def newer_than(paths, deps):
    newest = max(os.path.getmtime(p) for p in deps)
    return all(os.path.exists(p) and os.path.getmtime(p) > newest for p in paths)


def dir_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def make_torch(name, opsets, out_dir):
    """Build the model once; export each opset; write input and PyTorch output per stem."""
    seed = model_seed(name)
    model = exp.build(name, seed)
    x = exp.reference_input(seed)
    y = exp.run_torch(model, name, x)
    for k in opsets:
        onnx_path, input_path, torch_path = torch_files(out_dir, name, k)
        exp.export_onnx(model, name, k, onnx_path, batch_dynamic=True, x=x)  # batch stays a free dimension
        exp.save_npy(x.numpy(), input_path)
        exp.save_npy(y, torch_path)  # last: its presence marks a complete set
    return y


def run_ort(name, opset, out_dir, threads):
    onnx_path, input_path, _ = torch_files(out_dir, name, opset)
    ort_dir = os.path.join(out_dir, f"{name}_op{opset}.ort")
    cmd = ["node", ORT_RUN, "--model", onnx_path, "--input", f"input={input_path}",
           "--output-dir", ort_dir, "--threads", str(threads), "--repeat", "1"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"ort_run failed for {onnx_path}")
    line = r.stdout.strip().splitlines()[-1]
    with open(os.path.join(ort_dir, "run.json"), "w") as f:
        f.write(line + "\n")
    return json.loads(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, from " + ",".join(MODELS))
    ap.add_argument("--opsets", default=",".join(map(str, OPSETS)), help="comma-separated, from 11,13")
    ap.add_argument("--ort-threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    ap.add_argument("--tol", type=float, default=1e-3, help="max |torch - ORT| allowed (default 1e-3)")
    ap.add_argument("--force", action="store_true", help="remake everything")
    ap.add_argument("--no-ort", action="store_true", help="only the PyTorch side")
    args = ap.parse_args()

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    opsets = [int(k) for k in args.opsets.split(",") if k.strip()]
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n}")
    for k in opsets:
        if k not in OPSETS:
            ap.error(f"unsupported opset {k}")
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    t_all = time.time()

    # PyTorch side: ONNX files, inputs, PyTorch outputs.
    for name in names:
        todo = [k for k in opsets if args.force or not newer_than(torch_files(args.out, name, k), TORCH_DEPS)]
        if not todo:
            print(f"{name:13s} torch/onnx up to date, skipped")
            continue
        t0 = time.time()
        y = make_torch(name, todo, args.out)
        size = sum(dir_size(p) for k in todo for p in torch_files(args.out, name, k))
        print(f"{name:13s} opsets {','.join(map(str, todo)):5s} exported {time.time() - t0:6.1f}s "
              f"{size / 1e6:7.1f} MB  output {tuple(y.shape)} std {y.std():.3g}", flush=True)
    t_torch = time.time() - t_all

    # ORT side, and the comparison.
    worst = 0.0
    manifest = {"ort_version": None, "models": []}
    if not args.no_ort:
        r = subprocess.run(["bash", SETUP_ORT])
        if r.returncode != 0:
            raise SystemExit("setup_ort.sh failed")
    t1 = time.time()
    for name in names:
        for k in opsets:
            onnx_path, input_path, torch_path = torch_files(args.out, name, k)
            entry = {"name": name, "opset": k, "seed": model_seed(name), "onnx": os.path.basename(onnx_path),
                     "input_name": "input", "input": os.path.basename(input_path),
                     "output_name": exp.output_name(name), "torch": os.path.basename(torch_path)}
            if not args.no_ort:
                ort_path = ort_file(args.out, name, k)
                if not args.force and newer_than([ort_path], ORT_DEPS + [onnx_path, input_path]):
                    info = None
                    note = "(kept)"
                else:
                    info = run_ort(name, k, args.out, args.ort_threads)
                    manifest["ort_version"] = info["ort_version"]
                    note = f"ORT load {info['load_ms'] / 1e3:.1f}s run {info['warmup_ms'] / 1e3:.2f}s"
                a, b = np.load(torch_path), np.load(ort_path)
                if a.shape != b.shape:
                    raise SystemExit(f"{name} op{k}: shapes differ, torch {a.shape} vs ORT {b.shape}")
                d = float(np.abs(a.astype(np.float64) - b).max())
                worst = max(worst, d)
                # The part of the output that depends on the input (random nets are
                # dominated by a constant part): std of the difference between the two samples.
                dep = float((a[0].astype(np.float64) - a[1]).std())
                entry.update(ort=os.path.relpath(ort_path, args.out), max_abs_diff=d)
                print(f"{name}_op{k}: max|torch-ORT| {d:.3g}  max|torch| {np.abs(a).max():.3g}  "
                      f"std(y[0]-y[1]) {dep:.3g}  {note}", flush=True)
            manifest["models"].append(entry)
    if manifest["ort_version"] is None and not args.no_ort:
        with open(os.path.join(args.out, f"{names[0]}_op{opsets[0]}.ort", "run.json")) as f:
            manifest["ort_version"] = json.loads(f.read())["ort_version"]
    with open(os.path.join(args.out, "onnx_references.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")

    total = sum(dir_size(p) for n in names for k in opsets
                for p in torch_files(args.out, n, k) + [os.path.join(args.out, f"{n}_op{k}.ort")]
                if os.path.exists(p))
    print(f"total {time.time() - t_all:.1f}s (torch/onnx {t_torch:.1f}s, ORT {time.time() - t1:.1f}s), "
          f"{total / 1e6:.1f} MB in {args.out}; worst max|torch-ORT| {worst:.3g}")
    if worst > args.tol:
        print(f"FAIL: torch and ORT differ by more than {args.tol}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
