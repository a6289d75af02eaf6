// YOLO v1 (Redmon, Divvala, Girshick, Farhadi, "You Only Look Once: Unified, Real-Time Object
// Detection", CVPR 2016, figure 3): 24 convolutional layers (leaky ReLU 0.1, "same" padding,
// no batch norm) and two fully connected layers on a 448x448 image; the output holds, for an
// S x S grid with B boxes per cell and C classes, Darknet's [detection] layout: S*S*C class
// probabilities, S*S*B confidences, S*S*B*4 boxes (decoded by lib/detect/yolo_decode).
// Weight keys follow tools/yolo_reference.py's YoloV1 module: "features.<i>" (conv i, its
// leaky ReLU i + 1, max pools in between), "classifier.1" (FC fc_hidden), "classifier.4".
// Hyperparameters: num_classes (20, VOC), grid (7), boxes_per_cell (2), image_size (448, a
// multiple of 64: the FC input is 1024 x (image_size / 64)^2), fc_hidden (4096).
#include "model/families/family.hpp"

namespace osprey {

FamilyModel build_yolov1(ObjectReader& arch) {
  const int classes = arch.integer("num_classes", 20);
  const int grid = arch.integer("grid", 7);
  const int boxes = arch.integer("boxes_per_cell", 2);
  const int size = arch.integer("image_size", 448);
  const int hidden = arch.integer("fc_hidden", 4096);
  if (classes < 1 || grid < 1 || boxes < 1 || hidden < 1) arch.fail("num_classes", "num_classes, grid, boxes_per_cell and fc_hidden must be positive");
  if (size < 64 || size % 64) arch.fail("image_size", cat("expected a positive multiple of 64, got ", size));

  GraphBuilder b(3);
  int x = b.input();
  int index = 0;
  auto conv = [&](int kernel, int out, int stride) {
    const std::string name = "features." + std::to_string(index);
    x = b.conv(name, x, {out, {kernel, kernel}, {stride, stride}, {kernel / 2, kernel / 2}});
    x = b.activation("features." + std::to_string(index + 1), x, {ActKind::LeakyRelu, 0.1f, 0.0f});
    index += 2;
  };
  auto pool = [&] { x = b.max_pool("features." + std::to_string(index++), x, {2, 2}, {2, 2}); };
  conv(7, 64, 2), pool();
  conv(3, 192, 1), pool();
  conv(1, 128, 1), conv(3, 256, 1), conv(1, 256, 1), conv(3, 512, 1), pool();
  for (int i = 0; i < 4; ++i) conv(1, 256, 1), conv(3, 512, 1);
  conv(1, 512, 1), conv(3, 1024, 1), pool();
  for (int i = 0; i < 2; ++i) conv(1, 512, 1), conv(3, 1024, 1);
  conv(3, 1024, 1), conv(3, 1024, 2);
  conv(3, 1024, 1), conv(3, 1024, 1);
  const int side = size / 64;
  x = b.flatten("classifier.0", x);
  x = b.linear("classifier.1", x, 1024 * side * side, hidden);
  x = b.activation("classifier.2", x, {ActKind::LeakyRelu, 0.1f, 0.0f});  // classifier.3: dropout
  x = b.linear("classifier.4", x, hidden, grid * grid * (classes + 5 * boxes));
  b.output(x, "detection");

  InputSpec input;  // Darknet's: the RGB image stretched, pixels / 255
  input.height = input.width = size;
  input.resize = ResizeMode::Stretch;
  input.resize_shorter = size;
  input.mean = {0, 0, 0};
  input.std = {1, 1, 1};
  return {b.finish(), input, classes};
}

}  // namespace osprey
