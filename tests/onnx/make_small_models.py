#!/usr/bin/python3
"""Small ONNX graphs, one per rule of Osprey's ONNX importer, with ONNX Runtime's
outputs as the reference.

  /usr/bin/python3 tests/onnx/make_small_models.py --out DIR [--force] [--only SUBSTRING]

For each case C (built with onnx.helper, a few nodes, tiny tensors):
  DIR/C/model.onnx               the graph
  DIR/C/input_<name>.npy         seeded random float32 input per graph input
  DIR/C/expected/<output>.npy    ONNX Runtime's output (CPU, graph optimisations off)
  DIR/C/<run>/input_<name>.npy   extra runs of the same model at other shapes
  DIR/C/<run>/expected/...       (the dynamic-batch cases: batch1/)
and DIR/cases.json listing every case: {"name", "group", "opset", "runs": ["", "batch1"...],
"inputs", "outputs", "covers"}. tests/onnx/importer_test.cpp runs one test per group.

A case whose files are all newer than this script and tools/onnx/setup_ort.sh (which
pins the ORT version) is kept; --force remakes everything. All ORT runs happen in one
node process. ONNX Runtime is installed (silently when present) with
tools/onnx/setup_ort.sh into $OSPREY_ORT_DIR (default <repo>/build/ort).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SETUP_ORT = os.path.join(REPO, "tools", "onnx", "setup_ort.sh")
DEPS = [os.path.abspath(__file__), SETUP_ORT]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


# ---------------------------------------------------------------- building blocks

class Case:
    def __init__(self, name, group, opset, covers):
        self.name, self.group, self.opset, self.covers = name, group, opset, covers
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.runs = {}      # run subdir -> {input name: shape}
        self.scale = 1.0    # inputs ~ scale * N(0, 1)
        self._k = 0

    def fresh(self, stem):
        self._k += 1
        return f"{stem}{self._k}"

    def input(self, name, shape):
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def output(self, name, shape=None):
        """A graph output; its shape is inferred unless given (data-dependent shapes)."""
        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def node(self, op, inputs, outputs=None, **attrs):
        if outputs is None:
            outputs = [self.fresh(op.lower() + "_")]
        elif isinstance(outputs, str):
            outputs = [outputs]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.fresh(op + "_"), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def init(self, array, stem="w"):
        """An initializer."""
        name = self.fresh(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def const(self, array, stem="c"):
        """A Constant node (how PaddlePaddle and torch's shape arithmetic carry values)."""
        name = self.fresh(stem)
        self.nodes.append(helper.make_node("Constant", [], [name], name=self.fresh("Constant_"),
                                           value=numpy_helper.from_array(np.asarray(array), name)))
        return name

    def ints(self, values):
        return self.const(np.array(values, dtype=np.int64), "i")

    def floats(self, values):
        return self.const(np.array(values, dtype=np.float32), "f")

    def randn(self, *shape, scale=1.0):
        return (scale * self.rng.standard_normal(shape)).astype(np.float32)

    def model(self):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, initializer=self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name="osprey make_small_models.py")
        m.ir_version = 7  # any ORT of the last years loads it
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)  # fills in the output types, checks
        m.graph.ClearField("value_info")
        onnx.checker.check_model(m)
        return m


CASES = []


def case(name, group, opset, covers):
    def register(fn):
        CASES.append((name, group, opset, covers, fn))
        return fn
    return register


def one_input(c, shape, runs=None):
    """Declares input x; `runs` maps run subdir -> concrete shape (default: the shape)."""
    x = c.input("x", shape)
    c.runs = {k: {"x": s} for k, s in (runs or {"": shape}).items()}
    return x


# ---------------------------------------------------------------- folding

def torch_flatten(c, axes_as_input):
    x = one_input(c, ["N", 3, 4, 5], {"": [3, 3, 4, 5], "batch1": [1, 3, 4, 5]})
    r = c.node("Relu", [x])
    shape = c.node("Shape", [r])
    n = c.node("Gather", [shape, c.const(np.array(0, dtype=np.int64))], axis=0)  # scalar index
    if axes_as_input:
        n1 = c.node("Unsqueeze", [n, c.ints([0])])
    else:
        n1 = c.node("Unsqueeze", [n], axes=[0])
    target = c.node("Concat", [n1, c.ints([-1])], axis=0)
    flat = c.node("Reshape", [r, target], "flat")
    c.output(flat, ["N", 60])
    return flat


@case("flatten_dynamic_batch_op11", "folding", 11,
      "Shape->Gather->Unsqueeze(attr)->Concat->Reshape at batch 3 and 1; MatMul weight")
def _(c):
    flat = torch_flatten(c, False)
    c.node("MatMul", [flat, c.init(c.randn(60, 7))], c.output("y", ["N", 7]))


@case("flatten_dynamic_batch_op13", "folding", 13,
      "Shape->Gather->Unsqueeze(input)->Concat->Reshape at batch 3 and 1; Gemm transB=1 (torch Linear)")
def _(c):
    flat = torch_flatten(c, True)
    c.node("Gemm", [flat, c.init(c.randn(7, 60)), c.init(c.randn(7))], c.output("y", ["N", 7]), transB=1)


@case("paddle_constant_weights_op11", "folding", 11,
      "every weight a Constant node, no initializers: Conv, BatchNormalization, Reshape [0,-1], MatMul, Add")
def _(c):
    x = one_input(c, [2, 3, 6, 6])
    conv = c.node("Conv", [x, c.const(c.randn(4, 3, 3, 3, scale=0.3)), c.const(c.randn(4))],
                  kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    bn = c.node("BatchNormalization", [conv, c.const(c.randn(4)), c.const(c.randn(4)), c.const(c.randn(4)),
                                       c.const(np.abs(c.randn(4)) + 0.5)], epsilon=1e-5)
    r = c.node("Relu", [bn])
    flat = c.node("Reshape", [r, c.ints([0, -1])])
    mm = c.node("MatMul", [flat, c.const(c.randn(144, 5, scale=0.1))])
    c.node("Add", [mm, c.const(c.randn(5))], "y")
    c.output("y")


@case("constant_of_shape_op11", "folding", 11,
      "ConstantOfShape from a folded shape: [1,C,1,1] value 0.25, [1] default 0, full shape value 2")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    shape = c.node("Shape", [x])
    ch = c.node("Gather", [shape, c.ints([1])], axis=0)
    bshape = c.node("Concat", [c.ints([1]), ch, c.ints([1, 1])], axis=0)
    k = c.node("ConstantOfShape", [bshape], value=numpy_helper.from_array(np.array([0.25], np.float32)))
    c.node("Add", [x, k], c.output("y1"))
    zero = c.node("ConstantOfShape", [c.ints([1])])
    c.node("Add", [x, zero], c.output("y2"))
    two = c.node("ConstantOfShape", [shape], value=numpy_helper.from_array(np.array([2.0], np.float32)))
    c.node("Mul", [x, two], c.output("y3"))


@case("range_cast_op11", "folding", 11,
      "Range int64 from a folded dim, Cast to float, Unsqueeze; float Range; Cast of a run-time tensor")
def _(c):
    x = one_input(c, [2, 3, 4, 3])
    dim = c.node("Gather", [c.node("Shape", [x]), c.const(np.array(1, np.int64))], axis=0)
    rng = c.node("Range", [c.const(np.array(0, np.int64)), dim, c.const(np.array(1, np.int64))])
    f = c.node("Cast", [rng], to=TensorProto.FLOAT)
    f4 = c.node("Unsqueeze", [f], axes=[0, 2, 3])
    c.node("Mul", [x, f4], c.output("y1"))
    fr = c.node("Range", [c.const(np.array(0.5, np.float32)), c.const(np.array(2.0, np.float32)),
                          c.const(np.array(0.5, np.float32))])
    c.node("Add", [x, fr], c.output("y2"))
    cx = c.node("Cast", [x], to=TensorProto.FLOAT)
    c.node("Relu", [cx], c.output("y3"))


@case("shape_arith_resize_sizes_op13", "folding", 13,
      "Resize sizes computed from Shape: Slice, Mul, Div (integer), Concat")
def _(c):
    x = one_input(c, [1, 2, 5, 6])
    s = c.node("Shape", [x])
    hw = c.node("Slice", [s, c.ints([2]), c.ints([4])])
    hw = c.node("Div", [c.node("Mul", [hw, c.const(np.array(3, np.int64))]), c.const(np.array(2, np.int64))])
    nc = c.node("Slice", [s, c.ints([0]), c.ints([2])])
    sizes = c.node("Concat", [nc, hw], axis=0)
    c.node("Resize", [x, "", "", sizes], c.output("y"), mode="nearest")


# ---------------------------------------------------------------- squeeze / unsqueeze

@case("squeeze_unsqueeze_op11", "squeeze", 11, "Squeeze/Unsqueeze axes as attributes, negative axes, no axes")
def _(c):
    x = one_input(c, [2, 1, 3, 1, 4])
    s = c.node("Squeeze", [x], axes=[1, -2])
    r = c.node("Relu", [s])
    c.node("Unsqueeze", [r], c.output("y1"), axes=[0, -1])
    c.node("Squeeze", [x], c.output("y2", [2, 3, 4]))


@case("squeeze_unsqueeze_op13", "squeeze", 13, "Squeeze/Unsqueeze axes as inputs, negative axes, no axes")
def _(c):
    x = one_input(c, [2, 1, 3, 1, 4])
    s = c.node("Squeeze", [x, c.ints([1, -2])])
    r = c.node("Relu", [s])
    c.node("Unsqueeze", [r, c.ints([0, -1])], c.output("y1"))
    c.node("Squeeze", [x], c.output("y2"))


# ---------------------------------------------------------------- slice / split

def slices(c, x):
    c.node("Slice", [x, c.ints([-1, -2]), c.ints([-1000, 0]), c.ints([2, 3]), c.ints([-2, -3])], c.output("y1"))
    c.node("Slice", [x, c.ints([1, -6]), c.ints([-1, 100]), c.ints([1, -1])], c.output("y2"))
    c.node("Slice", [x, c.ints([1]), c.ints([INT64_MAX]), c.ints([2])], c.output("y3"))            # x[:, :, 1:]
    c.node("Slice", [x, c.ints([-1]), c.ints([INT64_MIN]), c.ints([3]), c.ints([-1])], c.output("y4"))  # flip


@case("slice_op11", "slice_split", 11, "Slice: negative starts/ends/axes, negative steps, INT64_MAX/MIN ends")
def _(c):
    slices(c, one_input(c, [2, 3, 8, 9]))


@case("slice_op13", "slice_split", 13, "Slice: negative starts/ends/axes, negative steps, INT64_MAX/MIN ends")
def _(c):
    x = one_input(c, [2, 3, 8, 9])
    slices(c, c.node("Relu", [x]))


@case("split_op11", "slice_split", 11, "Split sizes as attribute; equal split on a negative axis")
def _(c):
    x = one_input(c, [2, 6, 4, 4])
    c.node("Split", [x], [c.output("a"), c.output("b"), c.output("c")], axis=1, split=[1, 2, 3])
    c.node("Split", [x], [c.output("d"), c.output("e")], axis=-1)


@case("split_op13", "slice_split", 13, "Split sizes as input; equal split on a negative axis")
def _(c):
    x = one_input(c, [2, 6, 4, 4])
    c.node("Split", [x, c.ints([1, 2, 3])], [c.output("a"), c.output("b"), c.output("c")], axis=1)
    c.node("Split", [x], [c.output("d"), c.output("e")], axis=-1)


# ---------------------------------------------------------------- softmax

def softmaxes(c):
    x = one_input(c, [2, 3, 4, 5])
    c.scale = 2.0
    c.node("Softmax", [x], c.output("y_default"))
    c.node("Softmax", [x], c.output("y_axis1"), axis=1)
    c.node("Softmax", [x], c.output("y_axis2"), axis=2)
    c.node("Softmax", [x], c.output("y_last"), axis=-1)


@case("softmax_op11", "softmax", 11, "Softmax op11: input coerced to 2-D at axis (default axis 1)")
def _(c):
    softmaxes(c)


@case("softmax_op13", "softmax", 13, "Softmax op13: one axis (default -1)")
def _(c):
    softmaxes(c)


# ---------------------------------------------------------------- layout

@case("flatten_op13", "layout", 13, "Flatten at axis 2, 0 and -1")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.node("Flatten", [x], c.output("y_axis2"), axis=2)
    c.node("Flatten", [x], c.output("y_axis0"), axis=0)
    c.node("Flatten", [x], c.output("y_last"), axis=-1)


@case("transpose_op13", "layout", 13, "Transpose: NCHW->NHWC, default (reversed), swap of the first two")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.node("Transpose", [x], c.output("y_nhwc"), perm=[0, 2, 3, 1])
    c.node("Transpose", [x], c.output("y_reversed"))
    r = c.node("Relu", [x])
    c.node("Transpose", [r], c.output("y_swap"), perm=[1, 0, 2, 3])


@case("gather_scalar_op13", "layout", 13, "Gather of a scalar index from a run-time tensor (axis 0, 1, last; index -1)")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.node("Gather", [x, c.const(np.array(1, np.int64))], c.output("y_axis1"), axis=1)
    c.node("Gather", [x, c.const(np.array(-1, np.int64))], c.output("y_last"), axis=3)
    c.node("Gather", [x, c.const(np.array(0, np.int64))], c.output("y_axis0"), axis=0)


# ---------------------------------------------------------------- pad

@case("pad_constant_op11", "pad", 11, "Pad constant mode, pads and value as inputs, asymmetric")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Pad", [x, c.ints([0, 0, 1, 2, 0, 1, 3, 0]), c.floats(1.5)], c.output("y"), mode="constant")


@case("pad_constant_op9", "pad", 9, "Pad constant mode, pads and value as attributes")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Pad", [x], c.output("y"), mode="constant", pads=[0, 0, 2, 1, 0, 0, 0, 3], value=-0.5)


@case("pad_reflect_op13", "pad", 13, "Pad reflect mode")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Pad", [x, c.ints([0, 0, 2, 1, 0, 0, 1, 3])], c.output("y"), mode="reflect")


@case("pad_edge_op13", "pad", 13, "Pad edge mode")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Pad", [x, c.ints([0, 0, 3, 0, 0, 0, 1, 2])], c.output("y"), mode="edge")


# ---------------------------------------------------------------- resize

def empty_floats(c):
    return c.const(np.zeros([0], np.float32), "empty")


@case("resize_nearest_floor_asymmetric_op11", "resize", 11,
      "Resize nearest, asymmetric, floor, scales 2x (PP-OCR's upsampling)")
def _(c):
    x = one_input(c, [1, 2, 3, 4])
    c.node("Resize", [x, empty_floats(c), c.floats([1, 1, 2, 2])], c.output("y"), mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    c.node("Resize", [x, empty_floats(c), c.floats([1, 1, 3, 2.5])], c.output("y_odd"), mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor")


@case("resize_linear_half_pixel_op13", "resize", 13,
      "Resize linear, half_pixel, scales 1.5 x 2 (the scale, not out/in, maps coordinates)")
def _(c):
    x = one_input(c, [1, 2, 5, 4])
    c.node("Resize", [x, "", c.floats([1, 1, 1.5, 2])], c.output("y"), mode="linear",
           coordinate_transformation_mode="half_pixel")


@case("resize_linear_align_corners_op11", "resize", 11, "Resize linear, align_corners, sizes")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Resize", [x, empty_floats(c), empty_floats(c), c.ints([1, 2, 7, 9])], c.output("y"), mode="linear",
           coordinate_transformation_mode="align_corners")


@case("resize_nearest_sizes_op13", "resize", 13,
      "Resize nearest by sizes (up in H, down in W), half_pixel, round_prefer_floor (defaults)")
def _(c):
    x = one_input(c, [1, 2, 4, 5])
    c.node("Resize", [x, "", "", c.ints([1, 2, 7, 3])], c.output("y"), mode="nearest")


@case("resize_linear_down_op13", "resize", 13, "Resize linear downscale by scales 0.5 x 0.6, pytorch_half_pixel")
def _(c):
    x = one_input(c, [1, 2, 8, 10])
    c.node("Resize", [x, "", c.floats([1, 1, 0.5, 0.6])], c.output("y"), mode="linear",
           coordinate_transformation_mode="pytorch_half_pixel")


@case("upsample_op9", "resize", 9, "Upsample (opset 9) nearest 2 x 3 and linear 2 x 2, scales as input")
def _(c):
    x = one_input(c, [1, 2, 3, 4])
    c.node("Upsample", [x, c.floats([1, 1, 2, 3])], c.output("y_nearest"), mode="nearest")
    c.node("Upsample", [x, c.floats([1, 1, 2, 2])], c.output("y_linear"), mode="linear")


# ---------------------------------------------------------------- conv and pooling

@case("conv_transpose_groups_op11", "conv", 11, "ConvTranspose stride 2, pads, output_padding 1, groups 2, bias")
def _(c):
    x = one_input(c, [1, 4, 5, 5])
    c.node("ConvTranspose", [x, c.init(c.randn(4, 3, 3, 3, scale=0.3)), c.init(c.randn(6))], c.output("y"),
           strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], group=2)


@case("conv_transpose_asymmetric_op13", "conv", 13,
      "ConvTranspose kernel 2x3, strides 2x3, asymmetric pads, output_padding 1x2, dilation; output_shape and "
      "SAME_UPPER/SAME_LOWER (pads from the output size, odd totals)")
def _(c):
    x = one_input(c, [2, 3, 4, 3])
    w = c.init(c.randn(3, 2, 2, 3, scale=0.3))
    c.node("ConvTranspose", [x, w], c.output("y"), strides=[2, 3], pads=[0, 1, 1, 0], output_padding=[1, 2])
    c.node("ConvTranspose", [x, w], c.output("y_dilated"), strides=[2, 2], dilations=[2, 1])
    c.node("ConvTranspose", [x, w], c.output("y_shape"), strides=[2, 3], output_shape=[7, 8])  # odd total pads
    c.node("ConvTranspose", [x, w], c.output("y_same_upper"), auto_pad="SAME_UPPER")  # total pads 1 and 2
    c.node("ConvTranspose", [x, w], c.output("y_same_lower"), auto_pad="SAME_LOWER")


@case("conv_auto_pad_op11", "conv", 11, "Conv auto_pad SAME_UPPER (stride 2; even kernel) and SAME_LOWER")
def _(c):
    x = one_input(c, [1, 3, 7, 8])
    c.node("Conv", [x, c.init(c.randn(4, 3, 3, 3, scale=0.3)), c.init(c.randn(4))], c.output("y_s2"),
           auto_pad="SAME_UPPER", strides=[2, 2])
    c.node("Conv", [x, c.init(c.randn(2, 3, 4, 4, scale=0.3))], c.output("y_even"), auto_pad="SAME_UPPER")
    c.node("Conv", [x, c.init(c.randn(2, 3, 4, 4, scale=0.3))], c.output("y_lower"), auto_pad="SAME_LOWER")


@case("pool_ceil_same_op11", "conv", 11,
      "MaxPool ceil_mode (with and without pads), MaxPool SAME_UPPER, AveragePool ceil_mode")
def _(c):
    x = one_input(c, [1, 2, 8, 9])
    c.node("MaxPool", [x], c.output("y_ceil"), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    c.node("MaxPool", [x], c.output("y_ceil_pad"), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    c.node("MaxPool", [x], c.output("y_same"), kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    c.node("AveragePool", [x], c.output("y_avg_ceil"), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)


@case("reduce_mean_op13", "conv", 13, "ReduceMean over axes [2,3] keepdims 1 and 0, and axes [-1,-2]")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.node("ReduceMean", [x], c.output("y_keep"), axes=[2, 3])
    c.node("ReduceMean", [x], c.output("y_drop"), axes=[2, 3], keepdims=0)
    c.node("ReduceMean", [x], c.output("y_negative"), axes=[-1, -2])


# ---------------------------------------------------------------- linear

@case("gemm_op11", "linear", 11, "Gemm transA=0/transB=0 with alpha/beta, transB=1 with scalar C, no C, C of shape [1,N], transA=1")
def _(c):
    a = one_input(c, [3, 5])
    c.node("Gemm", [a, c.init(c.randn(5, 4)), c.init(c.randn(4))], c.output("y_alpha_beta"),
           alpha=0.5, beta=2.0, transA=0, transB=0)
    c.node("Gemm", [a, c.init(c.randn(4, 5)), c.init(c.randn(1))], c.output("y_scalar_c"), transB=1)
    c.node("Gemm", [a, c.init(c.randn(5, 6))], c.output("y_no_c"))
    c.node("Gemm", [a, c.init(c.randn(5, 4)), c.init(c.randn(1, 4))], c.output("y_row_c"), beta=-1.0)
    c.node("Gemm", [a, c.init(c.randn(3, 4)), c.init(c.randn(4))], c.output("y_trans_a"), transA=1, alpha=-1.5)


@case("matmul_3d_op13", "linear", 13, "MatMul of a 3-D input by a constant 2-D weight, then a bias Add")
def _(c):
    x = one_input(c, [2, 3, 5])
    mm = c.node("MatMul", [x, c.init(c.randn(5, 4))], c.output("y"))
    c.node("Add", [mm, c.init(c.randn(4))], c.output("y_bias"))


@case("batchnorm_standalone_op11", "linear", 11, "BatchNormalization on an input and after a Relu (no conv to fold into)")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    params = [c.init(c.randn(3)), c.init(c.randn(3)), c.init(c.randn(3)), c.init(np.abs(c.randn(3)) + 0.5)]
    c.node("BatchNormalization", [x] + params, c.output("y"), epsilon=1e-3)
    c.node("BatchNormalization", [c.node("Relu", [x])] + params, c.output("y_relu"))


# ---------------------------------------------------------------- elementwise

@case("scalar_affine_op13", "elementwise", 13,
      "scalar Add/Mul/Sub/Div with a constant, constant first (Mul, Sub), [1] and [1,1,1,1] constants")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.node("Add", [x, c.floats(2.0)], c.output("y_add"))
    c.node("Mul", [c.floats(3.0), x], c.output("y_mul_first"))
    c.node("Sub", [x, c.floats(1.5)], c.output("y_sub"))
    c.node("Sub", [c.floats(5.0), x], c.output("y_sub_first"))
    c.node("Div", [x, c.floats(4.0)], c.output("y_div"))
    c.node("Add", [x, c.floats([0.75])], c.output("y_add_1d"))
    c.node("Mul", [x, c.const(np.full([1, 1, 1, 1], -2.0, np.float32))], c.output("y_mul_4d"))


@case("affine_chain_after_conv_op11", "fusion", 11,
      "a chain of scalar Mul/Add/Sub(constant first)/Div after a Conv, then Relu: several linear post-ops")
def _(c):
    x = one_input(c, [1, 3, 6, 6])
    y = c.node("Conv", [x, c.init(c.randn(4, 3, 3, 3, scale=0.3))], kernel_shape=[3, 3])
    y = c.node("Mul", [y, c.init(np.array(0.5, np.float32))])
    y = c.node("Add", [y, c.init(np.array(1.0, np.float32))])
    y = c.node("Sub", [c.init(np.array(2.0, np.float32)), y])
    y = c.node("Div", [y, c.init(np.array(3.0, np.float32))])
    c.node("Relu", [y], c.output("y"))


@case("relu6_hardsigmoid_after_conv_op11", "fusion", 11,
      "relu6(x + 3) / 6 after a Conv (hand-written hard sigmoid): linear, clip, linear post-ops")
def _(c):
    x = one_input(c, [1, 3, 6, 6])
    y = c.node("Conv", [x, c.init(c.randn(4, 3, 3, 3))], kernel_shape=[3, 3])
    y = c.node("Add", [y, c.init(np.array(3.0, np.float32))])
    y = c.node("Clip", [y, c.init(np.array(0.0, np.float32)), c.init(np.array(6.0, np.float32))])
    c.node("Div", [y, c.init(np.array(6.0, np.float32))], c.output("y"))


@case("broadcast_add_op11", "elementwise", 11,
      "Add/Mul/Sub/Div with a [C,1,1] constant on either side, and a [W] constant")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    k = c.init(c.randn(3, 1, 1))
    c.node("Add", [x, k], c.output("y_add"))
    c.node("Mul", [x, k], c.output("y_mul"))
    c.node("Add", [k, x], c.output("y_add_first"))
    c.node("Sub", [k, x], c.output("y_sub_first"))
    c.node("Div", [x, c.init(np.abs(c.randn(3, 1, 1)) + 1.0)], c.output("y_div"))
    c.node("Mul", [x, c.init(c.randn(5))], c.output("y_mul_w"))


@case("hard_activations_op14", "elementwise", 14, "HardSigmoid (default and alpha 0.3 beta 0.4), HardSwish")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.scale = 4.0
    c.node("HardSigmoid", [x], c.output("y_hsig"), alpha=0.3, beta=0.4)
    c.node("HardSigmoid", [x], c.output("y_hsig_default"))
    c.node("HardSwish", [x], c.output("y_hswish"))


@case("clip_op11", "elementwise", 11, "Clip op11: min/max inputs, 0..6 (Relu6), only max, only min")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.scale = 4.0
    c.node("Clip", [x, c.floats(-0.5), c.floats(0.7)], c.output("y"))
    c.node("Clip", [x, c.floats(0.0), c.floats(6.0)], c.output("y_relu6"))
    c.node("Clip", [x, "", c.floats(0.3)], c.output("y_max"))
    c.node("Clip", [x, c.floats(-0.2)], c.output("y_min"))


@case("clip_op9", "elementwise", 9, "Clip before opset 11: min/max attributes")
def _(c):
    x = one_input(c, [2, 3, 4, 5])
    c.scale = 4.0
    c.node("Clip", [x], c.output("y"), min=-0.5, max=0.7)


# ---------------------------------------------------------------- ORT

NODE_SCRIPT = r"""
// Written by tests/onnx/make_small_models.py: runs every job in one process.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(path.resolve(process.env.OSPREY_ORT_DIR), 'package.json'));
const ort = require('onnxruntime-node');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${file}: not C-order float32`);
  const shape = header.match(/'shape'\s*:\s*\(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const start = 10 + hlen;
  return { shape, data: new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + 4 * n)) };
}

function writeNpy(file, shape, data) {
  const s = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${s}, }`;
  header = header.padEnd(Math.ceil((11 + header.length) / 64) * 64 - 11, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const job of jobs) {
  const session = await ort.InferenceSession.create(job.model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  for (const run of job.runs) {
    const feeds = {};
    for (const [name, file] of Object.entries(run.inputs)) {
      const a = readNpy(file);
      feeds[name] = new ort.Tensor('float32', a.data, a.shape);
    }
    const results = await session.run(feeds);
    fs.mkdirSync(run.expected, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      if (t.type !== 'float32') throw new Error(`${job.model}: output ${name} is ${t.type}`);
      writeNpy(path.join(run.expected, `${name}.npy`), t.dims, t.data);
    }
  }
  await session.release();
  process.stdout.write(`${job.name} `);
}
process.stdout.write('\n');
"""


def run_paths(case_dir, run, c):
    d = os.path.join(case_dir, run) if run else case_dir
    inputs = {name: os.path.join(d, f"input_{name}.npy") for name in c.runs[run]}
    expected = os.path.join(d, "expected")
    outputs = [os.path.join(expected, f"{o.name}.npy") for o in c.outputs]
    return inputs, expected, outputs


def up_to_date(paths):
    newest = max(os.path.getmtime(p) for p in DEPS)
    return all(os.path.exists(p) and os.path.getmtime(p) > newest for p in paths)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--force", action="store_true", help="remake every case")
    ap.add_argument("--only", default="", help="only cases whose name contains this")
    args = ap.parse_args()
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True)

    ort_dir = os.environ.get("OSPREY_ORT_DIR") or os.path.join(REPO, "build", "ort")
    if subprocess.run(["bash", SETUP_ORT, ort_dir]).returncode != 0:
        raise SystemExit("make_small_models: setup_ort.sh failed")

    names = [n for n, *_ in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("make_small_models: duplicate case names")
    manifest, jobs, kept = [], [], 0
    for name, group, opset, covers, build in CASES:
        c = Case(name, group, opset, covers)
        build(c)
        model = c.model()
        case_dir = os.path.join(args.out, name)
        manifest.append({"name": name, "group": group, "opset": opset, "runs": sorted(c.runs),
                         "inputs": [i.name for i in c.inputs], "outputs": [o.name for o in c.outputs],
                         "covers": covers})
        if args.only not in name:
            continue
        files = [os.path.join(case_dir, "model.onnx")]
        for run in c.runs:
            inputs, _, outputs = run_paths(case_dir, run, c)
            files += list(inputs.values()) + outputs
        if not args.force and up_to_date(files):
            kept += 1
            continue
        os.makedirs(case_dir, exist_ok=True)
        onnx.save(model, files[0])
        job = {"name": name, "model": files[0], "runs": []}
        for run, shapes in sorted(c.runs.items()):
            inputs, expected, outputs = run_paths(case_dir, run, c)
            os.makedirs(os.path.dirname(inputs[next(iter(inputs))]), exist_ok=True)
            for k, (input_name, shape) in enumerate(shapes.items()):
                rng = np.random.default_rng(zlib.crc32(f"{name}/{run}/{k}".encode()))
                np.save(inputs[input_name], (c.scale * rng.standard_normal(shape)).astype(np.float32))
            for p in outputs:  # a failed run must not leave old references looking current
                if os.path.exists(p):
                    os.remove(p)
            job["runs"].append({"inputs": inputs, "expected": expected})
        jobs.append(job)

    if jobs:
        with tempfile.TemporaryDirectory(dir=args.out) as tmp:
            script, jobs_file = os.path.join(tmp, "run_cases.mjs"), os.path.join(tmp, "jobs.json")
            with open(script, "w") as f:
                f.write(NODE_SCRIPT)
            with open(jobs_file, "w") as f:
                json.dump(jobs, f)
            r = subprocess.run(["node", script, jobs_file], env=dict(os.environ, OSPREY_ORT_DIR=ort_dir),
                               stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                raise SystemExit(f"make_small_models: ONNX Runtime failed (ran: {r.stdout.strip()})")
    text = json.dumps(manifest, indent=1) + "\n"
    path = os.path.join(args.out, "cases.json")
    if not os.path.exists(path) or open(path).read() != text:
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    print(f"make_small_models: {len(CASES)} cases in {args.out}: {len(jobs)} made, {kept} up to date "
          f"({time.time() - t0:.1f}s)")


if __name__ == "__main__":
    sys.exit(main())
