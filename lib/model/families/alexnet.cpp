// AlexNet. "torchvision": torchvision's single-tower variant (64/192/384/256/256 filters,
// no LRN, adaptive 6x6 pool). "original": Krizhevsky et al. 2012 as in Caffe's
// bvlc_alexnet: 96/256/384/384/256 filters, LRN after conv1 and conv2, the two-GPU split
// kept as groups=2, 227x227 input. Reference for "original": tools/reference_models.py.
#include "model/families/family.hpp"

namespace osprey {

int alexnet_classifier(GraphBuilder& b, int x, int num_classes) {
  x = b.flatten("flatten", x);
  x = b.relu("classifier.2", b.linear("classifier.1", x, 256 * 6 * 6, 4096));
  x = b.relu("classifier.5", b.linear("classifier.4", x, 4096, 4096));
  return b.linear("classifier.6", x, 4096, num_classes);
}

FamilyModel build_alexnet(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 1000);
  const std::string variant = arch.string("variant", "torchvision");
  GraphBuilder b(3);
  InputSpec input;
  int x = b.input();
  if (variant == "torchvision") {
    x = b.relu("features.1", b.conv("features.0", x, {64, {11, 11}, {4, 4}, {2, 2}}));
    x = b.max_pool("features.2", x, {3, 3}, {2, 2});
    x = b.relu("features.4", b.conv("features.3", x, {192, {5, 5}, {1, 1}, {2, 2}}));
    x = b.max_pool("features.5", x, {3, 3}, {2, 2});
    x = b.relu("features.7", b.conv("features.6", x, {384, {3, 3}, {1, 1}, {1, 1}}));
    x = b.relu("features.9", b.conv("features.8", x, {256, {3, 3}, {1, 1}, {1, 1}}));
    x = b.relu("features.11", b.conv("features.10", x, {256, {3, 3}, {1, 1}, {1, 1}}));
    x = b.max_pool("features.12", x, {3, 3}, {2, 2});
    x = b.adaptive_avg_pool("avgpool", x, {6, 6});
  } else if (variant == "original") {
    auto lrn = [&](const std::string& name, int v) { return b.lrn(name, v, 5, 1e-4f, 0.75f, 2.0f); };
    x = b.relu("features.1", b.conv("features.0", x, {96, {11, 11}, {4, 4}}));
    x = b.max_pool("features.3", lrn("features.2", x), {3, 3}, {2, 2});
    x = b.relu("features.5", b.conv("features.4", x, {256, {5, 5}, {1, 1}, {2, 2}, 2}));
    x = b.max_pool("features.7", lrn("features.6", x), {3, 3}, {2, 2});
    x = b.relu("features.9", b.conv("features.8", x, {384, {3, 3}, {1, 1}, {1, 1}}));
    x = b.relu("features.11", b.conv("features.10", x, {384, {3, 3}, {1, 1}, {1, 1}, 2}));
    x = b.relu("features.13", b.conv("features.12", x, {256, {3, 3}, {1, 1}, {1, 1}, 2}));
    x = b.max_pool("features.14", x, {3, 3}, {2, 2});
    input.height = input.width = 227;
  } else {
    arch.fail("variant", cat("unknown AlexNet variant '", variant, "' (torchvision or original)"));
  }
  b.output(alexnet_classifier(b, x, num_classes), "logits");
  return {b.finish(), input, num_classes};
}

}  // namespace osprey
