// Graph passes (passes.hpp) must not change results: every optimised graph is compared
// with the same graph planned without the pass and with a naive reference evaluation of
// the unoptimised graph, within ref::kRelTol relative to the output scale. The tests also
// check that each pass really rewrote the graph, so a silently skipped fusion fails too.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/graph_builder.hpp"
#include "reference_ops.hpp"

using namespace osprey;
using test::layer;

namespace {

// Evaluates an unoptimised graph (no post-ops) with the reference layers.
std::vector<Tensor> reference_run(const Graph& g, const std::vector<const Tensor*>& inputs) {
  std::vector<Tensor> v(g.nodes.size());
  size_t next_input = 0;
  for (size_t id = 0; id < g.nodes.size(); ++id) {
    const Node& n = g.nodes[id];
    if (n.dead) continue;
    REQUIRE(n.post_ops.empty());
    const Tensor* x = n.inputs.empty() ? nullptr : &v[n.inputs[0]];
    switch (n.op) {
      case Op::Input: v[id] = *inputs.at(next_input++); break;
      case Op::Conv: {
        const auto& p = n.get<ConvParams>();
        v[id] = ref::conv2d(*x, n.tensor("weight"), p.bias ? &n.tensor("bias") : nullptr, {p.stride, p.pad, p.dilation, p.groups});
        break;
      }
      case Op::BatchNorm:
        v[id] = ref::batch_norm(*x, n.tensor("weight"), n.tensor("bias"), n.tensor("running_mean"), n.tensor("running_var"),
                                n.get<BatchNormParams>().eps);
        break;
      case Op::Activation: v[id] = ref::activation(*x, n.get<Activation>()); break;
      case Op::Add: v[id] = ref::add(*x, v[n.inputs[1]]); break;
      case Op::Mul: v[id] = ref::mul(*x, v[n.inputs[1]]); break;
      case Op::Pool: {
        const auto& p = n.get<PoolParams>();
        REQUIRE((!p.global && p.pad[0] == p.pad[2] && p.pad[1] == p.pad[3]));  // torch pads symmetrically
        v[id] = ref::pool2d(*x, {p.max, p.kernel, p.stride, {p.pad[0], p.pad[1]}, p.ceil_mode, p.count_include_pad});
        break;
      }
      case Op::Identity: v[id] = *x; break;
      default: FAIL("reference_run does not handle ", op_name(n.op));
    }
  }
  std::vector<Tensor> outs;
  for (int o : g.outputs) outs.push_back(v[o]);
  return outs;
}

Node batch_norm_node(const std::string& name, int x, int64_t channels, float eps) {
  Node n = layer(name, Op::BatchNorm, {x}, BatchNormParams{eps});
  for (const char* role : {"weight", "bias", "running_mean", "running_var"}) n.tensors.push_back({role, name + "." + role, {channels}, {}});
  return n;
}

int count_live(const Graph& g, Op op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return !n.dead && n.op == op; }));
}

int count_sum_post_ops(const Graph& g) {
  int sums = 0;
  for (const auto& n : g.nodes)
    if (!n.dead)
      for (const auto& po : n.post_ops) sums += po.kind == PostOp::Sum;
  return sums;
}

TEST_CASE("passes: conv + batch norm + folded (optimize) and unfolded (oneDNN batch norm)") {
  std::mt19937 rng(4242);
  for (bool conv_bias : {false, true}) {
    const Shape in{2, 13, 11, 11};
    Graph g;
    const int x = g.add(test::input_node("x"));
    ConvParams p;
    p.out_channels = 24;
    p.kernel = {3, 3};
    p.stride = {2, 2};
    p.pad = {1, 1, 1, 1};
    const Tensor bias = ref::random_tensor({24}, rng);
    const int conv = g.add(test::conv_node("conv", x, p, ref::random_tensor({24, 13, 3, 3}, rng), conv_bias ? &bias : nullptr));
    const int bn = g.add(batch_norm_node("bn", conv, 24, 1e-3f));
    g.outputs = {bn};
    g.output_names = {"y"};
    test::bind_random(g, rng);
    const Tensor input = ref::random_tensor(in, rng);
    const Tensor want = reference_run(g, {&input})[0];

    Graph folded = g;
    optimize(folded, {in});
    CHECK(folded.nodes[bn].dead);
    CHECK(folded.nodes[conv].get<ConvParams>().bias);
    CHECK(folded.live_node_count() == g.live_node_count() - 1);

    const std::string what = conv_bias ? "conv(bias) + bn" : "conv + bn";
    const Tensor unfolded_out = test::run(g, input);
    const Tensor folded_out = test::run(folded, input);
    ref::check_close(unfolded_out, want, what + " unfolded vs reference");
    ref::check_close(folded_out, want, what + " folded vs reference");
    ref::check_close(folded_out, unfolded_out, what + " folded vs unfolded");
  }
}

TEST_CASE("passes: batch norm that cannot be folded (graph input + shared conv result)") {
  std::mt19937 rng(4343);
  const Shape in{2, 17, 7, 11};
  Graph g;
  const int x = g.add(test::input_node("x"));
  const int bn0 = g.add(batch_norm_node("bn0", x, 17, 1e-5f));  // no conv before it
  ConvParams p;
  p.out_channels = 24;
  p.kernel = {1, 1};
  const int conv = g.add(test::conv_node("conv", bn0, p, ref::random_tensor({24, 17, 1, 1}, rng)));
  const int bn1 = g.add(batch_norm_node("bn1", conv, 24, 1e-5f));
  g.outputs = {bn1, conv};  // the conv's raw result is also an output: folding would change it
  g.output_names = {"y", "conv"};
  test::bind_random(g, rng);
  const Tensor input = ref::random_tensor(in, rng);
  const auto want = reference_run(g, {&input});
  Graph opt = g;
  optimize(opt, {in});
  CHECK(opt.live_node_count() == g.live_node_count());
  const auto got = test::run(opt, {&input});
  ref::check_close(got[0], want[0], "bn on input, conv, bn (not folded): bn output");
  ref::check_close(got[1], want[1], "bn on input, conv, bn (not folded): conv output");
}

TEST_CASE("passes: activation fusion skips a producer with several consumers - identities go") {
  std::mt19937 rng(4444);
  const Shape in{1, 13, 11, 11};
  Graph g;
  const int x = g.add(test::input_node("x"));
  const int drop = g.add(layer("dropout", Op::Identity, {x}));
  ConvParams p;
  p.out_channels = 17;
  p.kernel = {3, 3};
  p.pad = {1, 1, 1, 1};
  const int conv = g.add(test::conv_node("conv", drop, p, ref::random_tensor({17, 13, 3, 3}, rng)));
  const int relu = g.add(layer("relu", Op::Activation, {conv}, Activation{ActKind::Relu}));
  const int tanh = g.add(layer("tanh", Op::Activation, {conv}, Activation{ActKind::Tanh}));
  g.outputs = {relu, tanh};
  g.output_names = {"relu", "tanh"};
  const Tensor input = ref::random_tensor(in, rng);
  const auto want = reference_run(g, {&input});
  Graph opt = g;
  optimize(opt, {in});
  CHECK(opt.nodes[drop].dead);
  CHECK(opt.nodes[conv].post_ops.empty());  // fusing either would corrupt the other branch
  CHECK(!opt.nodes[relu].dead);
  const auto got = test::run(opt, {&input});
  ref::check_close(got[0], want[0], "shared conv -> relu");
  ref::check_close(got[1], want[1], "shared conv -> tanh");
}

// A small ResNet: stem conv-bn-relu-maxpool, a basic block with an identity shortcut and
// one with a strided 1x1 projection shortcut (torchvision's BasicBlock).
Graph small_resnet() {
  GraphBuilder b(3);
  const ConvSpec conv3{24, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false};
  int x = b.relu("relu", b.batch_norm("bn1", b.conv("conv1", b.input(), conv3)));
  x = b.max_pool("maxpool", x, {3, 3}, {2, 2}, {1, 1});
  {  // layer1.0: identity shortcut
    int y = b.relu("layer1.0.relu1", b.batch_norm("layer1.0.bn1", b.conv("layer1.0.conv1", x, conv3)));
    y = b.batch_norm("layer1.0.bn2", b.conv("layer1.0.conv2", y, conv3));
    x = b.relu("layer1.0.relu2", b.add("layer1.0.add", y, x));
  }
  {  // layer2.0: stride 2, 24 -> 40, projection shortcut
    const ConvSpec down3{40, {3, 3}, {2, 2}, {1, 1}, 1, {1, 1}, false};
    const ConvSpec same3{40, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false};
    const ConvSpec proj{40, {1, 1}, {2, 2}, {0, 0}, 1, {1, 1}, false};
    int y = b.relu("layer2.0.relu1", b.batch_norm("layer2.0.bn1", b.conv("layer2.0.conv1", x, down3)));
    y = b.batch_norm("layer2.0.bn2", b.conv("layer2.0.conv2", y, same3));
    const int shortcut = b.batch_norm("layer2.0.downsample.1", b.conv("layer2.0.downsample.0", x, proj));
    x = b.relu("layer2.0.relu2", b.add("layer2.0.add", y, shortcut));
  }
  b.output(x);
  return b.finish();
}

TEST_CASE("passes: residual blocks give the same output with and without sum fusion") {
  std::mt19937 rng(4545);
  Graph g = small_resnet();
  test::bind_random(g, rng);
  const Shape in{2, 3, 15, 15};
  const Tensor input = ref::random_tensor(in, rng);
  const Tensor want = reference_run(g, {&input})[0];

  Graph plain = g;
  remove_identities(plain);
  Graph fused = g;
  optimize(fused, {in});
  // Both adds became sum post-ops (with the block's relu after them), every batch norm
  // was folded and every relu fused.
  CHECK(count_live(fused, Op::Add) == 0);
  CHECK(count_live(fused, Op::BatchNorm) == 0);
  CHECK(count_live(fused, Op::Activation) == 0);
  CHECK(count_sum_post_ops(fused) == 2);
  CHECK(count_live(plain, Op::Add) == 2);
  CHECK(fused.live_node_count() < plain.live_node_count());
  for (const auto& n : fused.nodes)
    if (!n.dead && n.name == "layer1.0.conv2") {
      REQUIRE(n.post_ops.size() == 2);
      CHECK(n.post_ops[0].kind == PostOp::Sum);
      CHECK((n.post_ops[1].kind == PostOp::Act && n.post_ops[1].act.kind == ActKind::Relu));
    }

  const Tensor plain_out = test::run(plain, input);
  const Tensor fused_out = test::run(fused, input);
  ref::check_close(plain_out, want, "resnet blocks unfused vs reference");
  ref::check_close(fused_out, want, "resnet blocks sum-fused vs reference");
  ref::check_close(fused_out, plain_out, "resnet blocks sum-fused vs unfused");

  // A second run of the same plan must give the same result (the in-place sum must not
  // leave state behind in a buffer that the next run reads).
  Executor exec(std::make_shared<Graph>(fused));
  const Tensor first = exec.run(input).at(0);
  ref::check_close(exec.run(input).at(0), first, "resnet blocks sum-fused, second run");
}

TEST_CASE("passes: sum fusion where the shortcut is also the convolution's input (y = conv(x) + x)") {
  // The sum operand x is read by the convolution itself, so accumulating into x's buffer
  // in place would overwrite input pixels that later output pixels still need.
  std::mt19937 rng(4646);
  for (int channels : {13, 24}) {
    const Shape in{1, channels, 11, 11};
    Graph g;
    const int x0 = g.add(test::input_node("x"));
    ConvParams p;
    p.out_channels = channels;
    p.kernel = {3, 3};
    p.pad = {1, 1, 1, 1};
    const Tensor b = ref::random_tensor({channels}, rng);
    const int c0 = g.add(test::conv_node("conv0", x0, p, ref::random_tensor({channels, channels, 3, 3}, rng), &b));
    const int x = g.add(layer("relu0", Op::Activation, {c0}, Activation{ActKind::Relu}));
    const int c1 = g.add(test::conv_node("conv1", x, p, ref::random_tensor({channels, channels, 3, 3}, rng, -0.3f, 0.3f), &b));
    g.outputs = {g.add(layer("add", Op::Add, {c1, x}))};
    g.output_names = {"y"};
    const Tensor input = ref::random_tensor(in, rng);
    const Tensor want = reference_run(g, {&input})[0];
    Graph fused = g;
    optimize(fused, {in});
    CHECK(count_sum_post_ops(fused) == 1);
    const std::string what = cat("conv(x) + x, ", channels, " channels");
    ref::check_close(test::run(g, input), want, what + ", unfused");
    ref::check_close(test::run(fused, input), want, what + ", sum-fused");
  }
}

TEST_CASE("passes: a broadcasting add is not turned into a sum post-op") {
  std::mt19937 rng(4747);
  const Shape in{2, 13, 7, 7};
  Graph g;
  const int x = g.add(test::input_node("x"));
  const int s = g.add(test::input_node("scale"));
  ConvParams p;
  p.out_channels = 13;
  p.kernel = {1, 1};
  const int conv = g.add(test::conv_node("conv", x, p, ref::random_tensor({13, 13, 1, 1}, rng)));
  g.outputs = {g.add(layer("add", Op::Add, {conv, s}))};
  g.output_names = {"y"};
  const Tensor a = ref::random_tensor(in, rng), b = ref::random_tensor({2, 13, 1, 1}, rng);
  const Tensor want = reference_run(g, {&a, &b})[0];
  Graph opt = g;
  optimize(opt, {in, b.shape});
  CHECK(count_live(opt, Op::Add) == 1);
  CHECK(count_sum_post_ops(opt) == 0);
  ref::check_close(test::run(opt, {&a, &b}).at(0), want, "conv + broadcast add");
}

}  // namespace
