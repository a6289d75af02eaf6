// Engine layers against the naive references (reference_ops.hpp), ncnn-style: each layer
// runs through the Executor (oneDNN) on random inputs from a fixed seed and must match
// the reference within ref::kRelTol (1e-4) relative to the output scale. Shapes are odd
// on purpose (channels 3, 13, 17, 24; spatial 7, 11, 15) so that the blocked layouts'
// channel padding and the vector loops' remainders are exercised. Most layers also run
// a second time behind value-preserving identity 1x1 convolutions (test::relayout), because
// inside a network they receive the layouts oneDNN picked for a conv output, not plain NCHW.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/passes.hpp"
#include "reference_ops.hpp"

using namespace osprey;
using test::layer;

namespace {

// A graph: input -> [identity conv, when `blocked`] -> node -> output.
Graph single(Node node, int channels, bool blocked) {
  Graph g;
  int x = g.add(test::input_node("x"));
  if (blocked) x = test::relayout(g, x, channels);
  node.inputs.insert(node.inputs.begin(), x);
  g.outputs = {g.add(std::move(node))};
  g.output_names = {"y"};
  return g;
}

const char* layout_name(bool blocked) { return blocked ? " [blocked input]" : " [plain input]"; }

// ---- convolution ----

struct ConvCase {
  const char* what;
  Shape in;
  int out;
  std::array<int, 2> kernel, stride;
  std::array<int, 4> pad;  // top, left, bottom, right
  std::array<int, 2> dilation;
  int groups;
  bool bias;
};

const ConvCase kConvCases[] = {
    {"3x3 pad 1, 3->13, bias", {1, 3, 11, 11}, 13, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
    {"3x3 pad 1, 13->24, no bias, batch 3", {3, 13, 7, 7}, 24, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, false},
    {"groups 4, 24->36, stride 2", {2, 24, 15, 15}, 36, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 4, true},
    {"groups 3, 3->24 (one input channel per group)", {1, 3, 11, 11}, 24, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3, false},
    {"depthwise 17, 3x3", {2, 17, 11, 11}, 17, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 17, true},
    {"depthwise 24, stride 2, asymmetric pad", {1, 24, 15, 15}, 24, {3, 3}, {2, 2}, {0, 1, 2, 1}, {1, 1}, 24, false},
    {"depthwise 13 x2 multiplier, dilation 2", {1, 13, 11, 11}, 26, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 13, true},
    {"stride 2, 13->17", {2, 13, 15, 15}, 17, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, true},
    {"asymmetric pad (2,1)/(0,3)", {2, 13, 11, 7}, 17, {3, 3}, {1, 1}, {2, 1, 0, 3}, {1, 1}, 1, true},
    {"asymmetric pad (0,0)/(1,1), stride 2 (TF 'same')", {1, 17, 15, 15}, 24, {3, 3}, {2, 2}, {0, 0, 1, 1}, {1, 1}, 1, true},
    {"5x5 stride 2, asymmetric pad (1,2)/(2,1), no bias", {1, 3, 15, 11}, 24, {5, 5}, {2, 2}, {1, 2, 2, 1}, {1, 1}, 1, false},
    {"dilation 2, 13->24", {2, 13, 15, 15}, 24, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, true},
    {"dilation (2,1), no bias", {1, 17, 11, 15}, 13, {3, 3}, {1, 1}, {2, 1, 2, 1}, {2, 1}, 1, false},
    {"1x1, 24->13, batch 3", {3, 24, 7, 7}, 13, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},
    {"1x1 stride 2, 13->24, no bias", {2, 13, 15, 15}, 24, {1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, false},
    {"7x1, 17->24", {1, 17, 15, 11}, 24, {7, 1}, {1, 1}, {3, 0, 3, 0}, {1, 1}, 1, true},
    {"1x7, 24->17, no bias", {1, 24, 11, 15}, 17, {1, 7}, {1, 1}, {0, 3, 0, 3}, {1, 1}, 1, false},
    {"11x11 stride 4 (AlexNet stem), batch 3", {3, 3, 31, 31}, 13, {11, 11}, {4, 4}, {2, 2, 2, 2}, {1, 1}, 1, true},
};

TEST_CASE("conv: groups + strides + asymmetric padding + dilation + bias + 1x1/7x1/1x7 + batches") {
  std::mt19937 rng(1234);
  for (const auto& c : kConvCases) {
    const int in_c = static_cast<int>(c.in[1]);
    const Tensor x = ref::random_tensor(c.in, rng);
    const Tensor w = ref::random_tensor({c.out, in_c / c.groups, c.kernel[0], c.kernel[1]}, rng);
    const Tensor b = ref::random_tensor({c.out}, rng);
    ConvParams p;
    p.out_channels = c.out;
    p.kernel = c.kernel;
    p.stride = c.stride;
    p.pad = c.pad;
    p.dilation = c.dilation;
    p.groups = c.groups;
    const Tensor want = ref::conv2d(x, w, c.bias ? &b : nullptr, {c.stride, c.pad, c.dilation, c.groups});
    for (bool blocked : {false, true}) {
      // conv_node's input is set by single(); -1 is a placeholder.
      Node n = test::conv_node("conv", -1, p, w, c.bias ? &b : nullptr);
      n.inputs.clear();
      ref::check_close(test::run(single(std::move(n), in_c, blocked), x), want, cat("conv ", c.what, layout_name(blocked)));
    }
  }
}

// ---- pooling ----

struct PoolCase {
  const char* what;
  Shape in;
  bool max;
  std::array<int, 2> kernel, stride, pad;  // pad: h, w (torch's symmetric padding)
  bool ceil_mode, count_include_pad;
  std::array<int64_t, 2> expect;  // output H, W as torch gives them (worked out by hand)
};

const PoolCase kPoolCases[] = {
    {"max 3x3/2 floor", {2, 13, 15, 15}, true, {3, 3}, {2, 2}, {0, 0}, false, true, {7, 7}},
    {"max 2x2/2 floor drops the odd row", {1, 3, 15, 11}, true, {2, 2}, {2, 2}, {0, 0}, false, true, {7, 5}},
    {"max 3x3/2 ceil (overhang window)", {1, 24, 14, 14}, true, {3, 3}, {2, 2}, {0, 0}, true, true, {7, 7}},
    {"max 3x3/2 pad 1 ceil", {1, 17, 14, 14}, true, {3, 3}, {2, 2}, {1, 1}, true, true, {8, 8}},
    // ceil would give 5, but the 5th window would start at 12 >= 11 + 1 (in the right pad): torch drops it.
    {"max 3x3/3 pad 1 ceil, last window dropped", {2, 13, 11, 11}, true, {3, 3}, {3, 3}, {1, 1}, true, true, {4, 4}},
    {"max 3x2/2x1 pad (1,0) ceil, non-square", {1, 13, 11, 15}, true, {3, 2}, {2, 1}, {1, 0}, true, true, {6, 14}},
    {"avg 3x3/1 pad 1 count_include_pad", {2, 13, 11, 11}, false, {3, 3}, {1, 1}, {1, 1}, false, true, {11, 11}},
    {"avg 3x3/1 pad 1 exclude pad", {2, 13, 11, 11}, false, {3, 3}, {1, 1}, {1, 1}, false, false, {11, 11}},
    {"avg 2x2/2 ceil, no pad, count_include_pad", {1, 24, 7, 7}, false, {2, 2}, {2, 2}, {0, 0}, true, true, {4, 4}},
    {"avg 2x2/2 ceil, no pad, exclude pad", {1, 24, 7, 7}, false, {2, 2}, {2, 2}, {0, 0}, true, false, {4, 4}},
    {"avg 3x3/2 pad 1 ceil exclude pad", {1, 17, 14, 14}, false, {3, 3}, {2, 2}, {1, 1}, true, false, {8, 8}},
    // ceil gives 5 here too, and again the 5th window would start in the right pad.
    {"avg 2x2/2 pad 1 ceil count_include_pad, last window dropped", {2, 13, 7, 7}, false, {2, 2}, {2, 2}, {1, 1}, true, true, {4, 4}},
    {"avg 2x2/2 pad 1 ceil exclude pad, last window dropped", {2, 13, 7, 7}, false, {2, 2}, {2, 2}, {1, 1}, true, false, {4, 4}},
    {"avg 3x2/2x1 pad (1,0) floor, non-square", {1, 13, 11, 15}, false, {3, 2}, {2, 1}, {1, 0}, false, true, {6, 14}},
    {"avg 5x5/3 floor (Inception aux)", {1, 17, 17, 17}, false, {5, 5}, {3, 3}, {0, 0}, false, true, {5, 5}},
};

PoolParams pool_params(const PoolCase& c) {
  PoolParams p;
  p.max = c.max;
  p.kernel = c.kernel;
  p.stride = c.stride;
  p.pad = {c.pad[0], c.pad[1], c.pad[0], c.pad[1]};
  p.ceil_mode = c.ceil_mode;
  p.count_include_pad = c.count_include_pad;
  return p;
}

TEST_CASE("pool: max and average + ceil mode + padding + count_include_pad") {
  std::mt19937 rng(2345);
  for (const auto& c : kPoolCases) {
    const Tensor x = ref::random_tensor(c.in, rng);
    const Tensor want = ref::pool2d(x, {c.max, c.kernel, c.stride, c.pad, c.ceil_mode, c.count_include_pad});
    INFO(std::string(c.what));
    // The reference's own extent must be torch's (hand-checked), or the comparison proves nothing.
    REQUIRE(want.shape == Shape{c.in[0], c.in[1], c.expect[0], c.expect[1]});
    for (bool blocked : {false, true})
      ref::check_close(test::run(single(layer("pool", Op::Pool, {}, pool_params(c)), int(c.in[1]), blocked), x), want,
                       cat("pool ", c.what, layout_name(blocked)));
  }
}

TEST_CASE("pool: ceil-mode overhang with padding and count_include_pad is refused + not miscomputed") {
  // torch counts the explicit padding but not the ceil overhang in the divisor; oneDNN has
  // no such mode, so the engine must refuse rather than silently diverge.
  const PoolCase c{"", {1, 17, 14, 14}, false, {3, 3}, {2, 2}, {1, 1}, true, true, {8, 8}};
  Graph g = single(layer("features.pool", Op::Pool, {}, pool_params(c)), 17, false);
  CHECK(test::plan_error(g, {c.in}).find("features.pool") != std::string::npos);
}

TEST_CASE("pool: global max and average") {
  std::mt19937 rng(3456);
  for (const Shape& in : {Shape{2, 24, 7, 7}, Shape{1, 13, 11, 15}, Shape{3, 3, 1, 1}}) {
    const Tensor x = ref::random_tensor(in, rng);
    for (bool max : {true, false}) {
      PoolParams p;
      p.max = max;
      p.global = true;
      for (bool blocked : {false, true})
        ref::check_close(test::run(single(layer("gpool", Op::Pool, {}, p), int(in[1]), blocked), x), ref::global_pool(x, max),
                         cat(max ? "global max " : "global avg ", to_string(in), layout_name(blocked)));
    }
  }
}

TEST_CASE("adaptive average pool: uneven and even bins") {
  std::mt19937 rng(4567);
  struct Case {
    Shape in;
    std::array<int, 2> out;
  };
  const Case cases[] = {
      {{1, 13, 10, 10}, {7, 7}},  // uneven: overlapping bins of 2 and 3
      {{2, 17, 5, 5}, {3, 3}},    // uneven
      {{1, 24, 14, 14}, {7, 7}},  // even: plain oneDNN pooling
      {{1, 3, 14, 10}, {7, 7}},   // even rows, uneven columns
      {{1, 13, 11, 15}, {5, 4}},  // uneven, non-square
      {{1, 3, 3, 3}, {5, 5}},     // more bins than pixels (torch repeats pixels)
      {{2, 24, 7, 7}, {1, 1}},    // torchvision's classifier head
  };
  for (const auto& c : cases) {
    const Tensor x = ref::random_tensor(c.in, rng);
    for (bool blocked : {false, true})
      ref::check_close(test::run(single(layer("apool", Op::AdaptiveAvgPool, {}, AdaptivePoolParams{c.out}), int(c.in[1]), blocked), x),
                       ref::adaptive_avg_pool2d(x, c.out[0], c.out[1]),
                       cat("adaptive avg ", to_string(c.in), " -> ", c.out[0], "x", c.out[1], layout_name(blocked)));
  }
}

// ---- flatten + inner product ----

Graph flatten_linear(const Tensor& w, const Tensor* b, int channels, bool blocked, std::vector<PostOp> post_ops = {}) {
  Graph g;
  int x = g.add(test::input_node("x"));
  if (blocked) x = test::relayout(g, x, channels);
  x = g.add(layer("flatten", Op::Flatten, {x}, AxisParams{1}));
  Node fc = layer("fc", Op::InnerProduct, {x}, InnerProductParams{static_cast<int>(w.shape[0]), b != nullptr});
  fc.tensors.push_back({"weight", "fc.weight", w.shape, w});
  if (b) fc.tensors.push_back({"bias", "fc.bias", b->shape, *b});
  fc.post_ops = std::move(post_ops);
  g.outputs = {g.add(std::move(fc))};
  g.output_names = {"y"};
  return g;
}

TEST_CASE("inner product: flatten of a 4-D tensor then linear") {
  std::mt19937 rng(5678);
  struct Case {
    Shape in;
    int out;
    bool bias;
  };
  for (const Case& c : {Case{{2, 13, 5, 7}, 10, true}, Case{{3, 24, 3, 3}, 17, false}, Case{{1, 17, 1, 1}, 13, true}}) {
    const int64_t features = c.in[1] * c.in[2] * c.in[3];
    const Tensor x = ref::random_tensor(c.in, rng);
    const Tensor w = ref::random_tensor({c.out, features}, rng);
    const Tensor b = ref::random_tensor({c.out}, rng);
    const Tensor want = ref::linear(ref::flatten(x), w, c.bias ? &b : nullptr);
    for (bool blocked : {false, true})
      ref::check_close(test::run(flatten_linear(w, c.bias ? &b : nullptr, int(c.in[1]), blocked), x), want,
                       cat("flatten+linear ", to_string(c.in), " -> ", c.out, layout_name(blocked)));
  }
}

TEST_CASE("inner product: flatten uses torch.flatten's C + H + W order") {
  // Each output row of the weight is one-hot at feature c*H*W + h*W + w, so output j must
  // be exactly x[n, c, h, w]; a flatten in any other order (or of a blocked buffer) differs.
  std::mt19937 rng(6789);
  const int64_t C = 13, H = 5, W = 7;
  const Tensor x = ref::random_tensor({2, C, H, W}, rng);
  const std::array<std::array<int64_t, 3>, 5> probes{{{0, 0, 1}, {1, 0, 0}, {12, 4, 6}, {3, 2, 5}, {7, 4, 0}}};
  Tensor w(Shape{5, C * H * W});
  for (int j = 0; j < 5; ++j) w.data[j * C * H * W + (probes[j][0] * H + probes[j][1]) * W + probes[j][2]] = 1.0f;
  for (bool blocked : {false, true}) {
    const Tensor y = test::run(flatten_linear(w, nullptr, int(C), blocked), x);
    REQUIRE(y.shape == Shape{2, 5});
    for (int64_t n = 0; n < 2; ++n)
      for (int j = 0; j < 5; ++j) {
        INFO("n=" << n << " probe " << j << layout_name(blocked));
        CHECK(y.data[n * 5 + j] == doctest::Approx(x.data[((n * C + probes[j][0]) * H + probes[j][1]) * W + probes[j][2]]).epsilon(1e-6));
      }
  }
}

// ---- LRN ----

TEST_CASE("lrn: across channels + zero padding at the channel edges") {
  std::mt19937 rng(7890);
  struct Case {
    Shape in;
    LRNParams p;
  };
  const Case cases[] = {
      {{2, 13, 7, 11}, {5, 1e-4f, 0.75f, 2.0f}},  // AlexNet's
      {{1, 17, 11, 7}, {3, 1e-4f, 0.75f, 1.0f}},
      // alpha this large makes the normalisation dominate, so a window shifted by one
      // channel or a different edge rule would fail by far more than the tolerance.
      {{1, 24, 7, 7}, {5, 1.0f, 0.75f, 1.0f}},
      {{1, 3, 5, 5}, {5, 0.5f, 0.75f, 1.0f}},  // window wider than the channel count
  };
  for (const auto& c : cases) {
    // Inputs of magnitude ~10 (as after a conv + relu) so that the squares matter.
    const Tensor x = ref::random_tensor(c.in, rng, -10.0f, 10.0f);
    const Tensor want = ref::lrn(x, c.p.size, c.p.alpha, c.p.beta, c.p.k);
    for (bool blocked : {false, true})
      ref::check_close(test::run(single(layer("lrn", Op::LRN, {}, c.p), int(c.in[1]), blocked), x), want,
                       cat("lrn size ", c.p.size, " alpha ", c.p.alpha, " k ", c.p.k, " ", to_string(c.in), layout_name(blocked)));
  }
}

// ---- activations ----

const Activation kActivations[] = {
    {ActKind::Relu, 0, 0},      {ActKind::LeakyRelu, 0.1f, 0}, {ActKind::Relu6, 0, 0},     {ActKind::Clip, -1.0f, 2.0f},
    {ActKind::Tanh, 0, 0},      {ActKind::Sigmoid, 0, 0},      {ActKind::HardSwish, 0, 0}, {ActKind::SiLU, 0, 0},
};

TEST_CASE("activation: every kind + standalone") {
  std::mt19937 rng(8901);
  // [-8, 8] covers relu6's and clip's saturation on both sides and hardswish's three pieces.
  const Tensor x = ref::random_tensor({2, 13, 7, 11}, rng, -8.0f, 8.0f);
  for (const auto& a : kActivations)
    for (bool blocked : {false, true})
      ref::check_close(test::run(single(layer("act", Op::Activation, {}, a), 13, blocked), x), ref::activation(x, a),
                       cat("activation ", act_name(a.kind), layout_name(blocked)));
}

TEST_CASE("activation: every kind fused into a convolution and a linear layer") {
  std::mt19937 rng(9012);
  const Tensor x = ref::random_tensor({2, 13, 7, 11}, rng, -2.0f, 2.0f);
  const Tensor w = ref::random_tensor({17, 13, 3, 3}, rng);
  const Tensor b = ref::random_tensor({17}, rng);
  ConvParams p;
  p.out_channels = 17;
  p.kernel = {3, 3};
  p.pad = {1, 1, 1, 1};
  const Tensor conv_out = ref::conv2d(x, w, &b, {{1, 1}, p.pad, {1, 1}, 1});
  const Tensor fw = ref::random_tensor({24, 13 * 7 * 11}, rng, -0.1f, 0.1f);
  const Tensor fb = ref::random_tensor({24}, rng);
  const Tensor fc_out = ref::linear(ref::flatten(x), fw, &fb);
  for (const auto& a : kActivations) {
    const std::string name = act_name(a.kind);
    {
      Graph g;
      const int in = g.add(test::input_node("x"));
      const int conv = g.add(test::conv_node("conv", in, p, w, &b));
      g.outputs = {g.add(layer("act", Op::Activation, {conv}, a))};
      g.output_names = {"y"};
      optimize(g, {x.shape});
      // The activation must really have become the convolution's post-op.
      REQUIRE(g.nodes[2].dead);
      REQUIRE(g.nodes[conv].post_ops.size() == 1);
      CHECK(g.nodes[conv].post_ops[0].kind == PostOp::Act);
      ref::check_close(test::run(g, x), ref::activation(conv_out, a), cat("conv + fused ", name));
    }
    {
      Graph g = flatten_linear(fw, &fb, 13, false);
      const int fc = g.outputs[0];
      g.outputs = {g.add(layer("act", Op::Activation, {fc}, a))};
      fuse_activations(g);
      REQUIRE(g.nodes[fc].post_ops.size() == 1);
      ref::check_close(test::run(g, x), ref::activation(fc_out, a), cat("linear + fused ", name));
    }
  }
}

// ---- softmax, concat, add, mul ----

TEST_CASE("softmax over axis 1 of [N K]") {
  std::mt19937 rng(1357);
  for (const Shape& s : {Shape{3, 17}, Shape{2, 1000}, Shape{4, 1}, Shape{1, 13}}) {
    // Wide ranges: a softmax that does not subtract the max would overflow at +-80.
    const Tensor x = ref::random_tensor(s, rng, -80.0f, 80.0f);
    Graph g = single(layer("softmax", Op::Softmax, {}, AxisParams{1}), 0, false);
    ref::check_close(test::run(g, x), ref::softmax(x), cat("softmax ", to_string(s)));
  }
}

TEST_CASE("concat: three inputs with channel counts that are not multiples of 8") {
  std::mt19937 rng(2468);
  for (const auto& channels : {std::array<int, 3>{13, 3, 24}, std::array<int, 3>{5, 17, 8}}) {
    std::vector<Tensor> xs;
    for (int c : channels) xs.push_back(ref::random_tensor({2, c, 7, 11}, rng));
    const Tensor want = ref::concat({&xs[0], &xs[1], &xs[2]});
    // Which inputs arrive in oneDNN's blocked layout: none, all, or a mix.
    for (int blocked_mask : {0b000, 0b111, 0b010}) {
      Graph g;
      std::vector<int> ins;
      for (int i = 0; i < 3; ++i) {
        const int x = g.add(test::input_node(cat("x", i)));
        ins.push_back((blocked_mask >> i) & 1 ? test::relayout(g, x, channels[i]) : x);
      }
      g.outputs = {g.add(layer("cat", Op::Concat, ins, AxisParams{1}))};
      g.output_names = {"y"};
      ref::check_close(test::run(g, {&xs[0], &xs[1], &xs[2]}).at(0), want,
                       cat("concat ", channels[0], "+", channels[1], "+", channels[2], " blocked mask ", blocked_mask));
    }
  }
}

TEST_CASE("add and mul: same shapes and a broadcast [N C 1 1] operand") {
  std::mt19937 rng(3579);
  const Shape a_shape{2, 13, 7, 11};
  for (const Shape& b_shape : {a_shape, Shape{2, 13, 1, 1}, Shape{1, 13, 1, 1}}) {
    const Tensor a = ref::random_tensor(a_shape, rng);
    const Tensor b = ref::random_tensor(b_shape, rng);
    for (Op op : {Op::Add, Op::Mul}) {
      const Tensor plain_want = op == Op::Add ? ref::add(a, b) : ref::mul(a, b);
      for (bool relu : {false, true}) {
        const Tensor want = relu ? ref::activation(plain_want, {ActKind::Relu}) : plain_want;
        // a in the blocked layout or plain; b too when it is full size.
        for (int blocked_mask : {0b00, 0b01, 0b11}) {
          const bool full = b_shape == a_shape;
          if (!full && blocked_mask == 0b11) continue;
          Graph g;
          int xa = g.add(test::input_node("a"));
          int xb = g.add(test::input_node("b"));
          if (blocked_mask & 1) xa = test::relayout(g, xa, 13);
          if (blocked_mask & 2) xb = test::relayout(g, xb, 13);
          Node n = layer("binary", op, {xa, xb});
          if (relu) n.post_ops.push_back({PostOp::Act, {ActKind::Relu}});
          g.outputs = {g.add(std::move(n))};
          g.output_names = {"y"};
          ref::check_close(test::run(g, {&a, &b}).at(0), want,
                           cat(op == Op::Add ? "add " : "mul ", to_string(b_shape), relu ? " + relu" : "", " blocked mask ", blocked_mask));
        }
      }
    }
  }
}

// ---- shape errors ----

TEST_CASE("shape errors name the layer") {
  SUBCASE("conv weight does not match the input channels") {
    ConvParams p;
    p.out_channels = 17;
    p.kernel = {3, 3};
    Graph g;
    const int x = g.add(test::input_node("x"));
    // Weight made for 24 input channels, fed 13.
    g.outputs = {g.add(test::conv_node("features.3", x, p, Tensor(Shape{17, 24, 3, 3})))};
    const std::string err = test::plan_error(g, {{1, 13, 11, 11}});
    CHECK(err.find("features.3") != std::string::npos);
    CHECK(err.find("[17, 24, 3, 3]") != std::string::npos);
    CHECK_THROWS_AS(test::run(g, Tensor(Shape{1, 13, 11, 11})), ModelError);
  }
  SUBCASE("concat of different spatial sizes") {
    Graph g;
    const int a = g.add(test::input_node("a"));
    const int b = g.add(test::input_node("b"));
    g.outputs = {g.add(layer("mixed.cat", Op::Concat, {a, b}, AxisParams{1}))};
    CHECK(test::plan_error(g, {{1, 13, 7, 7}, {1, 3, 7, 8}}).find("mixed.cat") != std::string::npos);
    const Tensor ta(Shape{1, 13, 7, 7}), tb(Shape{1, 3, 8, 7});
    CHECK_THROWS_AS(test::run(g, {&ta, &tb}), ModelError);
  }
  SUBCASE("a broadcast operand that does not broadcast") {
    Graph g;
    const int a = g.add(test::input_node("a"));
    const int b = g.add(test::input_node("b"));
    g.outputs = {g.add(layer("se.scale", Op::Mul, {a, b}))};
    CHECK(test::plan_error(g, {{1, 13, 7, 7}, {1, 3, 1, 1}}).find("se.scale") != std::string::npos);
  }
}

}  // namespace
