// A model config (JSON) describes one model: its architecture (a family builder with
// hyperparameters, or an explicit layer graph), preprocessing, labels, weights and
// postprocessing. Family defaults live in code; a config states only what differs.
// docs/config.md lists every key.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace osprey {

enum class ChannelOrder { RGB, BGR, Gray };
enum class ResizeMode {
  Stretch,          // resize to the input size, ignoring aspect ratio
  ShorterSideCrop,  // resize the shorter side to `resize_shorter`, then centre-crop (torchvision eval)
};

struct InputSpec {
  int height = 224;
  int width = 224;
  ChannelOrder channels = ChannelOrder::RGB;
  ResizeMode resize = ResizeMode::ShorterSideCrop;
  int resize_shorter = 256;
  float scale = 1.0f / 255.0f;  // applied to 8-bit pixels before mean/std
  std::vector<float> mean{0.485f, 0.456f, 0.406f};
  std::vector<float> std{0.229f, 0.224f, 0.225f};

  int channel_count() const { return channels == ChannelOrder::Gray ? 1 : 3; }
};

struct PostprocessSpec {
  bool softmax = true;  // the network ends in logits: turn them into probabilities
  int top_k = 5;
};

}  // namespace osprey
