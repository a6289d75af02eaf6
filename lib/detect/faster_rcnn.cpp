#include "detect/faster_rcnn.hpp"

#include "core/error.hpp"
#include "engine/passes.hpp"
#include "model/families/fasterrcnn.hpp"
#include "model/model.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace osprey::detect {

namespace {

// fasterrcnn_resnet50_fpn's anchors: one size per level (32 to 512), ratios 0.5, 1, 2.
AnchorGenerator fpn_anchors() {
  std::vector<std::vector<float>> sizes{{32}, {64}, {128}, {256}, {512}};
  return AnchorGenerator(sizes, std::vector<std::vector<float>>(sizes.size(), {0.5f, 1.0f, 2.0f}));
}

constexpr int64_t kBoxHeadChunk = 1000;

}  // namespace

FasterRcnn::FasterRcnn(std::unique_ptr<Model> model, RoiHeads roi_heads, const FasterRcnnParams& params)
    : model_(std::move(model)), roi_heads_(std::move(roi_heads)), anchors_(fpn_anchors()), params_(params) {}

FasterRcnn::~FasterRcnn() = default;

std::unique_ptr<FasterRcnn> FasterRcnn::load(const std::string& config, const std::string& weights,
                                             const FasterRcnnParams& params) {
  LoadOptions options;
  options.weights = weights;
  std::unique_ptr<Model> model = Model::load(config, options);
  FasterRcnnArch arch;
  arch.num_classes = model->config().num_classes;
  auto box_head = std::make_shared<Graph>(fasterrcnn_box_head_graph(arch));
  bind_weights(*box_head, SafetensorsFile(model->config().weights));
  optimize(*box_head, {{kBoxHeadChunk, arch.out_channels, arch.pool_size, arch.pool_size}});
  RoiHeads heads(box_head, params.box, kBoxHeadChunk);
  return std::unique_ptr<FasterRcnn>(new FasterRcnn(std::move(model), std::move(heads), params));
}

std::vector<Detections> FasterRcnn::detect(std::span<const Tensor> images, Trace* trace) {
  // GeneralizedRCNNTransform: normalise, resize, pad into one batch.
  ImageBatch batch = transform_images(images, params_.transform);
  // Backbone and RPN head: FPN levels '0'..'3', 'pool', then objectness and deltas per level.
  std::vector<Tensor> out = model_->run(batch.tensor);
  const std::span<const Tensor> features(out.data(), kFpnLevels);
  const std::span<const Tensor> objectness(out.data() + kFpnLevels, kFpnLevels);
  const std::span<const Tensor> deltas(out.data() + 2 * kFpnLevels, kFpnLevels);
  // RPN: anchors over the padded batch, proposals per image.
  std::vector<GridSize> grids;
  for (const Tensor& f : features) grids.push_back({f.shape[2], f.shape[3]});
  const std::vector<Box> anchors = anchors_.generate({batch.tensor.shape[2], batch.tensor.shape[3]}, grids);
  std::vector<Proposals> proposals = rpn_proposals(objectness, deltas, anchors, batch.image_sizes, params_.rpn);
  // RoI heads on levels '0'..'3'.
  std::vector<std::vector<Box>> boxes;
  for (const Proposals& p : proposals) boxes.push_back(p.boxes);
  std::vector<Detections> detections = roi_heads_(features.first(4), boxes, batch.image_sizes);
  // Back to the original image sizes.
  for (size_t i = 0; i < detections.size(); ++i)
    detections[i].boxes = resize_boxes(detections[i].boxes, batch.image_sizes[i], batch.original_sizes[i]);
  if (trace) *trace = {std::move(batch), std::move(proposals)};
  return detections;
}

}  // namespace osprey::detect
