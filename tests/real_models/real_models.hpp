// Shared by the real-model tests: the fixture's index (make_real_model_references.py) and
// the comparisons they state tolerances for.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.hpp"
#include "io/image.hpp"
#include "model/npy.hpp"

namespace osprey::real_models {

inline std::string config_path(const std::string& name) { return std::string(OSPREY_SOURCE_DIR) + "/configs/" + name; }
inline std::string asset_path(const std::string& rel) { return std::string(OSPREY_SOURCE_DIR) + "/assets/" + rel; }

// The fixture's entry for a case: {"input": npy, "expected": [npy ...], "version"}.
inline nlohmann::json reference_case(const std::string& name) {
  std::ifstream in(std::string(OSPREY_REAL_MODEL_REFS) + "/index.json");
  REQUIRE_MESSAGE(in, "no index.json in " OSPREY_REAL_MODEL_REFS " (the real_model_references fixture writes it)");
  const nlohmann::json index = nlohmann::json::parse(in);
  REQUIRE_MESSAGE(index.contains(name), "the fixture has no case ", name);
  return index[name];
}

// A photo as the tools give it to detectors and segmenters: float32 [3, H, W], RGB in [0, 1].
inline Tensor rgb_image(const std::string& path) {
  const cv::Mat bgr = load_image(path, ChannelOrder::BGR);
  Tensor t(Shape{3, bgr.rows, bgr.cols});
  const size_t plane = static_cast<size_t>(bgr.rows) * static_cast<size_t>(bgr.cols);
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const auto& p = bgr.at<cv::Vec3b>(y, x);
      const size_t i = static_cast<size_t>(y) * static_cast<size_t>(bgr.cols) + static_cast<size_t>(x);
      for (size_t c = 0; c < 3; ++c) t.data[c * plane + i] = static_cast<float>(p[static_cast<int>(2 - c)]) / 255.0f;
    }
  return t;
}

struct Difference {
  double max_abs = 0, mean_abs = 0;
};

inline Difference difference(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape == want.shape);
  Difference d;
  for (size_t i = 0; i < got.data.size(); ++i) {
    const double e = std::abs(static_cast<double>(got.data[i]) - static_cast<double>(want.data[i]));
    d.max_abs = std::max(d.max_abs, e);
    d.mean_abs += e;
  }
  d.mean_abs /= static_cast<double>(std::max<size_t>(got.data.size(), 1));
  return d;
}

// IoU of the masks {got > threshold} and {want > threshold}; 1 when both are empty.
inline double mask_iou(const Tensor& got, const Tensor& want, float threshold) {
  REQUIRE(got.data.size() == want.data.size());
  int64_t both = 0, either = 0;
  for (size_t i = 0; i < got.data.size(); ++i) {
    const bool a = got.data[i] > threshold, b = want.data[i] > threshold;
    both += a && b;
    either += a || b;
  }
  return either ? static_cast<double>(both) / static_cast<double>(either) : 1.0;
}

inline double fraction_above(const Tensor& t, float threshold) {
  int64_t n = 0;
  for (float v : t.data) n += v > threshold;
  return static_cast<double>(n) / static_cast<double>(std::max<size_t>(t.data.size(), 1));
}

}  // namespace osprey::real_models
