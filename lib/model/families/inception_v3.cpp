// Inception v3 (Szegedy et al. 2015) as torchvision builds it: factorised 7x7 and 3x3
// convolutions, BasicConv2d with BN eps 1e-3, average-pool branches that count padding.
// The auxiliary classifier is training-only and ignored. torchvision's pretrained weights
// expect transform_input: use mean = std = 0.5 in the config's "input".
#include "model/families/family.hpp"

namespace osprey {

namespace {

int pool_branch(GraphBuilder& b, const std::string& n, int x, int out) {
  const int p = b.avg_pool(n + ".avg_pool", x, {3, 3}, {1, 1}, {1, 1});
  return basic_conv(b, n + ".branch_pool", p, out, {1, 1});
}

int inception_a(GraphBuilder& b, const std::string& n, int x, int pool_features) {
  const int b1 = basic_conv(b, n + ".branch1x1", x, 64, {1, 1});
  int b5 = basic_conv(b, n + ".branch5x5_1", x, 48, {1, 1});
  b5 = basic_conv(b, n + ".branch5x5_2", b5, 64, {5, 5}, {1, 1}, {2, 2});
  int d = basic_conv(b, n + ".branch3x3dbl_1", x, 64, {1, 1});
  d = basic_conv(b, n + ".branch3x3dbl_2", d, 96, {3, 3}, {1, 1}, {1, 1});
  d = basic_conv(b, n + ".branch3x3dbl_3", d, 96, {3, 3}, {1, 1}, {1, 1});
  return b.concat(n, {b1, b5, d, pool_branch(b, n, x, pool_features)});
}

int inception_b(GraphBuilder& b, const std::string& n, int x) {
  const int b3 = basic_conv(b, n + ".branch3x3", x, 384, {3, 3}, {2, 2});
  int d = basic_conv(b, n + ".branch3x3dbl_1", x, 64, {1, 1});
  d = basic_conv(b, n + ".branch3x3dbl_2", d, 96, {3, 3}, {1, 1}, {1, 1});
  d = basic_conv(b, n + ".branch3x3dbl_3", d, 96, {3, 3}, {2, 2});
  const int p = b.max_pool(n + ".max_pool", x, {3, 3}, {2, 2});
  return b.concat(n, {b3, d, p});
}

int inception_c(GraphBuilder& b, const std::string& n, int x, int c7) {
  const int b1 = basic_conv(b, n + ".branch1x1", x, 192, {1, 1});
  int s = basic_conv(b, n + ".branch7x7_1", x, c7, {1, 1});
  s = basic_conv(b, n + ".branch7x7_2", s, c7, {1, 7}, {1, 1}, {0, 3});
  s = basic_conv(b, n + ".branch7x7_3", s, 192, {7, 1}, {1, 1}, {3, 0});
  int d = basic_conv(b, n + ".branch7x7dbl_1", x, c7, {1, 1});
  d = basic_conv(b, n + ".branch7x7dbl_2", d, c7, {7, 1}, {1, 1}, {3, 0});
  d = basic_conv(b, n + ".branch7x7dbl_3", d, c7, {1, 7}, {1, 1}, {0, 3});
  d = basic_conv(b, n + ".branch7x7dbl_4", d, c7, {7, 1}, {1, 1}, {3, 0});
  d = basic_conv(b, n + ".branch7x7dbl_5", d, 192, {1, 7}, {1, 1}, {0, 3});
  return b.concat(n, {b1, s, d, pool_branch(b, n, x, 192)});
}

int inception_d(GraphBuilder& b, const std::string& n, int x) {
  int b3 = basic_conv(b, n + ".branch3x3_1", x, 192, {1, 1});
  b3 = basic_conv(b, n + ".branch3x3_2", b3, 320, {3, 3}, {2, 2});
  int s = basic_conv(b, n + ".branch7x7x3_1", x, 192, {1, 1});
  s = basic_conv(b, n + ".branch7x7x3_2", s, 192, {1, 7}, {1, 1}, {0, 3});
  s = basic_conv(b, n + ".branch7x7x3_3", s, 192, {7, 1}, {1, 1}, {3, 0});
  s = basic_conv(b, n + ".branch7x7x3_4", s, 192, {3, 3}, {2, 2});
  const int p = b.max_pool(n + ".max_pool", x, {3, 3}, {2, 2});
  return b.concat(n, {b3, s, p});
}

int inception_e(GraphBuilder& b, const std::string& n, int x) {
  const int b1 = basic_conv(b, n + ".branch1x1", x, 320, {1, 1});
  const int t = basic_conv(b, n + ".branch3x3_1", x, 384, {1, 1});
  const int t_a = basic_conv(b, n + ".branch3x3_2a", t, 384, {1, 3}, {1, 1}, {0, 1});
  const int t_b = basic_conv(b, n + ".branch3x3_2b", t, 384, {3, 1}, {1, 1}, {1, 0});
  int d = basic_conv(b, n + ".branch3x3dbl_1", x, 448, {1, 1});
  d = basic_conv(b, n + ".branch3x3dbl_2", d, 384, {3, 3}, {1, 1}, {1, 1});
  const int d_a = basic_conv(b, n + ".branch3x3dbl_3a", d, 384, {1, 3}, {1, 1}, {0, 1});
  const int d_b = basic_conv(b, n + ".branch3x3dbl_3b", d, 384, {3, 1}, {1, 1}, {1, 0});
  // torch nests cat([2a, 2b]) inside the outer cat; one flat concat is the same tensor.
  return b.concat(n, {b1, t_a, t_b, d_a, d_b, pool_branch(b, n, x, 192)});
}

}  // namespace

FamilyModel build_inception_v3(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 1000);
  GraphBuilder b(3);
  int x = basic_conv(b, "Conv2d_1a_3x3", b.input(), 32, {3, 3}, {2, 2});
  x = basic_conv(b, "Conv2d_2a_3x3", x, 32, {3, 3});
  x = basic_conv(b, "Conv2d_2b_3x3", x, 64, {3, 3}, {1, 1}, {1, 1});
  x = b.max_pool("maxpool1", x, {3, 3}, {2, 2});
  x = basic_conv(b, "Conv2d_3b_1x1", x, 80, {1, 1});
  x = basic_conv(b, "Conv2d_4a_3x3", x, 192, {3, 3});
  x = b.max_pool("maxpool2", x, {3, 3}, {2, 2});
  x = inception_a(b, "Mixed_5b", x, 32);
  x = inception_a(b, "Mixed_5c", x, 64);
  x = inception_a(b, "Mixed_5d", x, 64);
  x = inception_b(b, "Mixed_6a", x);
  x = inception_c(b, "Mixed_6b", x, 128);
  x = inception_c(b, "Mixed_6c", x, 160);
  x = inception_c(b, "Mixed_6d", x, 160);
  x = inception_c(b, "Mixed_6e", x, 192);
  x = inception_d(b, "Mixed_7a", x);
  x = inception_e(b, "Mixed_7b", x);
  x = inception_e(b, "Mixed_7c", x);
  b.output(global_pool_linear(b, x, "avgpool", "fc", num_classes), "logits");
  b.ignore_keys("AuxLogits.");
  InputSpec input;
  input.height = input.width = 299;
  input.resize_shorter = 342;
  return {b.finish(), input, num_classes};
}

}  // namespace osprey
