// Access to the torchvision references written by make_maskrcnn_references.py
// (OSPREY_MASKRCNN_REFS/index.json and its .npy arrays).
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detect/boxes.hpp"
#include "model/npy.hpp"

namespace osprey::detect::test {

struct MaskCase {
  std::string name;
  nlohmann::json params;

  Tensor array(const std::string& key) const {
    return read_npy(std::string(OSPREY_MASKRCNN_REFS) + "/" + params.at("arrays").at(key).get<std::string>());
  }
  std::string path(const std::string& key) const { return std::string(OSPREY_MASKRCNN_REFS) + "/" + params.at(key).get<std::string>(); }
  std::vector<Box> boxes(const std::string& key) const {
    const Tensor t = array(key);
    return t.data.empty() ? std::vector<Box>{} : boxes_from_tensor(t);
  }
};

// Every case of one op in the index, in name order.
inline std::vector<MaskCase> mask_cases_of(const std::string& op) {
  std::ifstream in(std::string(OSPREY_MASKRCNN_REFS) + "/index.json");
  REQUIRE_MESSAGE(in, "no ", OSPREY_MASKRCNN_REFS, "/index.json: run tests/maskrcnn/make_maskrcnn_references.py");
  const auto index = nlohmann::json::parse(in);
  std::vector<MaskCase> out;
  for (const auto& [name, params] : index.at("cases").items())
    if (params.at("op") == op) out.push_back({name, params});
  REQUIRE_MESSAGE(!out.empty(), "no reference cases for ", op);
  return out;
}

}  // namespace osprey::detect::test
