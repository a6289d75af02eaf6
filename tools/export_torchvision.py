#!/usr/bin/python3
"""Export a classifier (torchvision builder or Osprey reference model) to safetensors.

Every state_dict tensor is written as F32 under its state_dict key, except
BatchNorm's `num_batches_tracked` counters (not needed for inference).

Examples:
  /usr/bin/python3 tools/export_torchvision.py --model resnet50 --seed 1 -o r50.safetensors
  /usr/bin/python3 tools/export_torchvision.py --model vgg16_bn --checkpoint vgg16_bn.pth -o vgg16_bn.safetensors
  /usr/bin/python3 tools/export_torchvision.py --model inception_v4 --seed 3 --randomize-bn -o iv4.safetensors
  /usr/bin/python3 tools/export_torchvision.py --model maskrcnn_resnet50_fpn \
      --checkpoint maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth -o weights/maskrcnn_resnet50_fpn.safetensors
  /usr/bin/python3 tools/export_torchvision.py --model fcn_resnet50 --checkpoint fcn_resnet50_coco-1167a1af.pth -o fcn_resnet50.safetensors
  /usr/bin/python3 tools/export_torchvision.py --model fcn8s_vgg16 --checkpoint fcn8s_from_caffe.pth -o fcn8s_vgg16.safetensors

Segmentation models (torchvision's fcn_resnet50 / fcn_resnet101) are built with their
auxiliary head (aux_loss=True) so torchvision's checkpoints load strictly; Osprey ignores
aux_classifier.* unless the config sets "aux": true. FCN-32s / 16s / 8s checkpoints
(e.g. pytorch-fcn's, named after the Caffe layers) store their ConvTranspose2d weights
[in, out, kh, kw]; they are transposed to Osprey's [out, in, kh, kw] on load.
"""
import argparse
import os
import sys

import torch
from torch import nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402
from safetensors_io import save_file  # noqa: E402

# Prefixes of auxiliary training heads; never exported, dropped from user checkpoints.
AUX_PREFIXES = {
    "googlenet": ("aux1.", "aux2."),
    "inception_v3": ("AuxLogits.",),
}


def ssd512_vgg16(num_classes=91):
    """SSD512 (Liu et al. 2016) as Osprey's ssd512_vgg16 family: torchvision has no builder, so
    its SSD class on _vgg_extractor(vgg16, highres=True) with the paper's SSD512 default boxes
    (scales 0.07 .. 1.05 of 512; no steps, since torchvision's highres maps are 64, 32, 16, 8,
    6, 4, 1 and not the halvings the Caffe steps assume) and ssd300_vgg16's normalisation."""
    from torchvision.models.detection import ssd as tv_ssd
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    backbone = tv_ssd._vgg_extractor(torchvision.models.vgg16(weights=None), True, 5)
    boxes = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]],
                                scales=[0.07, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05], steps=None)
    return tv_ssd.SSD(backbone, boxes, (512, 512), num_classes,
                      image_mean=[0.48235, 0.45882, 0.40784], image_std=[1.0 / 255.0] * 3)


def default_num_classes(name):
    if name == "ssd512_vgg16":
        return 91
    if name in reference_models.REFERENCE_MODELS:
        return reference_models.REFERENCE_MODELS[name][1]
    if name in torchvision.models.list_models(module=torchvision.models.detection):
        return 91  # COCO category ids, background included
    if name in torchvision.models.list_models(module=torchvision.models.segmentation):
        return 21  # PASCAL VOC's classes, background included
    return 1000


def input_shape(name):
    """(C, H, W) the model expects; used by the parity scripts and metadata."""
    if name in reference_models.REFERENCE_MODELS:
        return reference_models.REFERENCE_MODELS[name][2]
    if name == "inception_v3":
        return (3, 299, 299)
    if name in torchvision.models.list_models(module=torchvision.models.segmentation):
        return (3, 520, 520)
    return (3, 224, 224)


def model_source(name):
    return "osprey reference" if name in reference_models.REFERENCE_MODELS else "torchvision"


def randomize_batchnorm(model, seed):
    """Give every BatchNorm non-trivial affine params and running stats so that
    BN folding in the C++ side is actually exercised (defaults are identity)."""
    g = torch.Generator().manual_seed(seed + 7919)  # own stream: independent of init order
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                def u(lo, hi, t):
                    return torch.rand(t.shape, generator=g) * (hi - lo) + lo
                m.weight.copy_(u(0.5, 1.5, m.weight))
                m.bias.copy_(u(-0.2, 0.2, m.bias))
                m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
                m.running_var.copy_(u(0.5, 2.0, m.running_var))


@torch.no_grad()
def calibrate_weights(model, x, target_std=1.0, lrn_input_std=100.0):
    """Rescale every Conv/Linear (weight and bias) so its output on `x` has
    standard deviation `target_std` (LSUV-style), in one forward pass.

    Why: with default random init and eval-mode BatchNorm (fixed running stats),
    deep nets' activations vanish or explode. For googlenet and inception_v4 the
    logits end up independent of the input (only BN biases survive), which
    makes a parity test blind to the whole input pathway. Scaling both weight
    and bias by f scales that layer's output by exactly f, so the hook can fix
    the weights and the activation it passes on in the same pass.

    Convs that feed a LocalResponseNorm (through a ReLU) get `lrn_input_std`
    instead: at std 1, alpha/n * sum(x^2) << k and LRN degenerates into a
    constant division by k^beta, so a wrong alpha/size would go unnoticed.
    """
    targets = {}
    for seq in model.modules():
        if isinstance(seq, nn.Sequential):
            layers = list(seq)
            for i, layer in enumerate(layers):
                if isinstance(layer, nn.LocalResponseNorm):
                    j = i - 1
                    while j >= 0 and isinstance(layers[j], nn.ReLU):
                        j -= 1
                    if j >= 0 and isinstance(layers[j], nn.Conv2d):
                        targets[layers[j]] = lrn_input_std

    def hook(module, inputs, output):
        f = targets.get(module, target_std) / max(output.float().std().item(), 1e-12)
        module.weight.mul_(f)
        if module.bias is not None:
            module.bias.mul_(f)
        return output * f

    was_training = model.training
    model.eval()
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    model.train(was_training)


def build_model(name, num_classes=None, seed=0, randomize_bn=False, transform_input=False):
    """Build `name` with seeded random weights, in eval mode.

    transform_input only matters for googlenet/inception_v3: torchvision's
    pretrained weights expect it (it re-normalises ImageNet-normalised input to
    (x - 0.5) / 0.5); random-weight and parity models use False.
    """
    if num_classes is None:
        num_classes = default_num_classes(name)
    torch.manual_seed(seed)
    if name in reference_models.REFERENCE_MODELS:
        cls = reference_models.REFERENCE_MODELS[name][0]
        model = cls(num_classes=num_classes)
    elif name == "ssd512_vgg16":
        model = ssd512_vgg16(num_classes)
    elif name in torchvision.models.list_models(module=torchvision.models.detection):
        # Detection models (fasterrcnn_resnet50_fpn, _v2, fasterrcnn_mobilenet_v3_large_fpn,
        # maskrcnn_resnet50_fpn, _v2 ...): the state_dict keys are what Osprey's detector families
        # bind (MaskRCNNHeads renames the old checkpoints' mask_fcn<i> keys when they load).
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, num_classes=num_classes)
    elif name in torchvision.models.list_models(module=torchvision.models.segmentation):
        # fcn_resnet50 / fcn_resnet101 with the aux head torchvision's checkpoints carry.
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, num_classes=num_classes,
                                             aux_loss=True)
    else:
        if name not in torchvision.models.list_models(module=torchvision.models):
            raise SystemExit(f"unknown model '{name}'")
        kwargs = {"weights": None, "num_classes": num_classes}
        if name in ("googlenet", "inception_v3"):
            # No aux heads (inference only); init_weights=True silences the
            # scipy warning and makes the init explicit.
            kwargs.update(aux_logits=False, init_weights=True, transform_input=transform_input)
        model = torchvision.models.get_model(name, **kwargs)
    if randomize_bn:
        randomize_batchnorm(model, seed)
    return model.eval()


def _unwrap_checkpoint(obj):
    """Accept a state_dict, a whole pickled model, or a {'state_dict': ...} wrapper."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, nn.Module)):
                return _unwrap_checkpoint(obj[key])
        sd = obj
        # Strip the DataParallel prefix if every key carries it.
        if sd and all(k.startswith("module.") for k in sd):
            sd = {k[len("module."):]: v for k, v in sd.items()}
        return sd
    raise SystemExit(f"checkpoint holds a {type(obj).__name__}, expected a state_dict or model")


def load_checkpoint(model, name, path):
    """Strict load, except: aux-head keys are dropped (with a note) and missing
    num_batches_tracked counters are tolerated (old checkpoints lack them)."""
    obj = torch.load(path, map_location="cpu")
    sd = _unwrap_checkpoint(obj)
    aux = AUX_PREFIXES.get(name, ())
    dropped = [k for k in sd if k.startswith(aux)] if aux else []
    if dropped:
        print(f"note: dropping {len(dropped)} auxiliary-head tensors from checkpoint "
              f"({', '.join(sorted({k.split('.')[0] for k in dropped}))})")
        sd = {k: v for k, v in sd.items() if k not in dropped}
    if name in ("fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16"):
        # torch's ConvTranspose2d layout [in, out, kh, kw] -> the reference's [out, in, kh, kw]
        sd = {k: (v.transpose(0, 1).contiguous() if k.startswith("upscore") else v) for k, v in sd.items()}
    result = model.load_state_dict(sd, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(f"checkpoint does not match {name}:\n  missing: {missing}\n"
                         f"  unexpected: {result.unexpected_keys}")


def export_tensors(model):
    """state_dict minus num_batches_tracked, as float32 tensors."""
    return {k: v.detach().to(torch.float32).contiguous()
            for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def export(model, name, out, extra_metadata=None):
    meta = {"model": name, "source": model_source(name)}
    meta.update(extra_metadata or {})
    tensors = export_tensors(model)
    save_file(tensors, out, metadata=meta)
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True,
                    help="torchvision builder name (resnet50, vgg16_bn, googlenet, ...) or "
                         "lenet5 / alexnet_lrn / zfnet / inception_v4; detectors: fasterrcnn_*, "
                         "ssd300_vgg16, ssd512_vgg16, ssdlite320_mobilenet_v3_large")
    ap.add_argument("--checkpoint", help="torch.save'd state_dict or whole model")
    ap.add_argument("--seed", type=int, default=0, help="seed for random weights (default 0)")
    ap.add_argument("--randomize-bn", action="store_true",
                    help="random BatchNorm affine params and running stats")
    ap.add_argument("--calibrate", action="store_true",
                    help="rescale conv/linear weights on a seeded random input so activations stay "
                         "O(1) and the logits depend on the input (what the parity references use)")
    ap.add_argument("--num-classes", type=int, default=None)
    ap.add_argument("--transform-input", action="store_true",
                    help="googlenet/inception_v3 only: record that the weights expect torchvision's "
                         "transform_input (true for torchvision's pretrained weights)")
    ap.add_argument("-o", "--output", required=True, help="OUT.safetensors")
    args = ap.parse_args()

    if args.calibrate and args.checkpoint:
        ap.error("--calibrate rescales weights; it makes no sense with --checkpoint")
    torch.set_num_threads(2)
    model = build_model(args.model, args.num_classes, args.seed, args.randomize_bn,
                        transform_input=args.transform_input)
    meta = {}
    if args.checkpoint:
        load_checkpoint(model, args.model, args.checkpoint)
        meta["checkpoint"] = os.path.basename(args.checkpoint)
    else:
        meta["seed"] = str(args.seed)
    if args.calibrate:
        g = torch.Generator().manual_seed(args.seed + 2)
        calibrate_weights(model, torch.randn((2,) + tuple(input_shape(args.model)), generator=g))
        meta["calibrated"] = "true"
    if args.randomize_bn:
        meta["randomize_bn"] = "true"
    if args.model in ("googlenet", "inception_v3"):
        meta["transform_input"] = "true" if args.transform_input else "false"
    tensors = export(model, args.model, args.output, meta)
    n = sum(t.numel() for t in tensors.values())
    print(f"{args.model}: {len(tensors)} tensors, {n:,} values -> {args.output} "
          f"({os.path.getsize(args.output) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
