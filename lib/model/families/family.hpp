// Family builders: one file per architecture family, each turning hyperparameters (the
// config's "architecture" object) into a layer graph whose weight keys follow the
// torchvision (or reference) state_dict, plus the family's default input spec.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/config.hpp"
#include "model/graph_builder.hpp"
#include "model/json_reader.hpp"

namespace osprey {

struct FamilyModel {
  Graph graph;
  InputSpec input;  // defaults; the config may override any field
  int num_classes = 0;
};

// `arch` is the config's "architecture" object; the builder reads its own keys from it
// ("family" is already read).
using FamilyBuilder = FamilyModel (*)(ObjectReader& arch);

FamilyBuilder find_family(const std::string& name, const ObjectReader& where);
std::vector<std::string> family_names();

// torchvision's BasicConv2d (GoogLeNet, Inception): conv without bias, batch norm, ReLU.
int basic_conv(GraphBuilder& b, const std::string& name, int x, int out, std::array<int, 2> kernel,
               std::array<int, 2> stride = {1, 1}, std::array<int, 2> pad = {0, 0}, float bn_eps = 0.001f);

// The ImageNet classifier tail shared by many families: global average pool, flatten,
// (dropout,) linear layer named `fc_name`.
int global_pool_linear(GraphBuilder& b, int x, const std::string& pool_name, const std::string& fc_name, int num_classes);

// AlexNet's classifier (also ZFNet's): flatten 256x6x6, dropout (identity at inference),
// FC 4096, ReLU, dropout, FC 4096, ReLU, FC classes, as torchvision indexes them (1, 4, 6).
int alexnet_classifier(GraphBuilder& b, int x, int num_classes);

// torchvision's VGG `features` (11, 13, 16 or 19 layers, optionally with batch norm), the
// layers named prefix + their index in the Sequential; without the last max pool when
// `last_pool` is false (the stride-16 C5 map of Faster R-CNN). Returns the last value.
int vgg_features(GraphBuilder& b, int x, int depth, bool batch_norm, const std::string& prefix, bool last_pool = true);

}  // namespace osprey
