// YOLOv5 / YOLOv8 ONNX exports with Ultralytics' letterbox, non_max_suppression and
// scale_boxes; see yolo_onnx.hpp.
#include "detect/yolo_onnx.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/boxes.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"
#include "model/onnx/onnx_model.hpp"

namespace osprey::detect {

namespace {

// Ultralytics' max_wh: boxes of class c move by c * 7680 px so classes never overlap.
constexpr float kClassOffset = 7680.0f;
// LetterBox's fill, 114 of 255, on the [0, 1] images detectors receive.
constexpr float kPadValue = 114.0f / 255.0f;
constexpr int64_t kDefaultSize = 640;

struct Candidate {
  Box box;  // xyxy, network-input pixels
  float score;
  int64_t label;
};

}  // namespace

Detections yolo_non_max_suppression(std::span<const float> p, int64_t boxes, int64_t channels, int64_t num_classes,
                                    YoloLayout layout, const YoloNmsParams& params) {
  const int64_t first_class = layout == YoloLayout::V5 ? 5 : 4;
  if (boxes < 0 || num_classes < 1 || channels < first_class + num_classes)
    throw std::invalid_argument(cat("yolo_non_max_suppression: expected ", first_class, " + classes (", num_classes,
                                    ") channels at most, got ", channels));
  if (static_cast<int64_t>(p.size()) != boxes * channels)
    throw std::invalid_argument(cat("yolo_non_max_suppression: expected ", boxes * channels, " values, got ", p.size()));
  // Element (box, channel) of either layout.
  auto at = [&](int64_t b, int64_t c) { return layout == YoloLayout::V5 ? p[b * channels + c] : p[c * boxes + b]; };
  const float conf = params.conf_thres;
  std::vector<Candidate> cand;
  for (int64_t b = 0; b < boxes; ++b) {
    float obj = 1;
    if (layout == YoloLayout::V5) {
      obj = at(b, 4);
      if (!(obj > conf)) continue;  // YOLOv5's candidates: objectness > conf_thres
    }
    // Best class (the first of equal maxima, as torch.max), its score times the objectness.
    int64_t best = 0;
    float best_score = 0;
    for (int64_t c = 0; c < num_classes; ++c) {
      const float s = layout == YoloLayout::V5 ? at(b, first_class + c) * obj : at(b, first_class + c);
      if (c == 0 || s > best_score) best = c, best_score = s;
    }
    if (!(best_score > conf)) continue;
    // xywh2xyxy
    const float cx = at(b, 0), cy = at(b, 1), hw = at(b, 2) / 2, hh = at(b, 3) / 2;
    cand.push_back({{cx - hw, cy - hh, cx + hw, cy + hh}, best_score, best});
  }
  // At most max_nms by decreasing score (stable, as torch's CPU sort).
  std::stable_sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (static_cast<int64_t>(cand.size()) > params.max_nms) cand.resize(static_cast<size_t>(params.max_nms));

  std::vector<Box> box(cand.size()), shifted(cand.size());
  std::vector<float> score(cand.size());
  std::vector<int64_t> label(cand.size());
  for (size_t i = 0; i < cand.size(); ++i) {
    box[i] = cand[i].box;
    score[i] = cand[i].score;
    label[i] = cand[i].label;
    const float off = params.agnostic ? 0.0f : static_cast<float>(cand[i].label) * kClassOffset;
    shifted[i] = {box[i].x1 + off, box[i].y1 + off, box[i].x2 + off, box[i].y2 + off};
  }
  if (params.suppression == Suppression::Soft) {
    SelectionParams sp;
    sp.score_thresh = conf;
    sp.iou_thresh = params.iou_thres;
    sp.max_detections = params.max_det;
    sp.suppression = Suppression::Soft;
    sp.soft = params.soft;
    return select_detections(box, score, label, sp);
  }
  std::vector<int64_t> keep = nms(shifted, score, params.iou_thres);
  if (static_cast<int64_t>(keep.size()) > params.max_det) keep.resize(static_cast<size_t>(params.max_det));
  Detections out;
  for (int64_t k : keep) {
    out.boxes.push_back(box[static_cast<size_t>(k)]);
    out.scores.push_back(score[static_cast<size_t>(k)]);
    out.labels.push_back(label[static_cast<size_t>(k)]);
  }
  return out;
}

YoloOnnx::YoloOnnx(std::unique_ptr<Model> model, YoloLayout layout, const YoloNmsParams& params, int64_t height, int64_t width)
    : model_(std::move(model)), layout_(layout), params_(params), height_(height), width_(width) {}

YoloOnnx::~YoloOnnx() = default;

std::unique_ptr<YoloOnnx> YoloOnnx::load(const std::string& config, YoloLayout layout, const YoloNmsParams& params,
                                         const LoadOptions& overrides) {
  const ModelConfig cfg = read_config(config);
  if (cfg.onnx.empty()) throw ModelError(cat(config, ": architecture: a YOLO detector needs {\"onnx\": FILE}"));
  // The network size: the overrides' input.size, else the config's, else the ONNX input's
  // fixed dims, else 640.
  nlohmann::json input = overrides.input_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(overrides.input_json);
  const nlohmann::json doc = read_json_file(config);
  const bool size_given = input.contains("size") || (doc.contains("input") && doc["input"].is_object() && doc["input"].contains("size"));
  if (!size_given) {
    const OnnxModel onnx(cfg.onnx);
    if (onnx.inputs().size() != 1 || onnx.inputs()[0].dims.size() != 4)
      throw ModelError(cat(cfg.onnx, ": expected one image input [N, 3, H, W]"));
    const auto& dims = onnx.inputs()[0].dims;
    input["size"] = {dims[2] > 0 ? dims[2] : kDefaultSize, dims[3] > 0 ? dims[3] : kDefaultSize};
  }
  // The executor is prepared for this size at load (and the config's other preprocessing
  // keys are not used: the detector letterboxes itself).
  input["resize"] = "stretch";
  LoadOptions options = overrides;
  options.input_json = input.dump();
  std::unique_ptr<Model> model = Model::load(config, options);
  const int64_t h = model->config().input.height, w = model->config().input.width;
  return std::unique_ptr<YoloOnnx>(new YoloOnnx(std::move(model), layout, params, h, w));
}

std::vector<Detections> YoloOnnx::detect(std::span<const Tensor> images) {
  // One image per run: Ultralytics exports fix the batch at 1 unless exported dynamic.
  std::vector<Detections> result;
  for (const Tensor& image : images) {
    if (image.shape.size() != 3 || image.shape[0] != 3)
      throw std::invalid_argument(cat("YoloOnnx::detect: expected [3, H, W] images, got ", to_string(image.shape)));
    LetterboxedImage lb = letterbox(image, height_, width_, LetterboxStyle::Ultralytics, kPadValue);
    lb.image.shape.insert(lb.image.shape.begin(), 1);
    const std::vector<Tensor> out = model_->run(lb.image);
    const Tensor& pred = out.at(0);
    const std::string& where = config().onnx;
    if (pred.shape.size() != 3 || pred.shape[0] != 1)
      throw ModelError(cat(where, ": expected a head output [1, ...] of rank 3, got ", to_string(pred.shape)));
    const int64_t first_class = layout_ == YoloLayout::V5 ? 5 : 4;
    const int64_t count = layout_ == YoloLayout::V5 ? pred.shape[1] : pred.shape[2];
    const int64_t channels = layout_ == YoloLayout::V5 ? pred.shape[2] : pred.shape[1];
    // Classes: the config's num_classes, else its labels, else every channel after the box.
    int64_t classes = channels - first_class;
    if (config().num_classes > 0) classes = config().num_classes;
    else if (!config().labels.empty()) classes = static_cast<int64_t>(config().labels.size());
    if (classes < 1 || classes > channels - first_class)
      throw ModelError(cat(where, ": the head output ", to_string(pred.shape), " has no room for ", classes, " classes in the ",
                           layout_ == YoloLayout::V5 ? "yolov5 layout [N, boxes, 5 + C]" : "yolov8 layout [N, 4 + C, boxes]"));
    Detections d = yolo_non_max_suppression(pred.data, count, channels, classes, layout_, params_);
    d.boxes = lb.box.to_image(d.boxes);
    result.push_back(std::move(d));
  }
  return result;
}

const ModelConfig& YoloOnnx::config() const { return model_->config(); }

namespace {

std::unique_ptr<Detector> load_yolo(const std::string& config, const std::string& weights, const DetectorOptions& options,
                                    YoloLayout layout) {
  if (!weights.empty())
    throw ModelError(cat(config, ": an ONNX detector holds its weights; --weights does not apply"));
  YoloNmsParams p;
  p.iou_thres = layout == YoloLayout::V5 ? 0.45 : 0.7;  // detect.py's / Ultralytics' predict defaults
  read_detector_object(config, [&](ObjectReader& d) {
    p.conf_thres = static_cast<float>(d.number("score_thresh", p.conf_thres));
    p.iou_thres = d.number("iou_thresh", p.iou_thres);
    p.max_det = d.integer("max_detections", static_cast<int>(p.max_det));
    p.max_nms = d.integer("max_nms", static_cast<int>(p.max_nms));
    p.agnostic = d.boolean("agnostic", p.agnostic);
  });
  if (p.max_det < 1) throw ModelError(cat(config, ": detector.max_det: expected a positive count, got ", p.max_det));
  if (p.max_nms < 1) throw ModelError(cat(config, ": detector.max_nms: expected a positive count, got ", p.max_nms));
  SelectionParams s;
  s.score_thresh = p.conf_thres;
  s.iou_thresh = p.iou_thres;
  s.max_detections = p.max_det;
  s.suppression = p.agnostic ? Suppression::Agnostic : Suppression::PerClass;
  s = options.apply(s);
  p.conf_thres = s.score_thresh;
  p.iou_thres = s.iou_thresh;
  p.max_det = s.max_detections;
  p.agnostic = s.suppression == Suppression::Agnostic;
  p.suppression = s.suppression;
  p.soft = s.soft;
  return YoloOnnx::load(config, layout, p, options.load);
}

}  // namespace

// The detector registry's entries (detect/detector.cpp).
std::unique_ptr<Detector> load_yolov5_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  return load_yolo(config, weights, options, YoloLayout::V5);
}

std::unique_ptr<Detector> load_yolov8_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  return load_yolo(config, weights, options, YoloLayout::V8);
}

}  // namespace osprey::detect
