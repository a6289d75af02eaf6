// Semantic segmentation: a class per pixel of the input image.
//
// The pipeline is torchvision's for its segmentation models (SemanticSegmentation preset
// transforms + the model's forward): the image (float32 [3, H, W], RGB in [0, 1]) is resized
// bilinearly so its shorter side is `resize_shorter` (520 for torchvision's FCN weights;
// longer side int(resize_shorter * long / short); 0 keeps the image's size) or, with
// `stretch`, to the config's input.size ignoring the aspect ratio (fixed-size imports: the
// default for ONNX / TF.js architectures and for configs whose input says "resize":
// "stretch"), normalised as
// the config's "input" says (channel order, scale, mean, std), padded with zeros at the
// bottom and right to a multiple of `size_divisible` (32 for the Caffe FCN-VGG16 nets),
// run; the network returns logits at its input's size ("out"), which are cropped to the
// resized image, upsampled bilinearly (align_corners=False) to the image's own size and
// reduced per pixel: argmax over classes, or, for a one-channel output, a probability
// (sigmoid of the logit unless the network applies it) above `threshold` -> class 1.
//
// Settings live in the config's "segmenter" object (all optional):
//   {"resize_shorter": 520, "stretch": false, "size_divisible": 1, "threshold": 0.5, "sigmoid": true}
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "model/model.hpp"

namespace osprey::segment {

struct SegmenterSettings {
  int resize_shorter = 520;
  bool stretch = false;  // resize to input.size instead (takes precedence over resize_shorter)
  int size_divisible = 1;
  float threshold = 0.5f;  // one-channel outputs
  bool sigmoid = true;     // one-channel outputs: the network returns logits
};

struct SemanticSegmentation {
  int64_t height = 0, width = 0;  // the input image's size
  std::vector<int32_t> classes;   // height x width class ids, row-major
  Tensor logits;                  // [C, height, width], upsampled to the image (C == 1: the probability)
};

class Segmenter {
 public:
  // `weights` (when not empty) overrides the config's weights file. Throws ModelError for a
  // config that is not task "segment" or has bad "segmenter" keys.
  static std::unique_ptr<Segmenter> load(const std::string& config, const std::string& weights = "");
  // With the command line's overrides (weights, preprocessing, labels). A bare .onnx file
  // is taken as a segmenter with default settings (stretched to its input size).
  static std::unique_ptr<Segmenter> load(const std::string& config, const LoadOptions& options);

  std::vector<SemanticSegmentation> segment(std::span<const Tensor> images);
  SemanticSegmentation segment(const Tensor& image);

  const ModelConfig& config() const { return model_->config(); }
  const SegmenterSettings& settings() const { return settings_; }
  int num_classes() const;

 private:
  Segmenter(std::unique_ptr<Model> model, SegmenterSettings settings) : model_(std::move(model)), settings_(settings) {}
  std::unique_ptr<Model> model_;
  SegmenterSettings settings_;
};

// The "segmenter" object of a config, read strictly; defaults depend on the family (the
// Caffe FCN-VGG16 nets: no resize, size_divisible 32).
SegmenterSettings read_segmenter_settings(const std::string& config_path);

// torchvision's Resize(size) with one int: (short, long) -> (size, int(size * long / short)).
std::array<int64_t, 2> resized_shorter_side(int64_t height, int64_t width, int shorter);

// Softmax over the class axis of [C, H, W] logits.
Tensor class_probabilities(const Tensor& logits);

// Per class, the fraction of the pixels that carry it (sums to 1 over the classes present).
std::vector<double> class_fractions(std::span<const int32_t> classes, int num_classes);

}  // namespace osprey::segment
