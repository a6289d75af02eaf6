#!/usr/bin/python3
"""Export a torchvision model with seeded random weights to ONNX (torch.onnx.export).

  /usr/bin/python3 tools/onnx/export_torchvision_onnx.py --model resnet50 --opset 13 -o r50.onnx
  /usr/bin/python3 tools/onnx/export_torchvision_onnx.py --model fcn_resnet50_backbone_head \\
      --opset 11 --seed 3 --batch-dynamic --reference-dir refs -o fcn.onnx

Models: resnet50, googlenet (no aux heads, transform_input=False), vgg16,
mobilenet_v2, and fcn_resnet50_backbone_head (alias fcn_resnet50):
torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None,
aux_loss=False), the whole model including the final bilinear upsample to the
input size.

Weights are made exactly as tests/parity/make_references.py makes them (same seed,
same model -> the same weights as its safetensors): torch.manual_seed(seed) init,
random BatchNorm affine parameters and running statistics (randomize_batchnorm),
then every Conv/Linear rescaled on a N(0,1) batch drawn with seed+2 so activations
stay O(1) and the output depends on the input (calibrate_weights).

The graph has one input "input" (float32 [2 or batch, 3, 224, 224]) and one output
"output" ("out" for fcn). Export uses do_constant_folding=True and eval mode, so
torch folds BatchNorm into the preceding Conv (--keep-batchnorm exports with
TrainingMode.PRESERVE instead, which keeps BatchNormalization nodes). --batch-dynamic
makes axis 0 of the input and output symbolic ("batch").

--reference-dir DIR also writes DIR/<model>.input.npy (float32 [2, 3, 224, 224],
N(0,1) drawn with seed+1) and DIR/<model>.torch.npy (PyTorch's float32 output).
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torchvision

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
from export_torchvision import build_model, calibrate_weights, randomize_batchnorm  # noqa: E402

MODELS = ("resnet50", "googlenet", "vgg16", "mobilenet_v2", "fcn_resnet50_backbone_head")
ALIASES = {"fcn_resnet50": "fcn_resnet50_backbone_head"}
OPSETS = (11, 13)
BATCH = 2
INPUT_SHAPE = (3, 224, 224)


def canonical(name):
    name = ALIASES.get(name, name)
    if name not in MODELS:
        raise SystemExit(f"unknown model '{name}' (choose from {', '.join(MODELS)})")
    return name


def output_name(name):
    return "out" if canonical(name).startswith("fcn_") else "output"


def build(name, seed):
    """Seeded random model in eval mode, BN statistics randomised, weights calibrated."""
    name = canonical(name)
    if name == "fcn_resnet50_backbone_head":
        torch.manual_seed(seed)
        model = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)
        randomize_batchnorm(model, seed)
    else:
        model = build_model(name, seed=seed, randomize_bn=True)
    shape = (BATCH,) + INPUT_SHAPE
    calibrate_weights(model, torch.randn(shape, generator=torch.Generator().manual_seed(seed + 2)))
    return model.eval()


def reference_input(seed):
    return torch.randn((BATCH,) + INPUT_SHAPE, generator=torch.Generator().manual_seed(seed + 1),
                       dtype=torch.float32)


@torch.no_grad()
def run_torch(model, name, x):
    y = model(x)
    if isinstance(y, dict):  # segmentation models return {"out": ...}
        y = y[output_name(name)]
    return y.float().numpy()


def _atomic(path, write):
    """write(tmp_path) then rename over path, so a partial file never looks complete."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_npy(arr, path):
    _atomic(path, lambda tmp: np.save(tmp, arr))


def export_onnx(model, name, opset, path, batch_dynamic=False, x=None, keep_batchnorm=False):
    if opset not in OPSETS:
        raise SystemExit(f"opset {opset} not supported here (choose from {OPSETS})")
    out = output_name(name)
    if x is None:
        x = torch.zeros((BATCH,) + INPUT_SHAPE)
    dynamic = {"input": {0: "batch"}, out: {0: "batch"}} if batch_dynamic else None
    # EVAL fuses Conv+BatchNormalization; PRESERVE on an eval-mode model keeps BN nodes.
    mode = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    model.eval()
    # fcn's interpolate(size=x.shape[-2:]) triggers a harmless shape-inference warning.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
    _atomic(path, lambda tmp: torch.onnx.export(
        model, (x,), tmp, input_names=["input"], output_names=[out], opset_version=opset,
        do_constant_folding=True, dynamic_axes=dynamic, training=mode))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help=", ".join(MODELS))
    ap.add_argument("--opset", type=int, required=True, choices=OPSETS)
    ap.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    ap.add_argument("--batch-dynamic", action="store_true", help="symbolic batch axis")
    ap.add_argument("--keep-batchnorm", action="store_true",
                    help="keep BatchNormalization nodes (default: torch folds them into Conv)")
    ap.add_argument("--reference-dir", help="also write <model>.input.npy and <model>.torch.npy here")
    ap.add_argument("-o", "--output", required=True, help="OUT.onnx")
    args = ap.parse_args()

    torch.set_num_threads(2)
    t0 = time.time()
    model = build(args.model, args.seed)
    x = reference_input(args.seed)
    export_onnx(model, args.model, args.opset, args.output, args.batch_dynamic, x, args.keep_batchnorm)
    msg = f"{args.model} opset {args.opset} -> {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB)"
    if args.reference_dir:
        y = run_torch(model, args.model, x)
        save_npy(x.numpy(), os.path.join(args.reference_dir, f"{args.model}.input.npy"))
        save_npy(y, os.path.join(args.reference_dir, f"{args.model}.torch.npy"))
        msg += f"; reference output {tuple(y.shape)} std {y.std():.3g}"
    print(f"{msg} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
