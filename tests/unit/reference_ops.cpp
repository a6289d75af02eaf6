#include "reference_ops.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>

#include "core/error.hpp"
#include "engine/executor.hpp"

namespace osprey::ref {

namespace {

// A malformed call is a bug in the test, not in the engine: fail loudly.
void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("reference op misuse: ") + what);
}

// Row-major offset into an NCHW tensor.
inline int64_t at4(const Shape& s, int64_t n, int64_t c, int64_t y, int64_t x) { return ((n * s[1] + c) * s[2] + y) * s[3] + x; }

Tensor binary(const Tensor& a, const Tensor& b, bool is_add) {
  require(a.shape.size() == b.shape.size(), "binary: ranks differ");
  const size_t rank = a.shape.size();
  // Strides of b over a's index space; 0 along broadcast (size-1) dims.
  std::vector<int64_t> bstride(rank, 0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    require(b.shape[d] == a.shape[d] || b.shape[d] == 1, "binary: b does not broadcast");
    bstride[d] = b.shape[d] == 1 ? 0 : stride;
    stride *= b.shape[d];
  }
  Tensor out(a.shape);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < a.size(); ++i) {
    int64_t bi = 0;
    for (size_t d = 0; d < rank; ++d) bi += idx[d] * bstride[d];
    out.data[i] = is_add ? a.data[i] + b.data[bi] : a.data[i] * b.data[bi];
    for (size_t d = rank; d-- > 0;) {  // odometer increment of the NCHW index
      if (++idx[d] < a.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2d& p) {
  require(x.shape.size() == 4 && w.shape.size() == 4, "conv2d: 4-D tensors expected");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], Cg = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  require(Cg * p.groups == C && O % p.groups == 0, "conv2d: groups do not match the weight");
  const int64_t OH = (H + p.pad[0] + p.pad[2] - ((KH - 1) * p.dilation[0] + 1)) / p.stride[0] + 1;
  const int64_t OW = (W + p.pad[1] + p.pad[3] - ((KW - 1) * p.dilation[1] + 1)) / p.stride[1] + 1;
  require(OH > 0 && OW > 0, "conv2d: kernel larger than the padded input");
  const int64_t Og = O / p.groups;
  Tensor out(Shape{N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t g = o / Og;
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double s = bias ? bias->data[o] : 0.0;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t ky = 0; ky < KH; ++ky) {
              const int64_t iy = oy * p.stride[0] - p.pad[0] + ky * p.dilation[0];
              if (iy < 0 || iy >= H) continue;  // zero padding
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t ix = ox * p.stride[1] - p.pad[1] + kx * p.dilation[1];
                if (ix < 0 || ix >= W) continue;
                s += double(x.data[at4(x.shape, n, g * Cg + ci, iy, ix)]) * w.data[((o * Cg + ci) * KH + ky) * KW + kx];
              }
            }
          out.data[at4(out.shape, n, o, oy, ox)] = static_cast<float>(s);
        }
    }
  return out;
}

int pool_out_size(int in, int kernel, int stride, int pad, bool ceil_mode) {
  const int num = in + 2 * pad - (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  require(num >= 0, "pool: window larger than the padded input");
  int out = num / stride + 1;
  // torch: the last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

Tensor pool2d(const Tensor& x, const Pool2d& p) {
  require(x.shape.size() == 4, "pool2d: 4-D input expected");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = pool_out_size(int(H), p.kernel[0], p.stride[0], p.pad[0], p.ceil_mode);
  const int64_t OW = pool_out_size(int(W), p.kernel[1], p.stride[1], p.pad[1], p.ceil_mode);
  Tensor out(Shape{N, C, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          // Window bounds as torch's CPU kernels compute them (avg_pool2d / max_pool2d).
          int64_t y0 = oy * p.stride[0] - p.pad[0], x0 = ox * p.stride[1] - p.pad[1];
          int64_t y1 = std::min(y0 + p.kernel[0], H + p.pad[0]), x1 = std::min(x0 + p.kernel[1], W + p.pad[1]);
          const int64_t padded_size = (y1 - y0) * (x1 - x0);  // counts explicit padding, never the ceil overhang
          y0 = std::max<int64_t>(y0, 0);
          x0 = std::max<int64_t>(x0, 0);
          y1 = std::min(y1, H);
          x1 = std::min(x1, W);
          double acc = p.max ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) {
              const double v = x.data[at4(x.shape, n, c, y, xx)];
              acc = p.max ? std::max(acc, v) : acc + v;
            }
          if (!p.max) acc /= double(p.count_include_pad ? padded_size : (y1 - y0) * (x1 - x0));
          out.data[at4(out.shape, n, c, oy, ox)] = static_cast<float>(acc);
        }
  return out;
}

Tensor global_pool(const Tensor& x, bool max) {
  Pool2d p;
  p.max = max;
  p.kernel = {int(x.shape[2]), int(x.shape[3])};
  p.stride = {1, 1};
  return pool2d(x, p);
}

Tensor adaptive_avg_pool2d(const Tensor& x, int out_h, int out_w) {
  require(x.shape.size() == 4, "adaptive_avg_pool2d: 4-D input expected");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  Tensor out(Shape{N, C, out_h, out_w});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oy = 0; oy < out_h; ++oy)
        for (int64_t ox = 0; ox < out_w; ++ox) {
          // torch: bin i covers [floor(i*H/o), ceil((i+1)*H/o)).
          const int64_t y0 = oy * H / out_h, y1 = ((oy + 1) * H + out_h - 1) / out_h;
          const int64_t x0 = ox * W / out_w, x1 = ((ox + 1) * W + out_w - 1) / out_w;
          double s = 0.0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) s += x.data[at4(x.shape, n, c, y, xx)];
          out.data[at4(out.shape, n, c, oy, ox)] = static_cast<float>(s / double((y1 - y0) * (x1 - x0)));
        }
  return out;
}

Tensor flatten(const Tensor& x) {
  // torch.flatten(x, 1) on a contiguous tensor keeps the row-major order: index c*H*W + h*W + w.
  int64_t features = 1;
  for (size_t d = 1; d < x.shape.size(); ++d) features *= x.shape[d];
  return Tensor(Shape{x.shape[0], features}, x.data);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias) {
  require(x.shape.size() == 2 && w.shape.size() == 2 && w.shape[1] == x.shape[1], "linear: shapes");
  const int64_t N = x.shape[0], I = x.shape[1], O = w.shape[0];
  Tensor out(Shape{N, O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double s = bias ? bias->data[o] : 0.0;
      for (int64_t i = 0; i < I; ++i) s += double(x.data[n * I + i]) * w.data[o * I + i];
      out.data[n * O + o] = static_cast<float>(s);
    }
  return out;
}

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float eps) {
  require(x.shape.size() == 4, "batch_norm: 4-D input expected");
  Tensor out(x.shape);
  const int64_t C = x.shape[1], plane = x.shape[2] * x.shape[3];
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t c = (i / plane) % C;
    out.data[i] = static_cast<float>((double(x.data[i]) - mean.data[c]) / std::sqrt(double(var.data[c]) + eps) * gamma.data[c] +
                                     beta.data[c]);
  }
  return out;
}

Tensor lrn(const Tensor& x, int size, float alpha, float beta, float k) {
  require(x.shape.size() == 4, "lrn: 4-D input expected");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  Tensor out(x.shape);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          // torch: avg_pool3d over squares zero-padded by (size/2, (size-1)/2) channels,
          // count_include_pad, so the sum is always divided by `size`.
          double sq = 0.0;
          for (int64_t cc = c - size / 2; cc <= c + (size - 1) / 2; ++cc) {
            if (cc < 0 || cc >= C) continue;
            const double v = x.data[at4(x.shape, n, cc, y, xx)];
            sq += v * v;
          }
          const double div = std::pow(k + alpha * sq / size, double(beta));
          out.data[at4(x.shape, n, c, y, xx)] = static_cast<float>(x.data[at4(x.shape, n, c, y, xx)] / div);
        }
  return out;
}

float activation(float v, const Activation& a) {
  const double x = v;
  double r = 0.0;
  switch (a.kind) {
    case ActKind::Relu: r = std::max(x, 0.0); break;
    case ActKind::LeakyRelu: r = x >= 0 ? x : x * a.alpha; break;
    case ActKind::Relu6: r = std::min(std::max(x, 0.0), 6.0); break;
    case ActKind::Clip: r = std::min(std::max(x, double(a.alpha)), double(a.beta)); break;
    case ActKind::Tanh: r = std::tanh(x); break;
    case ActKind::Sigmoid: r = 1.0 / (1.0 + std::exp(-x)); break;
    case ActKind::HardSwish: r = x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; break;
    case ActKind::SiLU: r = x / (1.0 + std::exp(-x)); break;
    case ActKind::HardSigmoid: r = std::min(std::max(a.alpha * x + a.beta, 0.0), 1.0); break;
    case ActKind::Exp: r = std::exp(x); break;
    case ActKind::Log: r = std::log(x); break;
    case ActKind::Sqrt: r = std::sqrt(x); break;
    case ActKind::Abs: r = std::abs(x); break;
    case ActKind::Affine: r = a.alpha * x + a.beta; break;
    case ActKind::Pow: r = std::pow(x, double(a.alpha)); break;
    case ActKind::Elu: r = x >= 0 ? x : a.alpha * (std::exp(x) - 1.0); break;
    case ActKind::Gelu: r = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); break;
    case ActKind::Softplus: r = std::log1p(std::exp(x)); break;
  }
  return static_cast<float>(r);
}

Tensor activation(const Tensor& x, const Activation& a) {
  Tensor out(x.shape);
  for (int64_t i = 0; i < x.size(); ++i) out.data[i] = activation(x.data[i], a);
  return out;
}

Tensor softmax(const Tensor& x) {
  require(x.shape.size() == 2, "softmax: [N, K] expected");
  const int64_t N = x.shape[0], K = x.shape[1];
  Tensor out(x.shape);
  for (int64_t n = 0; n < N; ++n) {
    const float* row = x.data.data() + n * K;
    const double m = *std::max_element(row, row + K);  // subtract the max: no overflow
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(row[k] - m);
    for (int64_t k = 0; k < K; ++k) out.data[n * K + k] = static_cast<float>(std::exp(row[k] - m) / sum);
  }
  return out;
}

Tensor concat(const std::vector<const Tensor*>& xs) {
  require(!xs.empty(), "concat: no inputs");
  Shape shape = xs[0]->shape;
  shape[1] = 0;
  for (const Tensor* t : xs) {
    require(t->shape.size() == 4 && t->shape[0] == shape[0] && t->shape[2] == shape[2] && t->shape[3] == shape[3], "concat: shapes");
    shape[1] += t->shape[1];
  }
  Tensor out(shape);
  const int64_t plane = shape[2] * shape[3];
  for (int64_t n = 0; n < shape[0]; ++n) {
    int64_t c0 = 0;
    for (const Tensor* t : xs) {
      const int64_t block = t->shape[1] * plane;  // this input's channels of image n, contiguous in both
      std::copy_n(t->data.begin() + n * block, block, out.data.begin() + (n * shape[1] + c0) * plane);
      c0 += t->shape[1];
    }
  }
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, true); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, false); }

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(shape);
  for (float& v : t.data) v = dist(rng);
  return t;
}

Diff diff(const Tensor& got, const Tensor& want) {
  Diff d;
  for (int64_t i = 0; i < want.size() && i < got.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(double(got.data[i]) - want.data[i]));
    d.scale = std::max(d.scale, std::fabs(double(want.data[i])));
    if (std::isnan(got.data[i])) d.max_abs = std::numeric_limits<double>::infinity();
  }
  return d;
}

void check_close(const Tensor& got, const Tensor& want, const std::string& what, double tol) {
  INFO(what);
  REQUIRE(to_string(got.shape) == to_string(want.shape));
  const Diff d = diff(got, want);
  static const bool verbose = std::getenv("OSPREY_UNIT_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "  %-60s max_abs %.3g  scale %.3g  rel %.3g\n", what.c_str(), d.max_abs, d.scale, d.max_abs / d.scale);
  INFO("max abs error " << d.max_abs << ", output scale " << d.scale << ", tolerance " << tol * d.scale);
  CHECK(d.max_abs <= tol * d.scale);
}

}  // namespace osprey::ref

namespace osprey::test {

Node input_node(const std::string& name) { return layer(name, Op::Input, {}); }

Node layer(const std::string& name, Op op, std::vector<int> inputs, NodeParams params) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(inputs);
  n.params = std::move(params);
  return n;
}

Node conv_node(const std::string& name, int x, const ConvParams& p, Tensor weight, const Tensor* bias) {
  Node n = layer(name, Op::Conv, {x}, p);
  n.get<ConvParams>().bias = bias != nullptr;
  n.tensors.push_back({"weight", name + ".weight", weight.shape, std::move(weight)});
  if (bias) n.tensors.push_back({"bias", name + ".bias", bias->shape, *bias});
  return n;
}

int relayout(Graph& g, int x, int channels) {
  ConvParams p;
  p.out_channels = channels;
  Tensor eye(Shape{channels, channels, 1, 1});
  for (int c = 0; c < channels; ++c) eye.data[c * channels + c] = 1.0f;
  return g.add(conv_node(cat("relayout", g.nodes.size()), x, p, std::move(eye)));
}

void bind_random(Graph& g, std::mt19937& rng) {
  for (auto& node : g.nodes)
    for (auto& t : node.tensors) {
      if (!t.value.empty()) continue;
      const bool bn = node.op == Op::BatchNorm;
      if (bn && (t.role == "running_var" || t.role == "weight")) {
        t.value = ref::random_tensor(t.shape, rng, 0.5f, 2.0f);
      } else if (!bn && t.role == "weight") {
        // torch's default init bound, 1/sqrt(fan_in): activations stay O(1) through a deep graph.
        int64_t fan_in = 1;
        for (size_t d = 1; d < t.shape.size(); ++d) fan_in *= t.shape[d];
        const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
        t.value = ref::random_tensor(t.shape, rng, -bound, bound);
      } else {
        t.value = ref::random_tensor(t.shape, rng, -1.0f, 1.0f);
      }
    }
}

std::vector<Tensor> run(const Graph& g, const std::vector<const Tensor*>& inputs) {
  return Executor(std::make_shared<Graph>(g)).run(inputs);
}

Tensor run(const Graph& g, const Tensor& input) { return run(g, std::vector<const Tensor*>{&input}).at(0); }

std::string plan_error(const Graph& g, const std::vector<Shape>& input_shapes) {
  try {
    Executor(std::make_shared<Graph>(g)).prepare(input_shapes);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace osprey::test
