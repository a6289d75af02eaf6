// Access to the torchvision references written by make_detect_references.py
// (OSPREY_DETECT_REFS/index.json and its .npy arrays) and the comparisons the detect tests share.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detect/boxes.hpp"
#include "model/npy.hpp"

namespace osprey::detect::test {

struct Case {
  std::string name;
  nlohmann::json params;

  Tensor array(const std::string& key) const {
    return read_npy(std::string(OSPREY_DETECT_REFS) + "/" + params.at("arrays").at(key).get<std::string>());
  }
  bool has(const std::string& key) const { return params.at("arrays").contains(key); }
  std::vector<Box> boxes(const std::string& key) const {
    Tensor t = array(key);
    if (t.shape.size() == 3) t.shape = {t.shape[0] * t.shape[1], t.shape[2]};  // [N, K, 4]
    return boxes_from_tensor(t);
  }
  std::vector<float> floats(const std::string& key) const { return array(key).data; }
  std::vector<int64_t> indices(const std::string& key) const {
    const Tensor t = array(key);
    std::vector<int64_t> out(t.data.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(t.data[i]);
    return out;
  }
};

// Every case of one op in the index, in name order.
inline std::vector<Case> cases_of(const std::string& op) {
  std::ifstream in(std::string(OSPREY_DETECT_REFS) + "/index.json");
  REQUIRE_MESSAGE(in, "no ", OSPREY_DETECT_REFS, "/index.json: run tests/detect/make_detect_references.py");
  const auto index = nlohmann::json::parse(in);
  std::vector<Case> out;
  for (const auto& [name, params] : index.at("cases").items())
    if (params.at("op") == op) out.push_back({name, params});
  REQUIRE_MESSAGE(!out.empty(), "no reference cases for ", op);
  return out;
}

// Largest |got - want| / max(|want|, 1); NaN must match NaN. Returns -1 on a size mismatch.
inline double max_relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return -1.0;
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]) || std::isnan(got[i])) {
      if (std::isnan(want[i]) != std::isnan(got[i])) return INFINITY;
      continue;
    }
    const double err = std::abs(double(got[i]) - double(want[i])) / std::max(1.0, std::abs(double(want[i])));
    worst = std::max(worst, err);
  }
  return worst;
}

inline double max_abs_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return -1.0;
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  return worst;
}

inline std::vector<float> flatten(const std::vector<Box>& boxes) {
  std::vector<float> out;
  for (const Box& b : boxes) out.insert(out.end(), {b.x1, b.y1, b.x2, b.y2});
  return out;
}

}  // namespace osprey::detect::test
