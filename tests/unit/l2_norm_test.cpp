// The l2_norm engine layer (SSD's conv4_3 normalisation, torchvision's
// scale_weight * F.normalize(x, dim=1)) against a naive double-precision loop, on plain and
// blocked inputs, odd channel counts, batches, and all-zero pixels (where eps keeps the
// result 0 instead of NaN).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "reference_ops.hpp"

using namespace osprey;

namespace {

// y[n, c, p] = w[c] * x[n, c, p] / max(sqrt(sum_c x^2), eps), in double.
Tensor naive_l2_norm(const Tensor& x, const std::vector<float>& w, double eps) {
  const int64_t n = x.shape[0], c = x.shape[1], pixels = x.shape[2] * x.shape[3];
  Tensor y = x;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < pixels; ++p) {
      double sum = 0;
      for (int64_t k = 0; k < c; ++k) sum += double(x.data[(b * c + k) * pixels + p]) * x.data[(b * c + k) * pixels + p];
      const double denom = std::max(std::sqrt(sum), eps);
      for (int64_t k = 0; k < c; ++k) {
        const size_t i = static_cast<size_t>((b * c + k) * pixels + p);
        y.data[i] = static_cast<float>(w[static_cast<size_t>(k)] * (x.data[i] / denom));
      }
    }
  return y;
}

Graph l2_graph(int64_t channels, const std::vector<float>& weight, bool blocked) {
  Graph g;
  int x = g.add(test::input_node("x"));
  if (blocked) x = test::relayout(g, x, static_cast<int>(channels));
  Node n = test::layer("norm", Op::L2Norm, {x}, L2NormParams{1e-12f});
  n.tensors.push_back({"weight", "norm.weight", {channels}, Tensor({channels}, weight)});
  g.outputs = {g.add(std::move(n))};
  g.output_names = {"y"};
  return g;
}

}  // namespace

TEST_CASE("l2_norm: across channels with a per-channel scale + zero pixels + batches") {
  std::mt19937 rng(404);
  const Shape shapes[] = {{1, 3, 7, 7}, {2, 17, 11, 5}, {1, 512, 9, 9}, {3, 24, 1, 1}};
  for (const Shape& shape : shapes) {
    Tensor x = ref::random_tensor(shape, rng, -2.0f, 3.0f);
    // One all-zero pixel per image: the norm is 0 and eps must keep the output 0.
    const int64_t c = shape[1], pixels = shape[2] * shape[3];
    for (int64_t b = 0; b < shape[0]; ++b)
      for (int64_t k = 0; k < c; ++k) x.data[static_cast<size_t>((b * c + k) * pixels)] = 0.0f;
    const Tensor w = ref::random_tensor({c}, rng, 0.5f, 20.0f);
    const Tensor want = naive_l2_norm(x, w.data, 1e-12);
    for (bool blocked : {false, true}) {
      const Tensor got = test::run(l2_graph(c, w.data, blocked), x);
      ref::check_close(got, want, cat("l2_norm ", to_string(shape), blocked ? " [blocked input]" : " [plain input]"));
      for (int64_t b = 0; b < shape[0]; ++b) CHECK(got.data[static_cast<size_t>(b * c * pixels)] == 0.0f);
    }
  }
}

TEST_CASE("l2_norm: a weight of the wrong length is a shape error naming the tensor") {
  Graph g = l2_graph(5, std::vector<float>(4, 1.0f), false);
  g.nodes.back().tensors[0].value = Tensor({4}, std::vector<float>(4, 1.0f));
  CHECK(test::plan_error(g, {{1, 5, 3, 3}}).find("norm.weight") != std::string::npos);
}
