// Naive reference layers for the engine's unit tests, in the spirit of ncnn's test
// harness: plain loops over NCHW float tensors, written from PyTorch's documented
// semantics and deliberately independent of the engine (no oneDNN, no engine/shapes.hpp),
// so that a shared misunderstanding cannot make both sides agree. Accumulation is in
// double, so the reference is the more exact side of every comparison.
#pragma once

#include <array>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "engine/graph.hpp"  // Activation / ActKind only (a plain description of the function)

namespace osprey::ref {

// ---- layers ----

struct Conv2d {
  std::array<int, 2> stride{1, 1};
  std::array<int, 4> pad{0, 0, 0, 0};  // top, left, bottom, right (torch: F.pad then conv)
  std::array<int, 2> dilation{1, 1};
  int groups = 1;
};
// x [N, C, H, W], w [O, C/groups, KH, KW], bias [O] or null.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2d& p);

// torch.nn.MaxPool2d / AvgPool2d (symmetric padding, as torch has it).
struct Pool2d {
  bool max = true;
  std::array<int, 2> kernel{2, 2};
  std::array<int, 2> stride{2, 2};
  std::array<int, 2> pad{0, 0};  // h, w
  bool ceil_mode = false;
  bool count_include_pad = true;
};
// torch's pooling_output_shape (aten/src/ATen/native/Pool.h), dilation 1.
int pool_out_size(int in, int kernel, int stride, int pad, bool ceil_mode);
Tensor pool2d(const Tensor& x, const Pool2d& p);
Tensor global_pool(const Tensor& x, bool max);  // AdaptiveMax/AvgPool2d(1)
Tensor adaptive_avg_pool2d(const Tensor& x, int out_h, int out_w);

Tensor flatten(const Tensor& x);                                      // torch.flatten(x, 1)
Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias);  // x [N, I], w [O, I]
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float eps);
Tensor lrn(const Tensor& x, int size, float alpha, float beta, float k);  // torch.nn.LocalResponseNorm

float activation(float v, const Activation& a);
Tensor activation(const Tensor& x, const Activation& a);
Tensor softmax(const Tensor& x);                             // over axis 1 of [N, K]
Tensor concat(const std::vector<const Tensor*>& xs);         // along channels of NCHW
Tensor add(const Tensor& a, const Tensor& b);                // b may broadcast (size-1 dims)
Tensor mul(const Tensor& a, const Tensor& b);

// ---- harness ----

// Uniform values in [lo, hi), from the caller's seeded generator (reproducible runs).
Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f);

struct Diff {
  double max_abs = 0.0;  // max |got - want|
  double scale = 1.0;    // max(1, max |want|)
};
Diff diff(const Tensor& got, const Tensor& want);

// The acceptance rule of every layer test: same shape, and max |got - want| <= tol * scale
// with scale = max(1, max |want|), i.e. 1e-4 relative to the output's magnitude (absolute
// for outputs of magnitude below 1). Set OSPREY_UNIT_VERBOSE=1 to print every measurement.
inline constexpr double kRelTol = 1e-4;
void check_close(const Tensor& got, const Tensor& want, const std::string& what, double tol = kRelTol);

}  // namespace osprey::ref

// Small graph-building helpers shared by the layer and pass tests.
namespace osprey::test {

Node input_node(const std::string& name);
Node layer(const std::string& name, Op op, std::vector<int> inputs, NodeParams params = {});
// A convolution node with its weight (and bias, when given) already bound.
Node conv_node(const std::string& name, int x, const ConvParams& p, Tensor weight, const Tensor* bias = nullptr);
// Appends a 1x1 convolution with identity weights: the values are unchanged (exactly:
// one product by 1, the rest by 0), but the layer after it receives them in whatever
// layout oneDNN picked for the convolution's output (blocked or channels-last), which
// is how layers see their inputs inside real networks.
int relayout(Graph& g, int x, int channels);
// Fills every unbound weight tensor with random values of its declared shape; batch-norm
// variances and scales are kept positive and away from 0, as trained ones are.
void bind_random(Graph& g, std::mt19937& rng);
std::vector<Tensor> run(const Graph& g, const std::vector<const Tensor*>& inputs);
Tensor run(const Graph& g, const Tensor& input);
// The message of the ModelError that planning the graph for these shapes throws ("" if none).
std::string plan_error(const Graph& g, const std::vector<Shape>& input_shapes);

}  // namespace osprey::test
