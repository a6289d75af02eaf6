"""What the parity tests' reference scripts share: their inputs (darknet's sample photos as
the C++ side receives them), the index they write (cases of float32 .npy arrays, written
atomically) and the check that skips a run whose outputs are current.

Used with Debian's /usr/bin/python3 (torch, torchvision, numpy) by tests/*/make_*_references.py;
a script that imports it lists this file among its DEPENDENCIES.
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
import torchvision

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)


def photo_paths(names):
    """darknet's sample photos, fetched by tools/fetch_assets.sh when missing."""
    assets = os.environ.get("OSPREY_ASSETS", os.path.join(ROOT, "assets"))
    paths = [os.path.join(assets, "photos", "darknet", n) for n in names]
    if not all(os.path.exists(p) for p in paths):
        subprocess.run(["bash", os.path.join(TOOLS, "fetch_assets.sh"), assets], check=True)
    return paths


def read_photo(path):
    """RGB float32 [3, H, W] in [0, 1], as the C++ side receives it (no decoding there)."""
    return torchvision.io.read_image(path, torchvision.io.ImageReadMode.RGB).float() / 255.0


def index_up_to_date(index, version, dependencies):
    """True when `index` (an index.json) carries `version` and is newer than every dependency."""
    newest = max(os.path.getmtime(p) for p in dependencies)
    if not os.path.exists(index) or os.path.getmtime(index) <= newest:
        return False
    with open(index) as f:
        return json.load(f).get("version") == version


class Writer:
    """DIR/<case>.<array>.npy (float32) and DIR/index.json:
    {"version": V, "torch": ..., "torchvision": ..., "cases": {"<case>": {"op": ..., <parameters>,
    "arrays": {"<name>": "<file>"}}}}, the index written last and atomically."""

    def __init__(self, out_dir, version):
        self.out_dir = out_dir
        self.version = version
        self.cases = {}

    def case(self, name, op, arrays, **params):
        files = {}
        for key, value in arrays.items():
            fname = f"{name}.{key}.npy"
            np.save(os.path.join(self.out_dir, fname), np.ascontiguousarray(np.asarray(value, dtype=np.float32)))
            files[key] = fname
        self.cases[name] = dict(op=op, arrays=files, **params)

    def finish(self):
        fd, tmp = tempfile.mkstemp(dir=self.out_dir, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"version": self.version, "torch": torch.__version__, "torchvision": torchvision.__version__,
                       "cases": self.cases}, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(self.out_dir, "index.json"))
