// GoogLeNet / Inception v1 (Szegedy et al. 2014) as torchvision builds it: BasicConv2d
// (conv + BN eps 1e-3 + ReLU), ceil-mode max pools, and torchvision's 3x3 (not 5x5) conv
// in the "5x5" branch. The auxiliary classifiers are training-only and ignored.
// torchvision's pretrained weights expect transform_input, which equals mean = std = 0.5
// preprocessing: set that in the config's "input".
#include "model/families/family.hpp"

namespace osprey {

namespace {

struct InceptionSpec {
  int ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
};

int inception(GraphBuilder& b, const std::string& n, int x, const InceptionSpec& s) {
  const int b1 = basic_conv(b, n + ".branch1", x, s.ch1x1, {1, 1});
  int b2 = basic_conv(b, n + ".branch2.0", x, s.ch3x3red, {1, 1});
  b2 = basic_conv(b, n + ".branch2.1", b2, s.ch3x3, {3, 3}, {1, 1}, {1, 1});
  int b3 = basic_conv(b, n + ".branch3.0", x, s.ch5x5red, {1, 1});
  b3 = basic_conv(b, n + ".branch3.1", b3, s.ch5x5, {3, 3}, {1, 1}, {1, 1});
  int b4 = b.max_pool(n + ".branch4.0", x, {3, 3}, {1, 1}, {1, 1}, true);
  b4 = basic_conv(b, n + ".branch4.1", b4, s.pool_proj, {1, 1});
  return b.concat(n, {b1, b2, b3, b4});
}

}  // namespace

FamilyModel build_googlenet(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 1000);
  GraphBuilder b(3);
  int x = basic_conv(b, "conv1", b.input(), 64, {7, 7}, {2, 2}, {3, 3});
  x = b.max_pool("maxpool1", x, {3, 3}, {2, 2}, {0, 0}, true);
  x = basic_conv(b, "conv2", x, 64, {1, 1});
  x = basic_conv(b, "conv3", x, 192, {3, 3}, {1, 1}, {1, 1});
  x = b.max_pool("maxpool2", x, {3, 3}, {2, 2}, {0, 0}, true);
  x = inception(b, "inception3a", x, {64, 96, 128, 16, 32, 32});
  x = inception(b, "inception3b", x, {128, 128, 192, 32, 96, 64});
  x = b.max_pool("maxpool3", x, {3, 3}, {2, 2}, {0, 0}, true);
  x = inception(b, "inception4a", x, {192, 96, 208, 16, 48, 64});
  x = inception(b, "inception4b", x, {160, 112, 224, 24, 64, 64});
  x = inception(b, "inception4c", x, {128, 128, 256, 24, 64, 64});
  x = inception(b, "inception4d", x, {112, 144, 288, 32, 64, 64});
  x = inception(b, "inception4e", x, {256, 160, 320, 32, 128, 128});
  x = b.max_pool("maxpool4", x, {2, 2}, {2, 2}, {0, 0}, true);
  x = inception(b, "inception5a", x, {256, 160, 320, 32, 128, 128});
  x = inception(b, "inception5b", x, {384, 192, 384, 48, 128, 128});
  b.output(global_pool_linear(b, x, "avgpool", "fc", num_classes), "logits");
  b.ignore_keys("aux1.");
  b.ignore_keys("aux2.");
  return {b.finish(), InputSpec{}, num_classes};
}

}  // namespace osprey
