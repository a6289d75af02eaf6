#include "model/families/family.hpp"

#include <map>

namespace osprey {

FamilyModel build_lenet(ObjectReader&);
FamilyModel build_alexnet(ObjectReader&);
FamilyModel build_zfnet(ObjectReader&);
FamilyModel build_vgg(ObjectReader&);
FamilyModel build_googlenet(ObjectReader&);
FamilyModel build_inception_v3(ObjectReader&);
FamilyModel build_inception_v4(ObjectReader&);
FamilyModel build_resnet(ObjectReader&);
FamilyModel build_resnet_fpn(ObjectReader&);
FamilyModel build_fasterrcnn_resnet50_fpn(ObjectReader&);
FamilyModel build_fasterrcnn_resnet50_fpn_v2(ObjectReader&);
FamilyModel build_fasterrcnn_vgg16(ObjectReader&);
FamilyModel build_fasterrcnn_mobilenet_v3_large_fpn(ObjectReader&);
FamilyModel build_ssd300_vgg16(ObjectReader&);
FamilyModel build_ssd512_vgg16(ObjectReader&);
FamilyModel build_ssdlite320_mobilenet_v3_large(ObjectReader&);
FamilyModel build_fcn_resnet50(ObjectReader&);
FamilyModel build_fcn_resnet101(ObjectReader&);
FamilyModel build_fcn32s_vgg16(ObjectReader&);
FamilyModel build_fcn16s_vgg16(ObjectReader&);
FamilyModel build_fcn8s_vgg16(ObjectReader&);
FamilyModel build_maskrcnn_resnet50_fpn(ObjectReader&);
FamilyModel build_maskrcnn_resnet50_fpn_v2(ObjectReader&);
FamilyModel build_yolov1(ObjectReader&);

static const std::map<std::string, FamilyBuilder>& families() {
  static const std::map<std::string, FamilyBuilder> table{
      {"lenet5", build_lenet},           {"alexnet", build_alexnet},         {"zfnet", build_zfnet},
      {"vgg", build_vgg},                {"googlenet", build_googlenet},     {"inception_v3", build_inception_v3},
      {"inception_v4", build_inception_v4}, {"resnet", build_resnet},
      {"resnet_fpn", build_resnet_fpn},        {"fasterrcnn_resnet50_fpn", build_fasterrcnn_resnet50_fpn},
      {"fasterrcnn_resnet50_fpn_v2", build_fasterrcnn_resnet50_fpn_v2}, {"fasterrcnn_vgg16", build_fasterrcnn_vgg16},
      {"fasterrcnn_mobilenet_v3_large_fpn", build_fasterrcnn_mobilenet_v3_large_fpn},
      {"ssd300_vgg16", build_ssd300_vgg16}, {"ssd512_vgg16", build_ssd512_vgg16},
      {"ssdlite320_mobilenet_v3_large", build_ssdlite320_mobilenet_v3_large},
      {"fcn_resnet50", build_fcn_resnet50},    {"fcn_resnet101", build_fcn_resnet101},
      {"fcn32s_vgg16", build_fcn32s_vgg16},    {"fcn16s_vgg16", build_fcn16s_vgg16},
      {"fcn8s_vgg16", build_fcn8s_vgg16},
      {"maskrcnn_resnet50_fpn", build_maskrcnn_resnet50_fpn}, {"maskrcnn_resnet50_fpn_v2", build_maskrcnn_resnet50_fpn_v2},
      {"yolov1", build_yolov1},
  };
  return table;
}

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : families()) names.push_back(name);
  return names;
}

FamilyBuilder find_family(const std::string& name, const ObjectReader& where) {
  auto it = families().find(name);
  if (it == families().end()) {
    std::string known;
    for (const auto& n : family_names()) known += (known.empty() ? "" : ", ") + n;
    where.fail("family", cat("unknown family '", name, "' (known: ", known, ")"));
  }
  return it->second;
}

int basic_conv(GraphBuilder& b, const std::string& name, int x, int out, std::array<int, 2> kernel, std::array<int, 2> stride,
               std::array<int, 2> pad, float bn_eps) {
  x = b.conv(name + ".conv", x, {out, kernel, stride, pad, 1, {1, 1}, false});
  x = b.batch_norm(name + ".bn", x, bn_eps);
  return b.relu(name + ".relu", x);
}

int global_pool_linear(GraphBuilder& b, int x, const std::string& pool_name, const std::string& fc_name, int num_classes) {
  const int features = b.channels(x);
  x = b.adaptive_avg_pool(pool_name, x, {1, 1});
  x = b.flatten("flatten", x);
  return b.linear(fc_name, x, features, num_classes);
}

}  // namespace osprey
