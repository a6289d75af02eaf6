// LeNet-5 (LeCun et al. 1998): tanh units and average-pool subsampling. C1 pads the 28x28
// input by 2, which stands for the paper's 32x32 frame; C3 is fully connected (the
// paper's sparse C3 table is a detail of its era). Reference: tools/reference_models.py.
#include "model/families/family.hpp"

namespace osprey {

FamilyModel build_lenet(ObjectReader& arch) {
  const int num_classes = arch.integer("num_classes", 10);
  const int in_channels = arch.integer("in_channels", 1);
  const Activation tanh{ActKind::Tanh};
  GraphBuilder b(in_channels);
  int x = b.conv("features.0", b.input(), {6, {5, 5}, {1, 1}, {2, 2}});  // C1
  x = b.activation("features.1", x, tanh);
  x = b.avg_pool("features.2", x, {2, 2}, {2, 2});                   // S2
  x = b.conv("features.3", x, {16, {5, 5}});                          // C3
  x = b.activation("features.4", x, tanh);
  x = b.avg_pool("features.5", x, {2, 2}, {2, 2});                   // S4
  x = b.conv("features.6", x, {120, {5, 5}});                         // C5
  x = b.activation("features.7", x, tanh);
  x = b.flatten("flatten", x);
  x = b.linear("classifier.0", x, 120, 84);                           // F6
  x = b.activation("classifier.1", x, tanh);
  x = b.linear("classifier.2", x, 84, num_classes);
  b.output(x, "logits");

  InputSpec input;
  input.height = input.width = 28;
  input.channels = in_channels == 1 ? ChannelOrder::Gray : ChannelOrder::RGB;
  input.resize = ResizeMode::Stretch;
  input.mean = std::vector<float>(in_channels, 0.5f);
  input.std = std::vector<float>(in_channels, 0.5f);
  return {b.finish(), input, num_classes};
}

}  // namespace osprey
