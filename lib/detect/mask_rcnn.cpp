#include "detect/mask_rcnn.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/paste_masks.hpp"
#include "detect/roi_ops.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"
#include "model/safetensors.hpp"

namespace osprey::detect {

namespace {

// Detections go through the mask head in chunks of this many RoIs (the last one zero-padded),
// so the executor plans once; small, because an image has few detections and each RoI costs
// about 1 GFLOP.
constexpr int64_t kMaskChunk = 8;

}  // namespace

MaskRcnn::MaskRcnn(std::unique_ptr<FasterRcnn> rcnn, std::unique_ptr<Executor> mask_head, const MaskHeadArch& arch,
                   const MaskRcnnParams& params)
    : rcnn_(std::move(rcnn)), mask_head_(std::move(mask_head)), arch_(arch), params_(params) {}

MaskRcnn::~MaskRcnn() = default;

std::unique_ptr<MaskRcnn> MaskRcnn::load(const std::string& config, const std::string& weights, const MaskRcnnParams& params,
                                         const LoadOptions& overrides) {
  const nlohmann::json doc = read_json_file(config);
  if (!doc.is_object()) throw ModelError(cat(config, ": expected a JSON object"));
  ObjectReader top(doc, config);
  const std::string family = top.object("architecture").string("family", "");
  if (!is_maskrcnn_family(family))
    throw ModelError(cat(config, ": architecture.family: '", family,
                         "' is not a Mask R-CNN family (maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2)"));
  MaskRcnnParams p = params;
  read_detector_object(config, [&](ObjectReader& d) {
    const std::string kind = d.string("kind");
    if (kind != "mask_rcnn") d.fail("kind", cat("expected \"mask_rcnn\" for family ", family, ", got \"", kind, "\""));
    const double threshold = d.number("mask_threshold", p.mask_threshold);
    if (!(threshold >= 0 && threshold < 1)) d.fail("mask_threshold", "must be in [0, 1)");
    p.mask_threshold = static_cast<float>(threshold);
  });
  std::unique_ptr<FasterRcnn> rcnn = FasterRcnn::load(config, weights, p.rcnn, overrides);
  p.rcnn = rcnn->params();
  const MaskHeadArch arch = maskrcnn_mask_head_arch(family, rcnn->arch());
  auto graph = std::make_shared<Graph>(maskrcnn_mask_head_graph(arch));
  bind_mask_head_weights(*graph, SafetensorsFile(rcnn->config().weights));
  optimize(*graph, {{kMaskChunk, arch.in_channels, arch.pool_size, arch.pool_size}});
  auto executor = std::make_unique<Executor>(std::shared_ptr<const Graph>(std::move(graph)));
  return std::unique_ptr<MaskRcnn>(new MaskRcnn(std::move(rcnn), std::move(executor), arch, p));
}

std::vector<Detections> MaskRcnn::detect(std::span<const Tensor> images, Trace* trace) {
  FasterRcnn::Trace rcnn;
  std::vector<Detections> detections = rcnn_->detect(images, &rcnn);
  add_masks(detections, rcnn, trace);
  return detections;
}

std::vector<Detections> MaskRcnn::detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals,
                                         Trace* trace) {
  FasterRcnn::Trace rcnn;
  std::vector<Detections> detections = rcnn_->detect(images, proposals, &rcnn);
  add_masks(detections, rcnn, trace);
  return detections;
}

void MaskRcnn::add_masks(std::vector<Detections>& detections, FasterRcnn::Trace& rcnn, Trace* trace) {
  // RoIs: the final boxes in resized-image pixels (RoIHeads' result before
  // transform.postprocess), batch index first.
  std::vector<float> roi_data;
  std::vector<int64_t> labels;
  for (size_t n = 0; n < rcnn.resized.size(); ++n) {
    for (const Box& b : rcnn.resized[n].boxes) roi_data.insert(roi_data.end(), {static_cast<float>(n), b.x1, b.y1, b.x2, b.y2});
    labels.insert(labels.end(), rcnn.resized[n].labels.begin(), rcnn.resized[n].labels.end());
  }
  const auto total = static_cast<int64_t>(labels.size());
  const int64_t m = 2 * arch_.pool_size;  // the predictor's ConvTranspose2d doubles the pooled size
  const int64_t classes = arch_.num_classes;
  std::vector<float> probs(static_cast<size_t>(total * m * m));
  std::vector<float> logits;
  if (total > 0) {
    MultiScaleRoiAlignParams align;
    align.output_h = align.output_w = arch_.pool_size;
    align.sampling_ratio = 2;
    const Tensor pooled = multiscale_roi_align(rcnn.features, Tensor({total, 5}, std::move(roi_data)), rcnn.batch.image_sizes, align);
    const int64_t per_roi = arch_.in_channels * arch_.pool_size * arch_.pool_size;
    for (int64_t first = 0; first < total; first += kMaskChunk) {
      const int64_t count = std::min(kMaskChunk, total - first);
      Tensor in({kMaskChunk, arch_.in_channels, arch_.pool_size, arch_.pool_size});
      std::copy_n(pooled.data.begin() + first * per_roi, count * per_roi, in.data.begin());
      const std::vector<Tensor> out = mask_head_->run(in);
      if (out.size() != 1 || out[0].shape != Shape{kMaskChunk, classes, m, m})
        throw std::logic_error(cat("MaskRcnn: the mask head gave ", out.size(), " outputs, expected one [", kMaskChunk, ", ", classes,
                                   ", ", m, ", ", m, "]"));
      // maskrcnn_inference: sigmoid of the channel of each detection's class.
      for (int64_t r = 0; r < count; ++r) {
        const int64_t label = labels[static_cast<size_t>(first + r)];
        if (label < 0 || label >= classes) throw std::logic_error(cat("MaskRcnn: label ", label, " outside the ", classes, " classes"));
        const float* x = out[0].data.data() + (r * classes + label) * m * m;
        float* p = probs.data() + (first + r) * m * m;
        for (int64_t i = 0; i < m * m; ++i) p[i] = 1.0f / (1.0f + std::exp(-x[i]));
      }
      if (trace) logits.insert(logits.end(), out[0].data.begin(), out[0].data.begin() + count * classes * m * m);
    }
  }
  if (trace) {
    trace->mask_logits.clear();
    trace->mask_probs.clear();
    trace->pasted.clear();
  }
  // transform.postprocess: paste into the original image, at the boxes mapped back to it.
  int64_t first = 0;
  for (size_t n = 0; n < detections.size(); ++n) {
    Detections& d = detections[n];
    const auto k = static_cast<int64_t>(d.size());
    const ImageSize image = rcnn.batch.original_sizes[n];
    const int64_t plane = image.height * image.width;
    Tensor pasted;
    if (trace) {
      trace->mask_logits.emplace_back(Shape{k, classes, m, m},
                                      std::vector<float>(logits.begin() + first * classes * m * m,
                                                         logits.begin() + (first + k) * classes * m * m));
      trace->mask_probs.emplace_back(Shape{k, m, m},
                                     std::vector<float>(probs.begin() + first * m * m, probs.begin() + (first + k) * m * m));
      pasted = Tensor({k, image.height, image.width});
    }
    d.masks.clear();
    for (int64_t i = 0; i < k; ++i) {
      const Tensor one = paste_mask_in_image(std::span<const float>(probs.data() + (first + i) * m * m, static_cast<size_t>(m * m)), m,
                                             d.boxes[static_cast<size_t>(i)], image);
      InstanceMask mask{image.height, image.width, std::vector<uint8_t>(static_cast<size_t>(plane))};
      for (int64_t j = 0; j < plane; ++j) mask.data[static_cast<size_t>(j)] = one.data[static_cast<size_t>(j)] > params_.mask_threshold;
      d.masks.push_back(std::move(mask));
      if (trace) std::copy(one.data.begin(), one.data.end(), pasted.data.begin() + i * plane);
    }
    if (trace) trace->pasted.push_back(std::move(pasted));
    first += k;
  }
  if (trace) trace->rcnn = std::move(rcnn);
}

// The detector registry's entry (detect/detector.cpp): the user's thresholds replace the box
// head's, as for Faster R-CNN.
std::unique_ptr<Detector> load_mask_rcnn_detector(const std::string& config, const std::string& weights,
                                                   const DetectorOptions& options) {
  MaskRcnnParams params;
  BoxHeadParams& box = params.rcnn.box;
  SelectionParams select;
  select.score_thresh = box.score_thresh;
  select.iou_thresh = box.nms_thresh;
  select.max_detections = box.detections_per_img;
  select = options.apply(select);
  box.score_thresh = select.score_thresh;
  box.nms_thresh = select.iou_thresh;
  box.detections_per_img = select.max_detections;
  box.suppression = select.suppression;
  box.soft = select.soft;
  return MaskRcnn::load(config, weights, params, options.load);
}

}  // namespace osprey::detect
