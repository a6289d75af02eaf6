// ZFNet (Zeiler & Fergus 2013, fig. 3): AlexNet with a 7x7 stride-2 first layer and a
// stride-2 conv2, so feature maps go 110 -> 55 -> 26 -> 13 -> 6 at 224x224. The paper's
// contrast normalisation across feature maps is LRN here. Reference: tools/reference_models.py.
#include "model/families/family.hpp"

namespace osprey {

FamilyModel build_zfnet(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 1000);
  GraphBuilder b(3);
  auto lrn = [&](const std::string& name, int v) { return b.lrn(name, v, 5, 1e-4f, 0.75f, 2.0f); };
  int x = b.relu("features.1", b.conv("features.0", b.input(), {96, {7, 7}, {2, 2}, {1, 1}}));
  x = b.max_pool("features.3", lrn("features.2", x), {3, 3}, {2, 2}, {1, 1});
  x = b.relu("features.5", b.conv("features.4", x, {256, {5, 5}, {2, 2}}));
  x = b.max_pool("features.7", lrn("features.6", x), {3, 3}, {2, 2}, {1, 1});
  x = b.relu("features.9", b.conv("features.8", x, {384, {3, 3}, {1, 1}, {1, 1}}));
  x = b.relu("features.11", b.conv("features.10", x, {384, {3, 3}, {1, 1}, {1, 1}}));
  x = b.relu("features.13", b.conv("features.12", x, {256, {3, 3}, {1, 1}, {1, 1}}));
  x = b.max_pool("features.14", x, {3, 3}, {2, 2});
  b.output(alexnet_classifier(b, x, num_classes), "logits");
  return {b.finish(), InputSpec{}, num_classes};
}

}  // namespace osprey
