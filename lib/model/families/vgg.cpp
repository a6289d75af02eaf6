// VGG 11/13/16/19 (Simonyan & Zisserman 2014) as torchvision builds them, with or without
// batch norm: stacks of 3x3 convs and 2x2 max pools, adaptive 7x7 pool, three FC layers.
#include <map>
#include <stdexcept>

#include "model/families/family.hpp"

namespace osprey {

namespace {

constexpr int M = 0;  // max pool

const std::vector<int>* vgg_stages(int depth) {
  static const std::map<int, std::vector<int>> stages{
      {11, {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
      {13, {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
      {16, {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M}},
      {19, {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M}},
  };
  auto it = stages.find(depth);
  return it == stages.end() ? nullptr : &it->second;
}

}  // namespace

int vgg_features(GraphBuilder& b, int x, int depth, bool batch_norm, const std::string& prefix, bool last_pool) {
  const std::vector<int>* stages = vgg_stages(depth);
  if (!stages) throw std::invalid_argument(cat("VGG depth ", depth, " is not one of 11, 13, 16, 19"));
  int index = 0;  // torchvision's index inside `features`
  auto name = [&](int i) { return prefix + std::to_string(i); };
  for (size_t i = 0; i < stages->size(); ++i) {
    const int channels = (*stages)[i];
    if (channels == M) {
      if (i + 1 == stages->size() && !last_pool) break;
      x = b.max_pool(name(index++), x, {2, 2}, {2, 2});
      continue;
    }
    x = b.conv(name(index++), x, {channels, {3, 3}, {1, 1}, {1, 1}});
    if (batch_norm) x = b.batch_norm(name(index++), x);
    x = b.relu(name(index++), x);
  }
  return x;
}

FamilyModel build_vgg(ObjectReader& arch) {
  const int depth = arch.integer("depth");
  const bool batch_norm = arch.boolean("batch_norm", false);
  const int num_classes = arch.integer("num_classes", 1000);
  if (!vgg_stages(depth)) arch.fail("depth", cat("VGG depth ", depth, " is not one of 11, 13, 16, 19"));

  GraphBuilder b(3);
  int x = vgg_features(b, b.input(), depth, batch_norm, "features.", true);
  x = b.adaptive_avg_pool("avgpool", x, {7, 7});
  x = b.flatten("flatten", x);
  x = b.relu("classifier.1", b.linear("classifier.0", x, 512 * 7 * 7, 4096));
  x = b.relu("classifier.4", b.linear("classifier.3", x, 4096, 4096));
  b.output(b.linear("classifier.6", x, 4096, num_classes), "logits");
  return {b.finish(), InputSpec{}, num_classes};
}

}  // namespace osprey
