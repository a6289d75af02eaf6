// Access to the references make_single_shot_references.py writes (OSPREY_SINGLE_SHOT_REFS:
// index.json naming each case's .npy arrays and files).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.hpp"
#include "model/npy.hpp"

namespace osprey::single_shot::test {

inline std::string ref_path(const std::string& file) { return std::string(OSPREY_SINGLE_SHOT_REFS) + "/" + file; }

inline const nlohmann::json& index() {
  static const nlohmann::json doc = [] {
    std::ifstream in(ref_path("index.json"));
    return nlohmann::json::parse(in);
  }();
  return doc;
}

inline const nlohmann::json& ref_case(const std::string& name) { return index().at("cases").at(name); }

inline Tensor ref_array(const nlohmann::json& file) { return read_npy(ref_path(file.get<std::string>())); }

}  // namespace osprey::single_shot::test
