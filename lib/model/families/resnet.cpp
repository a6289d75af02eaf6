// ResNet 18/34/50/101/152 (He et al. 2015) as torchvision builds them ("v1.5": the
// bottleneck's stride sits on its 3x3 conv). `groups` and `width_per_group` give
// ResNeXt and wide ResNets the same way torchvision does.
#include <map>

#include "model/families/family.hpp"

namespace osprey {

namespace {

struct ResNetShape {
  bool bottleneck;
  std::array<int, 4> blocks;
};

int conv_bn(GraphBuilder& b, const std::string& conv, const std::string& bn, int x, const ConvSpec& spec) {
  return b.batch_norm(bn, b.conv(conv, x, spec));
}

int block(GraphBuilder& b, const std::string& name, int x, int planes, int stride, bool bottleneck, int groups, int base_width) {
  const int expansion = bottleneck ? 4 : 1;
  const int in = b.channels(x);
  int y;
  if (bottleneck) {
    const int width = planes * base_width / 64 * groups;
    y = b.relu(name + ".relu1", conv_bn(b, name + ".conv1", name + ".bn1", x, {width, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, false}));
    y = b.relu(name + ".relu2",
               conv_bn(b, name + ".conv2", name + ".bn2", y, {width, {3, 3}, {stride, stride}, {1, 1}, groups, {1, 1}, false}));
    y = conv_bn(b, name + ".conv3", name + ".bn3", y, {planes * 4, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, false});
  } else {
    y = b.relu(name + ".relu1", conv_bn(b, name + ".conv1", name + ".bn1", x, {planes, {3, 3}, {stride, stride}, {1, 1}, 1, {1, 1}, false}));
    y = conv_bn(b, name + ".conv2", name + ".bn2", y, {planes, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false});
  }
  int shortcut = x;
  if (stride != 1 || in != planes * expansion)
    shortcut = conv_bn(b, name + ".downsample.0", name + ".downsample.1", x,
                       {planes * expansion, {1, 1}, {stride, stride}, {0, 0}, 1, {1, 1}, false});
  return b.relu(name + ".relu", b.add(name + ".add", y, shortcut));
}

}  // namespace

FamilyModel build_resnet(ObjectReader& arch) {
  static const std::map<int, ResNetShape> depths{
      {18, {false, {2, 2, 2, 2}}}, {34, {false, {3, 4, 6, 3}}}, {50, {true, {3, 4, 6, 3}}},
      {101, {true, {3, 4, 23, 3}}}, {152, {true, {3, 8, 36, 3}}},
  };
  const int depth = arch.integer("depth");
  const int num_classes = arch.integer("num_classes", 1000);
  const int groups = arch.integer("groups", 1);
  const int width_per_group = arch.integer("width_per_group", 64);
  auto it = depths.find(depth);
  if (it == depths.end()) arch.fail("depth", cat("ResNet depth ", depth, " is not one of 18, 34, 50, 101, 152"));
  const ResNetShape& shape = it->second;
  if (!shape.bottleneck && (groups != 1 || width_per_group != 64))
    arch.fail("groups", "basic-block ResNets (18, 34) support only groups=1, width_per_group=64");

  GraphBuilder b(3);
  int x = conv_bn(b, "conv1", "bn1", b.input(), {64, {7, 7}, {2, 2}, {3, 3}, 1, {1, 1}, false});
  x = b.max_pool("maxpool", b.relu("relu", x), {3, 3}, {2, 2}, {1, 1});
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = 64 << stage;
    for (int i = 0; i < shape.blocks[stage]; ++i) {
      const int stride = (stage > 0 && i == 0) ? 2 : 1;
      x = block(b, cat("layer", stage + 1, ".", i), x, planes, stride, shape.bottleneck, groups, width_per_group);
    }
  }
  b.output(global_pool_linear(b, x, "avgpool", "fc", num_classes), "logits");
  return {b.finish(), InputSpec{}, num_classes};
}

}  // namespace osprey
