// A Darknet network (.cfg) as an Osprey layer graph, layer for layer as pjreddie/darknet's
// src/parser.c and the layer files build and run it at inference:
//   [convolutional] conv (no bias when batch_normalize=1) -> BatchNorm -> activation;
//   [maxpool] maxpool_layer.c: padding (default size - 1) split as padding/2 top-left and
//             the rest bottom-right, padded cells ignored (so yolov3-tiny's size=2 stride=1
//             pool keeps the size);
//   [route] concat of earlier layers (negative indices relative; groups / group_id take a channel
//   slice of each), [shortcut] add + activation,
//   [upsample] nearest, [reorg] reorg_cpu's index shuffle (reshape + transpose),
//   [connected] flatten + inner product, [dropout] identity, [avgpool], [softmax], [cost];
//   [region], [yolo], [detection]: the heads, whose raw inputs become graph outputs (decoded
//   by lib/detect/yolo_*).
// Weight keys are "<layer index>.<Darknet field>" ("12.biases", "12.scales", "12.rolling_mean",
// "12.rolling_variance", "12.weights"); bind_darknet_weights reads a .weights file into them.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/config.hpp"

namespace osprey::darknet {

// One detection output of the network: what lib/detect needs to decode it.
struct Head {
  enum class Kind { Region, Yolo, Detection } kind = Kind::Yolo;
  std::string where;  // "<cfg>:<line>: [yolo]" for messages
  int layer = 0;      // Darknet layer index
  int classes = 0;
  int num = 0;        // boxes per cell (yolo: the masked anchors)
  int coords = 4;
  // Anchor (w, h) pairs for this head's boxes: [yolo] in network pixels (masked),
  // [region] in grid cells.
  std::vector<float> anchors;
  bool softmax = false;  // [region] softmax over classes; [detection] softmax per cell
  bool background = false;  // [region]
  bool sqrt = false;     // [detection]: w, h are predicted as square roots
  int side = 0;          // [detection]: the grid
  int height = 0, width = 0;  // the head input's grid (region / yolo)
};

struct Network {
  Graph graph;                // tensors declared, not bound
  InputSpec input;            // [net] width, height, channels; RGB in [0, 1] stretched
  std::vector<Head> heads;    // in graph output order (empty for classifiers: the last layer is the output)
  int num_classes = 0;        // the heads' classes (all heads agree), else the last layer's size
};

// The [net] section's input: size (height, width), channels, Darknet's scale 1/255 with no
// mean or std, stretch resize.
InputSpec read_input_spec(const std::string& cfg_path);

// Builds the graph for a network input of height x width (0: the [net] section's). Every
// unsupported layer type or option is a ModelError naming the file, the line and the layer.
Network build_network(const std::string& cfg_path, int height = 0, int width = 0);

}  // namespace osprey::darknet
