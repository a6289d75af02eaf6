#!/usr/bin/python3
"""Write Fashion-MNIST images as 8-bit grayscale PNGs plus a labels.txt.

  /usr/bin/python3 tools/fashion_mnist_images.py --split test --out DIR [--count N] [--start K]
      -> DIR/<index:05d>.png and DIR/labels.txt ("<filename> <label>" per line)
  /usr/bin/python3 tools/fashion_mnist_images.py --split test --out photos/fashion --count 8 --class-names
      -> DIR/<index:05d>_<classname>.png (the demo images shipped in git)
"""
import argparse
import os
import re
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_mnist import CLASSES, load_split  # noqa: E402


def class_slug(label):
    """'T-shirt/top' -> 't_shirt_top', 'Ankle boot' -> 'ankle_boot'."""
    return re.sub(r"[^a-z0-9]+", "_", CLASSES[label].lower()).strip("_")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["test", "train"], default="test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=None, help="number of images (default: all from --start)")
    ap.add_argument("--start", type=int, default=0, help="first index")
    ap.add_argument("--class-names", action="store_true",
                    help="name files <index:05d>_<classname>.png instead of <index:05d>.png")
    args = ap.parse_args()

    images, labels = load_split(args.split)
    end = len(images) if args.count is None else min(len(images), args.start + args.count)
    if not 0 <= args.start < end:
        raise SystemExit(f"empty range: start {args.start}, {len(images)} images")
    os.makedirs(args.out, exist_ok=True)
    lines = []
    for i in range(args.start, end):
        label = int(labels[i])
        name = f"{i:05d}_{class_slug(label)}.png" if args.class_names else f"{i:05d}.png"
        Image.fromarray(images[i], mode="L").save(os.path.join(args.out, name))
        lines.append(f"{name} {label}\n")
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.writelines(lines)
    print(f"wrote {len(lines)} {args.split} images to {args.out}")


if __name__ == "__main__":
    main()
