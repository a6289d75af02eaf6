// TensorFlow.js graph models (model.json + weight shards, the format tensorflowjs_converter
// writes for `--output_format tfjs_graph_model`). A TfjsModel reads the topology and the
// weights once (dequantising float16 and uint8/uint16 min/scale weights to float32);
// build() turns the part of the graph the chosen outputs need into a layer graph, folding
// everything that is constant (shape arithmetic such as SparseToDense -> AddV2 -> Reshape).
//
// Layout: TensorFlow graphs are NHWC; the engine is NCHW. Each value remembers which
// TensorFlow axis every engine axis holds, so convolutions run on NCHW data and the
// Transposes a converted graph carries (onnx-tf's NCHW <-> NHWC pairs) cost nothing; data is
// only moved where an op needs TensorFlow's element order (Reshape, graph outputs).
// The graph input is the preprocessed image batch in NCHW: a TensorFlow input [N, H, W, C]
// (C of 1, 3 or 4) is read as that NCHW tensor; an input [N, C, H, W] is taken as is.
// Graph outputs are in TensorFlow's layout and shape.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/onnx/const_tensor.hpp"

namespace osprey {

struct TfjsNode {
  std::string name, op;
  std::vector<std::string> inputs;  // "node", "node:k" (k-th output), "^node" (control edge)
  std::string attrs;                // the node's "attr" object as JSON text (parsed by the converters)
};

struct TfjsInput {
  std::string name;
  std::vector<int64_t> dims;  // TensorFlow's shape; -1 where open
  bool nhwc = true;           // [N, H, W, C]; else [N, C, H, W]
};

class TfjsModel {
 public:
  explicit TfjsModel(const std::string& model_json);

  const std::string& path() const { return path_; }
  const TfjsInput& input() const { return input_; }
  // The signature's outputs (or the graph's sinks), node names without ":0".
  const std::vector<std::string>& default_outputs() const { return outputs_; }
  const std::vector<TfjsNode>& nodes() const { return nodes_; }
  const std::map<std::string, ConstTensor>& weights() const { return weights_; }

  // A layer graph for an NCHW input of `input_shape` computing `outputs` (node names, or
  // "node:k"; empty: the default outputs). An op outside the supported set is a ModelError
  // naming the op and the node.
  Graph build(const Shape& input_shape, const std::vector<std::string>& outputs = {}) const;

 private:
  std::string path_;
  TfjsInput input_;
  std::vector<std::string> outputs_;
  std::vector<TfjsNode> nodes_;
  std::map<std::string, ConstTensor> weights_;
};

// TensorFlow's SAME padding for one spatial axis: the output is ceil(in / stride) and the
// total padding max((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0) is split with
// the odd pixel at the end (bottom / right). Returns {begin, end}.
std::array<int, 2> tf_same_padding(int64_t in, int kernel, int stride, int dilation = 1);

// The TensorFlow ops the importer maps, sorted.
std::vector<std::string> supported_tfjs_ops();

}  // namespace osprey
