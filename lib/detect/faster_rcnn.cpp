#include "detect/faster_rcnn.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "core/error.hpp"
#include "engine/passes.hpp"
#include "model/families/fasterrcnn.hpp"
#include "model/model.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace osprey::detect {

namespace {

RoiExtractor extractor_of(const FasterRcnnArch& arch) {
  RoiExtractor e;
  if (arch.pooler == FasterRcnnArch::Pooler::RoiPool) {
    e.kind = RoiExtractor::Kind::RoiPool;
    e.output_h = e.output_w = arch.pool_size;
    e.spatial_scale = arch.spatial_scale;
  } else {
    e.align.output_h = e.align.output_w = arch.pool_size;
  }
  return e;
}

}  // namespace

FasterRcnn::FasterRcnn(std::unique_ptr<Model> model, RoiHeads roi_heads, const FasterRcnnArch& arch,
                       const FasterRcnnParams& params)
    : model_(std::move(model)),
      roi_heads_(std::move(roi_heads)),
      arch_(arch),
      anchors_(arch.anchor_sizes, arch.aspect_ratios),
      params_(params) {}

FasterRcnn::~FasterRcnn() = default;

std::unique_ptr<FasterRcnn> FasterRcnn::load(const std::string& config, const std::string& weights,
                                             const FasterRcnnParams& params, const LoadOptions& overrides) {
  LoadOptions options = overrides;
  if (!weights.empty()) options.weights = weights;
  std::unique_ptr<Model> model = Model::load(config, options);
  const FasterRcnnArch arch = fasterrcnn_arch_of_config(config);
  FasterRcnnParams p = params;
  if (p.transform.min_size == 0) p.transform.min_size = arch.min_size;
  if (p.transform.max_size == 0) p.transform.max_size = arch.max_size;
  if (p.rpn.score_thresh < 0) p.rpn.score_thresh = arch.rpn_score_thresh;
  // RoIs go through the box head in chunks of the proposal count (at most 1000), so the
  // executor plans once.
  const int64_t chunk = std::clamp<int64_t>(p.rpn.post_nms_top_n, 1, 1000);
  auto box_head = std::make_shared<Graph>(fasterrcnn_box_head_graph(arch));
  bind_weights(*box_head, SafetensorsFile(model->config().weights));
  optimize(*box_head, {{chunk, arch.out_channels, arch.pool_size, arch.pool_size}});
  RoiHeads heads(box_head, p.box, chunk, extractor_of(arch));
  return std::unique_ptr<FasterRcnn>(new FasterRcnn(std::move(model), std::move(heads), arch, p));
}

std::vector<Detections> FasterRcnn::detect(std::span<const Tensor> images, Trace* trace) {
  return run(images, nullptr, trace);
}

std::vector<Detections> FasterRcnn::detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals,
                                           Trace* trace) {
  if (proposals.size() != images.size())
    throw std::invalid_argument(cat("FasterRcnn: ", proposals.size(), " proposal lists for ", images.size(), " images"));
  return run(images, &proposals, trace);
}

std::vector<Detections> FasterRcnn::run(std::span<const Tensor> images, const std::span<const std::vector<Box>>* given,
                                        Trace* trace) {
  // GeneralizedRCNNTransform: normalise, resize, pad into one batch.
  ImageBatch batch = transform_images(images, params_.transform);
  // Backbone and RPN head: the feature levels, then objectness and deltas per level.
  std::vector<Tensor> out = model_->run(batch.tensor);
  const auto levels = static_cast<size_t>(arch_.feature_levels);
  if (out.size() != 3 * levels)
    throw std::logic_error(cat("FasterRcnn: the image graph has ", out.size(), " outputs, expected ", 3 * levels));
  const std::span<const Tensor> features(out.data(), levels);
  std::vector<Proposals> proposals;
  if (given) {
    // Fast R-CNN: the given boxes, resized with their image.
    for (size_t i = 0; i < given->size(); ++i)
      proposals.push_back({resize_boxes((*given)[i], batch.original_sizes[i], batch.image_sizes[i]), {}});
  } else {
    // RPN: anchors over the padded batch, proposals per image.
    const std::span<const Tensor> objectness(out.data() + levels, levels);
    const std::span<const Tensor> deltas(out.data() + 2 * levels, levels);
    std::vector<GridSize> grids;
    for (const Tensor& f : features) grids.push_back({f.shape[2], f.shape[3]});
    const std::vector<Box> anchors = anchors_.generate({batch.tensor.shape[2], batch.tensor.shape[3]}, grids);
    proposals = rpn_proposals(objectness, deltas, anchors, batch.image_sizes, params_.rpn);
  }
  // RoI heads on the pooled levels.
  std::vector<std::vector<Box>> boxes;
  for (const Proposals& p : proposals) boxes.push_back(p.boxes);
  std::vector<Detections> detections =
      roi_heads_(features.first(static_cast<size_t>(arch_.pooled_levels)), boxes, batch.image_sizes);
  if (trace) {
    trace->resized = detections;
    trace->features.assign(std::make_move_iterator(out.begin()), std::make_move_iterator(out.begin() + arch_.pooled_levels));
  }
  // Back to the original image sizes.
  for (size_t i = 0; i < detections.size(); ++i)
    detections[i].boxes = resize_boxes(detections[i].boxes, batch.image_sizes[i], batch.original_sizes[i]);
  if (trace) {
    trace->batch = std::move(batch);
    trace->proposals = std::move(proposals);
  }
  return detections;
}

const ModelConfig& FasterRcnn::config() const { return model_->config(); }

// The detector registry's entry (detect/detector.cpp): the user's thresholds replace the box
// head's.
std::unique_ptr<Detector> load_faster_rcnn_detector(const std::string& config, const std::string& weights,
                                                     const DetectorOptions& options) {
  FasterRcnnParams params;
  SelectionParams select;
  select.score_thresh = params.box.score_thresh;
  select.iou_thresh = params.box.nms_thresh;
  select.max_detections = params.box.detections_per_img;
  select = options.apply(select);
  params.box.score_thresh = select.score_thresh;
  params.box.nms_thresh = select.iou_thresh;
  params.box.detections_per_img = select.max_detections;
  params.box.suppression = select.suppression;
  params.box.soft = select.soft;
  return FasterRcnn::load(config, weights, params, options.load);
}

}  // namespace osprey::detect
