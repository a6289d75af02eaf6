// Semantic segmentation pipeline (see segmenter.hpp): torchvision's SemanticSegmentation
// transform, the network, F.interpolate back to the image, argmax.
#include "segment/segmenter.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "detect/transform.hpp"
#include "model/json_reader.hpp"

namespace osprey::segment {

std::array<int64_t, 2> resized_shorter_side(int64_t height, int64_t width, int shorter) {
  const bool portrait = height > width;
  const int64_t s = portrait ? width : height, l = portrait ? height : width;
  const auto long_side = static_cast<int64_t>(static_cast<double>(shorter) * static_cast<double>(l) / static_cast<double>(s));
  return portrait ? std::array<int64_t, 2>{long_side, shorter} : std::array<int64_t, 2>{shorter, long_side};
}

namespace {

bool is_onnx_file(const std::string& path) { return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0; }

}  // namespace

SegmenterSettings read_segmenter_settings(const std::string& config_path) {
  SegmenterSettings s;
  if (is_onnx_file(config_path)) {
    s.resize_shorter = 0;
    s.stretch = true;
    return s;
  }
  const nlohmann::json doc = read_json_file(config_path);
  if (doc.contains("architecture") && doc["architecture"].is_object()) {
    const auto& arch = doc["architecture"];
    const std::string family = arch.contains("family") && arch["family"].is_string() ? arch["family"].get<std::string>() : "";
    if (family.size() > 6 && family.compare(family.size() - 6, 6, "_vgg16") == 0 && family.rfind("fcn", 0) == 0)
      s.resize_shorter = 0, s.size_divisible = 32;
    if (!arch.contains("family")) s.resize_shorter = 0;
    // Imported files (ONNX, TF.js) fix their input size.
    if (!arch.contains("family") && !arch.contains("graph")) s.stretch = true;
  }
  if (doc.contains("input") && doc["input"].is_object() && doc["input"].contains("resize") && doc["input"]["resize"] == "stretch")
    s.stretch = true;
  if (!doc.contains("segmenter")) return s;
  ObjectReader top(doc, config_path);
  ObjectReader r = top.object("segmenter");
  s.resize_shorter = r.integer("resize_shorter", s.resize_shorter);
  s.stretch = r.boolean("stretch", s.stretch);
  s.size_divisible = r.integer("size_divisible", s.size_divisible);
  s.threshold = static_cast<float>(r.number("threshold", s.threshold));
  s.sigmoid = r.boolean("sigmoid", s.sigmoid);
  r.finish();
  if (s.resize_shorter < 0) r.fail("resize_shorter", cat("expected 0 (no resize) or a positive size, got ", s.resize_shorter));
  if (s.size_divisible < 1) r.fail("size_divisible", cat("expected a positive integer, got ", s.size_divisible));
  return s;
}

std::unique_ptr<Segmenter> Segmenter::load(const std::string& config, const std::string& weights) {
  LoadOptions options;
  options.weights = weights;
  return load(config, options);
}

std::unique_ptr<Segmenter> Segmenter::load(const std::string& config, const LoadOptions& options) {
  const SegmenterSettings settings = read_segmenter_settings(config);
  std::unique_ptr<Model> model = Model::load(config, options);
  if (model->config().task != "segment" && !is_onnx_file(config))
    throw ModelError(cat(config, ": task is '", model->config().task, "', a semantic segmenter needs task \"segment\""));
  return std::unique_ptr<Segmenter>(new Segmenter(std::move(model), settings));
}

int Segmenter::num_classes() const {
  const ModelConfig& c = model_->config();
  return c.num_classes ? c.num_classes : static_cast<int>(c.labels.size());
}

namespace {

// [3, H, W] RGB in [0, 1] -> [1, C, H_pad, W_pad] as the config's input spec says, zeros
// (after normalisation) in the padding.
Tensor network_input(const Tensor& image, const InputSpec& spec, int divisible) {
  const int64_t h = image.shape[1], w = image.shape[2];
  const int64_t hp = (h + divisible - 1) / divisible * divisible, wp = (w + divisible - 1) / divisible * divisible;
  const int channels = spec.channel_count();
  Tensor x(Shape{1, channels, hp, wp});
  const size_t plane = static_cast<size_t>(h * w);
  for (int c = 0; c < channels; ++c) {
    const float* src = nullptr;
    std::vector<float> gray;
    if (spec.channels == ChannelOrder::Gray) {
      // ITU-R 601 luma, as OpenCV's BGR2GRAY.
      gray.resize(plane);
      for (size_t i = 0; i < plane; ++i)
        gray[i] = 0.299f * image.data[i] + 0.587f * image.data[plane + i] + 0.114f * image.data[2 * plane + i];
      src = gray.data();
    } else {
      src = image.data.data() + plane * static_cast<size_t>(spec.channels == ChannelOrder::BGR ? 2 - c : c);
    }
    // Pixels arrive as 8-bit / 255: scale a config's 0..255 spec accordingly.
    const float scale = spec.scale * 255.0f, mean = spec.mean[c], inv_std = 1.0f / spec.std[c];
    const bool unit = std::fabs(spec.scale - 1.0f / 255.0f) < 1e-9f;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx) {
        const float v = src[y * w + xx];
        // torchvision's Normalize on a [0, 1] image computes (v - mean) / std exactly so.
        x.data[(static_cast<size_t>(c) * hp + y) * wp + xx] = unit ? (v - mean) / spec.std[c] : (v * scale - mean) * inv_std;
      }
  }
  return x;
}

}  // namespace

SemanticSegmentation Segmenter::segment(const Tensor& image) {
  if (image.shape.size() != 3 || image.shape[0] != 3)
    throw std::invalid_argument(cat("Segmenter::segment: expected an image [3, H, W], got ", to_string(image.shape)));
  const int64_t h = image.shape[1], w = image.shape[2];
  Tensor resized;
  const Tensor* input = &image;
  if (settings_.stretch) {
    const InputSpec& spec = model_->config().input;
    if (spec.height != h || spec.width != w) {
      resized = detect::resize_bilinear(image, spec.height, spec.width);
      input = &resized;
    }
  } else if (settings_.resize_shorter > 0) {
    const auto size = resized_shorter_side(h, w, settings_.resize_shorter);
    if (size[0] != h || size[1] != w) {
      resized = detect::resize_bilinear(image, size[0], size[1]);
      input = &resized;
    }
  }
  const int64_t rh = input->shape[1], rw = input->shape[2];
  const Tensor batch = network_input(*input, model_->config().input, settings_.size_divisible);
  std::vector<Tensor> outputs = model_->run(batch);
  Tensor& out = outputs.at(0);
  // TF.js / TFLite-style graphs answer channels-last [1, H, W, C]: make it [1, C, H, W].
  const int64_t bh = batch.shape[2], bw = batch.shape[3];
  if (out.shape.size() == 4 && out.shape[1] == bh && out.shape[2] == bw && out.shape[3] != bw) {
    const int64_t c = out.shape[3], plane = bh * bw;
    Tensor nchw(Shape{1, c, bh, bw});
    for (int64_t p = 0; p < plane; ++p)
      for (int64_t k = 0; k < c; ++k) nchw.data[static_cast<size_t>(k * plane + p)] = out.data[static_cast<size_t>(p * c + k)];
    out = std::move(nchw);
  }
  if (out.shape.size() != 4 || out.shape[0] != 1 || out.shape[2] < rh || out.shape[3] < rw)
    throw ModelError(cat(model_->config().path, ": the network returned ", to_string(out.shape), " for an input of ",
                         to_string(batch.shape), "; a segmenter needs logits [1, C, H, W] at the input's size"));
  const int64_t classes = out.shape[1], oh = out.shape[2], ow = out.shape[3];
  // Crop the padding away.
  Tensor logits(Shape{classes, rh, rw});
  for (int64_t c = 0; c < classes; ++c)
    for (int64_t y = 0; y < rh; ++y)
      std::copy_n(out.data.begin() + ((c * oh + y) * ow), rw, logits.data.begin() + (c * rh + y) * rw);
  if (rh != h || rw != w) logits = detect::resize_bilinear(logits, h, w);

  SemanticSegmentation result{h, w, std::vector<int32_t>(static_cast<size_t>(h * w), 0), {}};
  const size_t plane = static_cast<size_t>(h * w);
  if (classes == 1) {
    for (size_t i = 0; i < plane; ++i) {
      float& p = logits.data[i];
      if (settings_.sigmoid) p = 1.0f / (1.0f + std::exp(-p));
      result.classes[i] = p > settings_.threshold ? 1 : 0;
    }
  } else {
    for (size_t i = 0; i < plane; ++i) {
      int32_t best = 0;
      float best_v = logits.data[i];
      for (int64_t c = 1; c < classes; ++c) {
        const float v = logits.data[static_cast<size_t>(c) * plane + i];
        if (v > best_v) best_v = v, best = static_cast<int32_t>(c);  // ties: the lower class, as torch.argmax
      }
      result.classes[i] = best;
    }
  }
  result.logits = std::move(logits);
  return result;
}

std::vector<SemanticSegmentation> Segmenter::segment(std::span<const Tensor> images) {
  std::vector<SemanticSegmentation> out;
  out.reserve(images.size());
  for (const Tensor& image : images) out.push_back(segment(image));  // sizes differ: one pass each
  return out;
}

Tensor class_probabilities(const Tensor& logits) {
  Tensor p(logits.shape);
  const int64_t classes = logits.shape.at(0);
  const size_t plane = static_cast<size_t>(logits.size() / std::max<int64_t>(classes, 1));
  for (size_t i = 0; i < plane; ++i) {
    float m = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) m = std::max(m, logits.data[c * plane + i]);
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += (p.data[c * plane + i] = std::exp(logits.data[c * plane + i] - m));
    for (int64_t c = 0; c < classes; ++c) p.data[c * plane + i] = static_cast<float>(p.data[c * plane + i] / sum);
  }
  return p;
}

std::vector<double> class_fractions(std::span<const int32_t> classes, int num_classes) {
  std::vector<double> counts(static_cast<size_t>(std::max(num_classes, 0)), 0.0);
  for (int32_t c : classes) {
    if (c < 0) continue;
    if (static_cast<size_t>(c) >= counts.size()) counts.resize(static_cast<size_t>(c) + 1, 0.0);
    counts[static_cast<size_t>(c)] += 1;
  }
  for (double& v : counts) v /= classes.empty() ? 1.0 : static_cast<double>(classes.size());
  return counts;
}

}  // namespace osprey::segment
