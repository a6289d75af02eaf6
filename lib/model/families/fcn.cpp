// Fully convolutional networks for semantic segmentation; every graph returns "out", the
// class logits at the network input's size.
//
// fcn_resnet50 / fcn_resnet101: torchvision.models.segmentation.fcn_resnet50/101 (FCN with
// a dilated ResNet): the ResNet body with replace_stride_with_dilation [False, True, True]
// (output stride 8) as "backbone.*", FCNHead "classifier.*" (3x3 conv 2048 -> 512 without
// bias, BatchNorm2d, ReLU, Dropout, 1x1 conv -> classes), F.interpolate(bilinear,
// align_corners=False) to the input size. "aux": true adds torchvision's auxiliary FCNHead on
// layer3 ("aux_classifier.*", 1024 -> 256 -> classes) as a second output "aux"; without it
// aux_classifier.* tensors in a weights file are ignored (torchvision's COCO/VOC checkpoints
// carry them).
//
// fcn32s_vgg16 / fcn16s_vgg16 / fcn8s_vgg16: Long, Shelhamer & Darrell 2015, as the
// authors' Caffe nets (fcn.berkeleyvision.org voc-fcn{32,16,8}s/net.py): VGG16 convs with
// pad 100 on conv1_1 and ceil-mode 2x2 max pools, fc6 as a 7x7 conv (4096), fc7 1x1 (4096),
// score_fr 1x1 -> classes, learned transposed convs without bias for the upsampling, skips
// from pool4 (16s, 8s) and pool3 (8s) through 1x1 score layers, each cropped (Caffe Crop,
// offsets 5 and 9) to the upsampled map, and the final crop to the input (offsets 19, 27,
// 31). Tensor names are the Caffe layer names (tools/reference_models.py FCN32s/16s/8s).
// The crops' far ends depend on the input size modulo 32; the graph fixes them for sides
// that are multiples of 32 (lib/segment pads the input to that and crops the logits back).
// Transposed-conv weights are stored as the engine's deconv layout [out, in, kh, kw]
// (torch's ConvTranspose2d weight transposed on its first two axes).
#include <string>

#include "core/error.hpp"
#include "model/families/family.hpp"
#include "model/families/resnet.hpp"

namespace osprey {

namespace {

// Layers GraphBuilder has no helper for, appended to the finished graph.
class GraphTail {
 public:
  explicit GraphTail(Graph& g) : g_(g) {}

  // F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False).
  int upsample_bilinear_like(const std::string& name, int x, int like) {
    ResizeParams p;
    p.mode = ResizeParams::Linear;
    p.coord = ResizeParams::PytorchHalfPixel;
    p.size_from_second_input = true;
    return g_.add(Node{name, Op::Resize, {x, like}, p, {}, {}, false});
  }
  // Transposed conv channels -> channels without bias (Caffe Deconvolution, bias_term false).
  int deconv(const std::string& name, int x, int channels, int kernel, int stride) {
    ConvParams p;
    p.out_channels = channels;
    p.kernel = {kernel, kernel};
    p.stride = {stride, stride};
    p.bias = false;
    Node n{name, Op::Deconv, {x}, p, {}, {}, false};
    n.tensors.push_back({"weight", name + ".weight", {channels, channels, kernel, kernel}, {}});
    return g_.add(std::move(n));
  }
  // Caffe Crop on the spatial axes: `begin` rows / columns off the top-left, `end` off the
  // bottom-right.
  int crop(const std::string& name, int x, int begin, int end) {
    PadParams p;
    p.begin = {0, 0, -begin, -begin};
    p.end = {0, 0, -end, -end};
    return g_.add(Node{name, Op::Pad, {x}, p, {}, {}, false});
  }
  int add(const std::string& name, int a, int b) { return g_.add(Node{name, Op::Add, {a, b}, {}, {}, {}, false}); }
  void outputs(std::vector<int> ids, std::vector<std::string> names) {
    g_.outputs = std::move(ids);
    g_.output_names = std::move(names);
  }

 private:
  Graph& g_;
};

// FCNHead: 3x3 conv (in -> in / 4, no bias), BatchNorm2d, ReLU, Dropout(0.1), 1x1 conv.
int fcn_head(GraphBuilder& b, const std::string& prefix, int x, int num_classes) {
  const int inter = b.channels(x) / 4;
  x = b.conv(prefix + ".0", x, {inter, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false});
  x = b.relu(prefix + ".2", b.batch_norm(prefix + ".1", x));
  return b.conv(prefix + ".4", x, {num_classes, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
}

InputSpec segmentation_input() {
  InputSpec in;  // ImageNet mean / std; lib/segment resizes, the size is a planning hint
  in.height = 520;
  in.width = 520;
  in.resize_shorter = 520;
  return in;
}

FamilyModel build_fcn_resnet(ObjectReader& arch, int depth) {
  const int num_classes = arch.integer("num_classes", 21);
  const bool aux = arch.boolean("aux", false);
  ResNetArch resnet = read_resnet_arch(arch, depth);
  resnet.dilate = {false, true, true};

  GraphBuilder b(3);
  const auto stages = resnet_body(b, b.input(), resnet, "backbone.");
  const int head = fcn_head(b, "classifier", stages[3], num_classes);
  const int aux_head = aux ? fcn_head(b, "aux_classifier", stages[2], num_classes) : -1;
  if (!aux) b.ignore_keys("aux_classifier.");
  b.output(head);  // replaced below
  Graph g = b.finish();
  GraphTail t(g);
  std::vector<int> outs{t.upsample_bilinear_like("upsample", head, 0)};
  if (aux) outs.push_back(t.upsample_bilinear_like("aux_upsample", aux_head, 0));
  t.outputs(outs, aux ? std::vector<std::string>{"out", "aux"} : std::vector<std::string>{"out"});
  return {std::move(g), segmentation_input(), num_classes};
}

// Input sides must be multiples of 32: the crop ends below are worked out for them (pool
// sizes with pad 100 and ceil mode: pool3 4k+25, pool4 2k+13, pool5 k+7 for a side of 32k).
FamilyModel build_fcn_vgg16(ObjectReader& arch, int output_stride) {
  const int num_classes = arch.integer("num_classes", 21);
  const int fc_channels = arch.integer("fc_channels", 4096);  // the paper's; smaller only for tests
  GraphBuilder b(3);
  int x = b.input();
  const int widths[5] = {64, 128, 256, 512, 512};
  const int convs[5] = {2, 2, 3, 3, 3};
  int pools[5] = {};
  for (int stage = 0; stage < 5; ++stage) {
    for (int i = 0; i < convs[stage]; ++i) {
      const std::string name = cat("conv", stage + 1, "_", i + 1);
      const int pad = stage == 0 && i == 0 ? 100 : 1;
      x = b.relu(cat("relu", stage + 1, "_", i + 1), b.conv(name, x, {widths[stage], {3, 3}, {1, 1}, {pad, pad}, 1, {1, 1}, true}));
    }
    x = pools[stage] = b.max_pool(cat("pool", stage + 1), x, {2, 2}, {2, 2}, {0, 0}, true);
  }
  x = b.relu("relu6", b.conv("fc6", x, {fc_channels, {7, 7}, {1, 1}, {0, 0}, 1, {1, 1}, true}));
  x = b.relu("relu7", b.conv("fc7", x, {fc_channels, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true}));
  const int score_fr = b.conv("score_fr", x, {num_classes, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
  const ConvSpec score{num_classes, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true};
  const int score_pool4 = output_stride <= 16 ? b.conv("score_pool4", pools[3], score) : -1;
  const int score_pool3 = output_stride <= 8 ? b.conv("score_pool3", pools[2], score) : -1;
  b.output(score_fr);  // replaced below
  Graph g = b.finish();
  GraphTail t(g);
  int out;
  if (output_stride == 32) {
    out = t.crop("score", t.deconv("upscore", score_fr, num_classes, 64, 32), 19, 45);
  } else {
    const int up2 = t.deconv("upscore2", score_fr, num_classes, 4, 2);
    const int fuse4 = t.add("fuse_pool4", up2, t.crop("score_pool4c", score_pool4, 5, 4));
    if (output_stride == 16) {
      out = t.crop("score", t.deconv("upscore16", fuse4, num_classes, 32, 16), 27, 53);
    } else {
      const int up4 = t.deconv("upscore_pool4", fuse4, num_classes, 4, 2);
      const int fuse3 = t.add("fuse_pool3", up4, t.crop("score_pool3c", score_pool3, 9, 6));
      out = t.crop("score", t.deconv("upscore8", fuse3, num_classes, 16, 8), 31, 57);
    }
  }
  t.outputs({out}, {"out"});
  // Caffe's VGG16 preprocessing: BGR, 0..255, the ILSVRC mean subtracted, no std.
  InputSpec in = segmentation_input();
  in.height = in.width = 512;
  in.channels = ChannelOrder::BGR;
  in.scale = 1.0f;
  in.mean = {104.00698793f, 116.66876762f, 122.67891434f};
  in.std = {1.0f, 1.0f, 1.0f};
  return {std::move(g), in, num_classes};
}

}  // namespace

FamilyModel build_fcn_resnet50(ObjectReader& arch) { return build_fcn_resnet(arch, 50); }
FamilyModel build_fcn_resnet101(ObjectReader& arch) { return build_fcn_resnet(arch, 101); }
FamilyModel build_fcn32s_vgg16(ObjectReader& arch) { return build_fcn_vgg16(arch, 32); }
FamilyModel build_fcn16s_vgg16(ObjectReader& arch) { return build_fcn_vgg16(arch, 16); }
FamilyModel build_fcn8s_vgg16(ObjectReader& arch) { return build_fcn_vgg16(arch, 8); }

}  // namespace osprey
