// Inception v4 (Szegedy et al. 2016, "Inception-v4, Inception-ResNet and the Impact of
// Residual Connections"), laid out as the widely used `pretrainedmodels` port: a
// `features` sequence (stem, 4x Inception-A, Reduction-A, 7x Inception-B, Reduction-B,
// 3x Inception-C), global average pool and `last_linear`. BasicConv2d has BN eps 1e-3;
// the pooling branches do not count padding. Reference: tools/reference_models.py.
#include "model/families/family.hpp"

namespace osprey {

namespace {

using K = std::array<int, 2>;

int avg_branch(GraphBuilder& b, const std::string& n, int x, int out) {
  const int p = b.avg_pool(n + ".0", x, {3, 3}, {1, 1}, {1, 1}, false, false);
  return basic_conv(b, n + ".1", p, out, {1, 1});
}

int mixed_3a(GraphBuilder& b, const std::string& n, int x) {
  const int p = b.max_pool(n + ".maxpool", x, {3, 3}, {2, 2});
  const int c = basic_conv(b, n + ".conv", x, 96, {3, 3}, {2, 2});
  return b.concat(n, {p, c});
}

int mixed_4a(GraphBuilder& b, const std::string& n, int x) {
  int b0 = basic_conv(b, n + ".branch0.0", x, 64, {1, 1});
  b0 = basic_conv(b, n + ".branch0.1", b0, 96, {3, 3});
  int b1 = basic_conv(b, n + ".branch1.0", x, 64, {1, 1});
  b1 = basic_conv(b, n + ".branch1.1", b1, 64, {1, 7}, {1, 1}, {0, 3});
  b1 = basic_conv(b, n + ".branch1.2", b1, 64, {7, 1}, {1, 1}, {3, 0});
  b1 = basic_conv(b, n + ".branch1.3", b1, 96, {3, 3});
  return b.concat(n, {b0, b1});
}

int mixed_5a(GraphBuilder& b, const std::string& n, int x) {
  const int c = basic_conv(b, n + ".conv", x, 192, {3, 3}, {2, 2});
  const int p = b.max_pool(n + ".maxpool", x, {3, 3}, {2, 2});
  return b.concat(n, {c, p});
}

int inception_a(GraphBuilder& b, const std::string& n, int x) {
  const int b0 = basic_conv(b, n + ".branch0", x, 96, {1, 1});
  int b1 = basic_conv(b, n + ".branch1.0", x, 64, {1, 1});
  b1 = basic_conv(b, n + ".branch1.1", b1, 96, {3, 3}, {1, 1}, {1, 1});
  int b2 = basic_conv(b, n + ".branch2.0", x, 64, {1, 1});
  b2 = basic_conv(b, n + ".branch2.1", b2, 96, {3, 3}, {1, 1}, {1, 1});
  b2 = basic_conv(b, n + ".branch2.2", b2, 96, {3, 3}, {1, 1}, {1, 1});
  return b.concat(n, {b0, b1, b2, avg_branch(b, n + ".branch3", x, 96)});
}

int reduction_a(GraphBuilder& b, const std::string& n, int x) {
  const int b0 = basic_conv(b, n + ".branch0", x, 384, {3, 3}, {2, 2});
  int b1 = basic_conv(b, n + ".branch1.0", x, 192, {1, 1});
  b1 = basic_conv(b, n + ".branch1.1", b1, 224, {3, 3}, {1, 1}, {1, 1});
  b1 = basic_conv(b, n + ".branch1.2", b1, 256, {3, 3}, {2, 2});
  const int b2 = b.max_pool(n + ".branch2", x, {3, 3}, {2, 2});
  return b.concat(n, {b0, b1, b2});
}

int inception_b(GraphBuilder& b, const std::string& n, int x) {
  const int b0 = basic_conv(b, n + ".branch0", x, 384, {1, 1});
  int b1 = basic_conv(b, n + ".branch1.0", x, 192, {1, 1});
  b1 = basic_conv(b, n + ".branch1.1", b1, 224, K{1, 7}, {1, 1}, {0, 3});
  b1 = basic_conv(b, n + ".branch1.2", b1, 256, K{7, 1}, {1, 1}, {3, 0});
  int b2 = basic_conv(b, n + ".branch2.0", x, 192, {1, 1});
  b2 = basic_conv(b, n + ".branch2.1", b2, 192, K{7, 1}, {1, 1}, {3, 0});
  b2 = basic_conv(b, n + ".branch2.2", b2, 224, K{1, 7}, {1, 1}, {0, 3});
  b2 = basic_conv(b, n + ".branch2.3", b2, 224, K{7, 1}, {1, 1}, {3, 0});
  b2 = basic_conv(b, n + ".branch2.4", b2, 256, K{1, 7}, {1, 1}, {0, 3});
  return b.concat(n, {b0, b1, b2, avg_branch(b, n + ".branch3", x, 128)});
}

int reduction_b(GraphBuilder& b, const std::string& n, int x) {
  int b0 = basic_conv(b, n + ".branch0.0", x, 192, {1, 1});
  b0 = basic_conv(b, n + ".branch0.1", b0, 192, {3, 3}, {2, 2});
  int b1 = basic_conv(b, n + ".branch1.0", x, 256, {1, 1});
  b1 = basic_conv(b, n + ".branch1.1", b1, 256, K{1, 7}, {1, 1}, {0, 3});
  b1 = basic_conv(b, n + ".branch1.2", b1, 320, K{7, 1}, {1, 1}, {3, 0});
  b1 = basic_conv(b, n + ".branch1.3", b1, 320, {3, 3}, {2, 2});
  const int b2 = b.max_pool(n + ".branch2", x, {3, 3}, {2, 2});
  return b.concat(n, {b0, b1, b2});
}

int inception_c(GraphBuilder& b, const std::string& n, int x) {
  const int b0 = basic_conv(b, n + ".branch0", x, 256, {1, 1});
  const int t = basic_conv(b, n + ".branch1_0", x, 384, {1, 1});
  const int t_a = basic_conv(b, n + ".branch1_1a", t, 256, K{1, 3}, {1, 1}, {0, 1});
  const int t_b = basic_conv(b, n + ".branch1_1b", t, 256, K{3, 1}, {1, 1}, {1, 0});
  int u = basic_conv(b, n + ".branch2_0", x, 384, {1, 1});
  u = basic_conv(b, n + ".branch2_1", u, 448, K{3, 1}, {1, 1}, {1, 0});
  u = basic_conv(b, n + ".branch2_2", u, 512, K{1, 3}, {1, 1}, {0, 1});
  const int u_a = basic_conv(b, n + ".branch2_3a", u, 256, K{1, 3}, {1, 1}, {0, 1});
  const int u_b = basic_conv(b, n + ".branch2_3b", u, 256, K{3, 1}, {1, 1}, {1, 0});
  return b.concat(n, {b0, t_a, t_b, u_a, u_b, avg_branch(b, n + ".branch3", x, 256)});
}

}  // namespace

FamilyModel build_inception_v4(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 1000);
  GraphBuilder b(3);
  auto f = [](int i) { return "features." + std::to_string(i); };
  int x = basic_conv(b, f(0), b.input(), 32, {3, 3}, {2, 2});
  x = basic_conv(b, f(1), x, 32, {3, 3});
  x = basic_conv(b, f(2), x, 64, {3, 3}, {1, 1}, {1, 1});
  x = mixed_3a(b, f(3), x);
  x = mixed_4a(b, f(4), x);
  x = mixed_5a(b, f(5), x);
  int i = 6;
  for (int k = 0; k < 4; ++k) x = inception_a(b, f(i++), x);
  x = reduction_a(b, f(i++), x);
  for (int k = 0; k < 7; ++k) x = inception_b(b, f(i++), x);
  x = reduction_b(b, f(i++), x);
  for (int k = 0; k < 3; ++k) x = inception_c(b, f(i++), x);
  b.output(global_pool_linear(b, x, "avg_pool", "last_linear", num_classes), "logits");
  InputSpec input;
  input.height = input.width = 299;
  input.resize_shorter = 342;
  input.mean = {0.5f, 0.5f, 0.5f};
  input.std = {0.5f, 0.5f, 0.5f};
  return {b.finish(), input, num_classes};
}

}  // namespace osprey
