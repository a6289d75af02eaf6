#include "model/darknet/darknet_model.hpp"

#include <filesystem>

#include "model/darknet/network.hpp"

namespace osprey::darknet {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

bool is_darknet_cfg(const std::string& path) { return ends_with(path, ".cfg"); }
bool is_darknet_weights(const std::string& path) { return ends_with(path, ".weights"); }

ModelConfig bare_cfg_config(const std::string& cfg_path, Graph* graph) {
  Network net = build_network(cfg_path);
  ModelConfig config;
  config.path = cfg_path;
  config.name = std::filesystem::path(cfg_path).stem().string();
  config.task = net.heads.empty() ? "classify" : "detect";
  config.input = net.input;
  config.num_classes = net.num_classes;
  config.postprocess.softmax = false;  // Darknet classifiers end in their own [softmax]
  if (graph) *graph = std::move(net.graph);
  return config;
}

}  // namespace osprey::darknet
