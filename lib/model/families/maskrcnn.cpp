// Families "maskrcnn_resnet50_fpn" and "maskrcnn_resnet50_fpn_v2": torchvision 0.14's
// maskrcnn_resnet50_fpn / _v2. The image graph is fasterrcnn_resnet50_fpn's / _v2's (the
// same builder: the keys, defaults and bn_eps rules are identical); the mask head graph
// mirrors MaskRCNNHeads + MaskRCNNPredictor (torchvision.models.detection.mask_rcnn).
#include "model/families/maskrcnn.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "model/families/family.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace osprey {

FamilyModel build_fasterrcnn_resnet50_fpn(ObjectReader&);
FamilyModel build_fasterrcnn_resnet50_fpn_v2(ObjectReader&);

FamilyModel build_maskrcnn_resnet50_fpn(ObjectReader& arch) { return build_fasterrcnn_resnet50_fpn(arch); }
FamilyModel build_maskrcnn_resnet50_fpn_v2(ObjectReader& arch) { return build_fasterrcnn_resnet50_fpn_v2(arch); }

namespace {

constexpr const char* kDeconvName = "roi_heads.mask_predictor.conv5_mask";

}  // namespace

bool is_maskrcnn_family(const std::string& family) {
  return family == "maskrcnn_resnet50_fpn" || family == "maskrcnn_resnet50_fpn_v2";
}

MaskHeadArch maskrcnn_mask_head_arch(const std::string& family, const FasterRcnnArch& fr) {
  if (!is_maskrcnn_family(family)) throw std::invalid_argument(cat("'", family, "' is not a Mask R-CNN family"));
  MaskHeadArch m;
  m.in_channels = fr.out_channels;
  m.num_classes = fr.num_classes;
  m.norm = family == "maskrcnn_resnet50_fpn_v2";
  return m;
}

Graph maskrcnn_mask_head_graph(const MaskHeadArch& arch) {
  GraphBuilder b(arch.in_channels, "mask_features");
  int x = b.input();
  // MaskRCNNHeads: Conv2dNormActivation(3x3, padding = dilation = 1), bias only without norm.
  for (int i = 0; i < arch.layers; ++i) {
    const std::string name = cat("roi_heads.mask_head.", i);
    x = b.conv(name + ".0", x, {arch.layer_channels, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, !arch.norm});
    if (arch.norm) x = b.batch_norm(name + ".1", x, 1e-5f);
    x = b.relu(name + ".2", x);
  }
  // The builder has no transposed convolution: finish with the head's features as a
  // placeholder output, then append MaskRCNNPredictor's nodes to the graph directly.
  b.output(x, "mask_head");
  b.ignore_keys("backbone.");
  b.ignore_keys("rpn.");
  b.ignore_keys("roi_heads.box_");
  Graph g = b.finish();
  g.outputs.clear();
  g.output_names.clear();

  ConvParams up;
  up.out_channels = arch.dim_reduced;
  up.kernel = {2, 2};
  up.stride = {2, 2};
  up.bias = true;
  Node deconv{kDeconvName, Op::Deconv, {x}, up, {}, {}, false};
  // torch's ConvTranspose2d layout [in, out, kh, kw]; bind_mask_head_weights reorders it.
  deconv.tensors.push_back({"weight", cat(kDeconvName, ".weight"), {arch.layer_channels, arch.dim_reduced, 2, 2}, {}});
  deconv.tensors.push_back({"bias", cat(kDeconvName, ".bias"), {arch.dim_reduced}, {}});
  x = g.add(std::move(deconv));
  x = g.add(Node{"roi_heads.mask_predictor.relu", Op::Activation, {x}, Activation{ActKind::Relu}, {}, {}, false});

  ConvParams logits;
  logits.out_channels = arch.num_classes;
  logits.bias = true;
  const std::string name = "roi_heads.mask_predictor.mask_fcn_logits";
  Node conv{name, Op::Conv, {x}, logits, {}, {}, false};
  conv.tensors.push_back({"weight", name + ".weight", {arch.num_classes, arch.dim_reduced, 1, 1}, {}});
  conv.tensors.push_back({"bias", name + ".bias", {arch.num_classes}, {}});
  g.outputs.push_back(g.add(std::move(conv)));
  g.output_names.push_back("mask_logits");
  return g;
}

void bind_mask_head_weights(Graph& graph, const SafetensorsFile& file) {
  bind_weights(graph, file);
  for (Node& node : graph.nodes) {
    if (node.op != Op::Deconv) continue;
    Tensor* w = node.find_tensor("weight");
    if (w == nullptr || w->shape.size() != 4) throw std::logic_error(cat("mask head: '", node.name, "' has no 4-D weight"));
    const int64_t in = w->shape[0], out = w->shape[1], k = w->shape[2] * w->shape[3];
    Tensor t({out, in, w->shape[2], w->shape[3]});
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o)
        for (int64_t e = 0; e < k; ++e) t.data[static_cast<size_t>((o * in + i) * k + e)] = w->data[static_cast<size_t>((i * out + o) * k + e)];
    *w = std::move(t);
    for (NamedTensor& nt : node.tensors)
      if (nt.role == "weight") nt.shape = nt.value.shape;
  }
}

}  // namespace osprey
