#include "model/families/mobilenet_v3.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace osprey {

MobileNetNaming mobilenet_v3_names(const std::string& prefix) {
  return [prefix](int feature, int sub) {
    return sub < 0 ? cat(prefix, feature) : cat(prefix, feature, ".block.", sub);
  };
}

int make_divisible(double v, int divisor) {
  int n = std::max(divisor, static_cast<int>(v + divisor / 2.0) / divisor * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

MobileNetV3Features mobilenet_v3_large_features(GraphBuilder& b, int x, const MobileNetV3Options& o) {
  struct Block {
    int kernel, expanded, out;
    bool se, hs;
    int stride;
  };
  const int tail = o.reduced_tail ? 2 : 1;  // torchvision's reduce_divider
  const Block blocks[] = {
      {3, 16, 16, false, false, 1},   {3, 64, 24, false, false, 2},  {3, 72, 24, false, false, 1},
      {5, 72, 40, true, false, 2},    {5, 120, 40, true, false, 1},  {5, 120, 40, true, false, 1},
      {3, 240, 80, false, true, 2},   {3, 200, 80, false, true, 1},  {3, 184, 80, false, true, 1},
      {3, 184, 80, false, true, 1},   {3, 480, 112, true, true, 1},  {3, 672, 112, true, true, 1},
      {5, 672, 160 / tail, true, true, 2},
      {5, 960 / tail, 160 / tail, true, true, 1},
      {5, 960 / tail, 160 / tail, true, true, 1},
  };
  const Activation hardswish{ActKind::HardSwish};
  const Activation relu{ActKind::Relu};
  // Conv2dNormActivation: conv without bias ("<name>.0"), BatchNorm2d (".1"), activation (".2").
  auto cna = [&](const std::string& name, int in, int out, int k, int stride, int groups, const Activation* act) {
    int y = b.conv(name + ".0", in, {out, {k, k}, {stride, stride}, {(k - 1) / 2, (k - 1) / 2}, groups, {1, 1}, false});
    y = b.batch_norm(name + ".1", y, o.bn_eps);
    return act ? b.activation(name + ".2", y, *act) : y;
  };
  MobileNetV3Features f;
  x = cna(o.name(0, -1), x, 16, 3, 2, 1, &hardswish);
  f.outputs.push_back(x);
  f.expansions.push_back(-1);
  int i = 1;
  for (const Block& blk : blocks) {
    const int in_channels = b.channels(x);
    const Activation* act = blk.hs ? &hardswish : &relu;
    int y = x, j = 0, expansion = -1;
    if (blk.expanded != in_channels) expansion = y = cna(o.name(i, j++), y, blk.expanded, 1, 1, 1, act);
    y = cna(o.name(i, j++), y, blk.expanded, blk.kernel, blk.stride, blk.expanded, act);
    if (blk.se) {
      // SqueezeExcitation(scale_activation=Hardsigmoid): avgpool, fc1, ReLU, fc2, hardsigmoid, scale * input.
      const std::string se = o.name(i, j++);
      const int squeeze = make_divisible(blk.expanded / 4);
      int s = b.adaptive_avg_pool(se + ".avgpool", y, {1, 1});
      s = b.relu(se + ".activation", b.conv(se + ".fc1", s, {squeeze, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true}));
      s = b.conv(se + ".fc2", s, {blk.expanded, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
      s = b.activation(se + ".scale_activation", s, {ActKind::HardSigmoid, 1.0f / 6, 0.5f});
      y = b.mul(se + ".scale", y, s);
    }
    y = cna(o.name(i, j), y, blk.out, 1, 1, 1, nullptr);
    x = blk.stride == 1 && in_channels == blk.out ? b.add(o.name(i, -1) + ".residual", y, x) : y;
    f.outputs.push_back(x);
    f.expansions.push_back(expansion);
    ++i;
  }
  x = cna(o.name(i, -1), x, 6 * b.channels(x), 1, 1, 1, &hardswish);
  f.outputs.push_back(x);
  f.expansions.push_back(-1);
  return f;
}

}  // namespace osprey
