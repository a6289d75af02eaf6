// ResNet 18/34/50/101/152 (He et al. 2015) as torchvision builds them ("v1.5": the
// bottleneck's stride sits on its 3x3 conv). `groups` and `width_per_group` give
// ResNeXt and wide ResNets the same way torchvision does.
#include "model/families/resnet.hpp"

#include <map>

namespace osprey {

namespace {

int conv_bn(GraphBuilder& b, const std::string& conv, const std::string& bn, int x, const ConvSpec& spec, float eps) {
  return b.batch_norm(bn, b.conv(conv, x, spec), eps);
}

int block(GraphBuilder& b, const std::string& name, int x, int planes, int stride, int dilation, const ResNetArch& arch) {
  const int expansion = arch.bottleneck ? 4 : 1;
  const float eps = arch.bn_eps;
  const int in = b.channels(x);
  int y;
  if (arch.bottleneck) {
    const int width = planes * arch.width_per_group / 64 * arch.groups;
    y = b.relu(name + ".relu1", conv_bn(b, name + ".conv1", name + ".bn1", x, {width, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, false}, eps));
    y = b.relu(name + ".relu2", conv_bn(b, name + ".conv2", name + ".bn2", y,
                                        {width, {3, 3}, {stride, stride}, {dilation, dilation}, arch.groups, {dilation, dilation}, false}, eps));
    y = conv_bn(b, name + ".conv3", name + ".bn3", y, {planes * 4, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, false}, eps);
  } else {
    y = b.relu(name + ".relu1",
               conv_bn(b, name + ".conv1", name + ".bn1", x, {planes, {3, 3}, {stride, stride}, {1, 1}, 1, {1, 1}, false}, eps));
    y = conv_bn(b, name + ".conv2", name + ".bn2", y, {planes, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false}, eps);
  }
  int shortcut = x;
  if (stride != 1 || in != planes * expansion)
    shortcut = conv_bn(b, name + ".downsample.0", name + ".downsample.1", x,
                       {planes * expansion, {1, 1}, {stride, stride}, {0, 0}, 1, {1, 1}, false}, eps);
  return b.relu(name + ".relu", b.add(name + ".add", y, shortcut));
}

}  // namespace

ResNetArch read_resnet_arch(ObjectReader& arch, int depth) {
  static const std::map<int, std::pair<bool, std::array<int, 4>>> depths{
      {18, {false, {2, 2, 2, 2}}}, {34, {false, {3, 4, 6, 3}}}, {50, {true, {3, 4, 6, 3}}},
      {101, {true, {3, 4, 23, 3}}}, {152, {true, {3, 8, 36, 3}}},
  };
  ResNetArch r;
  r.groups = arch.integer("groups", 1);
  r.width_per_group = arch.integer("width_per_group", 64);
  auto it = depths.find(depth);
  if (it == depths.end()) arch.fail("depth", cat("ResNet depth ", depth, " is not one of 18, 34, 50, 101, 152"));
  r.bottleneck = it->second.first;
  r.blocks = it->second.second;
  if (!r.bottleneck && (r.groups != 1 || r.width_per_group != 64))
    arch.fail("groups", "basic-block ResNets (18, 34) support only groups=1, width_per_group=64");
  return r;
}

std::array<int, 4> resnet_body(GraphBuilder& b, int x, const ResNetArch& arch, const std::string& prefix) {
  x = conv_bn(b, prefix + "conv1", prefix + "bn1", x, {64, {7, 7}, {2, 2}, {3, 3}, 1, {1, 1}, false}, arch.bn_eps);
  x = b.max_pool(prefix + "maxpool", b.relu(prefix + "relu", x), {3, 3}, {2, 2}, {1, 1});
  std::array<int, 4> stages{};
  int dilation = 1;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = 64 << stage;
    // torchvision's _make_layer: a dilated stage's first block keeps the previous dilation.
    const int previous_dilation = dilation;
    int stride = stage > 0 ? 2 : 1;
    if (stage > 0 && arch.dilate[stage - 1]) dilation *= stride, stride = 1;
    for (int i = 0; i < arch.blocks[stage]; ++i)
      x = block(b, cat(prefix, "layer", stage + 1, ".", i), x, planes, i == 0 ? stride : 1, i == 0 ? previous_dilation : dilation, arch);
    stages[stage] = x;
  }
  return stages;
}

FamilyModel build_resnet(ObjectReader& arch) {
  const int depth = arch.integer("depth");
  const int num_classes = arch.integer("num_classes", 1000);
  const ResNetArch resnet = read_resnet_arch(arch, depth);

  GraphBuilder b(3);
  const int x = resnet_body(b, b.input(), resnet)[3];
  b.output(global_pool_linear(b, x, "avgpool", "fc", num_classes), "logits");
  return {b.finish(), InputSpec{}, num_classes};
}

}  // namespace osprey
