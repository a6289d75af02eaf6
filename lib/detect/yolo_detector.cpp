#include "detect/yolo_detector.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/yolo_decode.hpp"
#include "model/darknet/darknet_model.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"

namespace osprey::detect {

namespace {

constexpr float kPadValue = 0.5f;  // letterbox_image's fill_image(boxed, .5)

// The heads a config's network ends in: from its Darknet cfg (at the config's input size),
// or the YOLO v1 family's detection layer.
std::vector<darknet::Head> heads_of(const std::string& config, const ModelConfig& cfg) {
  if (darknet::is_darknet_cfg(config)) return darknet::build_network(config, cfg.input.height, cfg.input.width).heads;
  const nlohmann::json doc = read_json_file(config);
  const auto& arch = doc.at("architecture");
  if (arch.contains("darknet")) {
    const auto cfg_path = (std::filesystem::path(config).parent_path() / arch["darknet"].get<std::string>()).lexically_normal();
    return darknet::build_network(cfg_path.string(), cfg.input.height, cfg.input.width).heads;
  }
  if (arch.value("family", "") == "yolov1") {
    darknet::Head h;
    h.kind = darknet::Head::Kind::Detection;
    h.where = config;
    h.classes = arch.value("num_classes", 20);
    h.side = arch.value("grid", 7);
    h.num = arch.value("boxes_per_cell", 2);
    h.sqrt = true;
    return {h};
  }
  throw ModelError(cat(config, ": architecture: a yolo detector needs {\"darknet\": FILE.cfg} or the yolov1 family"));
}

}  // namespace

YoloDetector::YoloDetector(std::unique_ptr<Model> model, std::vector<darknet::Head> heads, const YoloParams& params)
    : model_(std::move(model)), heads_(std::move(heads)), params_(params) {}

YoloDetector::~YoloDetector() = default;

std::unique_ptr<YoloDetector> YoloDetector::load(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  LoadOptions load = options.load;  // input.size: the network is built at it
  if (!weights.empty()) load.weights = weights;
  std::unique_ptr<Model> model = Model::load(config, load);
  std::vector<darknet::Head> heads = heads_of(config, model->config());
  if (heads.empty()) throw ModelError(cat(config, ": the network has no [yolo], [region] or [detection] layer: not a detector"));
  YoloParams p;
  p.letterbox = heads.front().kind != darknet::Head::Kind::Detection;
  if (!darknet::is_darknet_cfg(config))
    read_detector_object(config, [&](ObjectReader& d) {
      p.selection.score_thresh = static_cast<float>(d.number("score_thresh", p.selection.score_thresh));
      p.selection.iou_thresh = d.number("iou_thresh", p.selection.iou_thresh);
      p.selection.max_detections = d.integer("max_detections", static_cast<int>(p.selection.max_detections));
      const std::string resize = d.string("resize", p.letterbox ? "letterbox" : "stretch");
      if (resize != "letterbox" && resize != "stretch") d.fail("resize", cat("expected letterbox or stretch, got '", resize, "'"));
      p.letterbox = resize == "letterbox";
      if (p.selection.max_detections < 1) d.fail("max_detections", "expected a positive count");
    });
  p.selection = options.apply(p.selection);
  const ModelConfig& cfg = model->config();
  if (cfg.input.channels != ChannelOrder::RGB) throw ModelError(cat(config, ": a yolo detector needs a 3-channel RGB network input"));
  return std::unique_ptr<YoloDetector>(new YoloDetector(std::move(model), std::move(heads), p));
}

const ModelConfig& YoloDetector::config() const { return model_->config(); }

std::vector<Detections> YoloDetector::decode(const std::vector<Tensor>& outputs) const {
  if (outputs.size() != heads_.size())
    throw std::logic_error(cat("YoloDetector: the network has ", outputs.size(), " outputs for ", heads_.size(), " heads"));
  const int64_t n = outputs.empty() ? 0 : outputs[0].shape.at(0);
  const ModelConfig& cfg = config();
  std::vector<Detections> result;
  for (int64_t i = 0; i < n; ++i) {
    YoloCandidates c;
    for (size_t h = 0; h < heads_.size(); ++h)
      decode_yolo_head(heads_[h], outputs[h], i, cfg.input.height, cfg.input.width, params_.selection.score_thresh, c);
    result.push_back(select_detections(c.boxes, c.scores, c.labels, params_.selection));
  }
  return result;
}

std::vector<Detections> YoloDetector::detect(std::span<const Tensor> images, Trace* trace) {
  if (images.empty()) return {};
  const ModelConfig& cfg = config();
  const int64_t n = static_cast<int64_t>(images.size()), H = cfg.input.height, W = cfg.input.width, plane = 3 * H * W;
  Tensor batch({n, 3, H, W});
  std::vector<Letterbox> boxes;
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& image = images[static_cast<size_t>(i)];
    if (image.shape.size() != 3 || image.shape[0] != 3)
      throw std::invalid_argument(cat("YoloDetector::detect: expected [3, H, W] images, got ", to_string(image.shape)));
    Letterbox box;
    Tensor input;
    if (params_.letterbox) {
      LetterboxedImage lb = letterbox(image, H, W, LetterboxStyle::Darknet, kPadValue);
      input = std::move(lb.image);
      box = lb.box;
    } else {  // stretched: each axis scales on its own
      input = resize_darknet(image, H, W);
      box.scale = static_cast<float>(W) / static_cast<float>(image.shape[2]);
      box.scale_y = static_cast<float>(H) / static_cast<float>(image.shape[1]);
      box.image_height = image.shape[1];
      box.image_width = image.shape[2];
    }
    std::copy(input.data.begin(), input.data.end(), batch.data.begin() + i * plane);
    boxes.push_back(box);
  }
  std::vector<Tensor> outputs = model_->run(batch);
  std::vector<Detections> result = decode(outputs);
  for (int64_t i = 0; i < n; ++i) {
    Detections& d = result[static_cast<size_t>(i)];
    d.boxes = boxes[static_cast<size_t>(i)].to_image(d.boxes);
  }
  if (trace) {
    trace->batch = std::move(batch);
    trace->outputs = std::move(outputs);
    trace->boxes = std::move(boxes);
  }
  return result;
}

// The detector registry's entry (detect/detector.cpp).
std::unique_ptr<Detector> load_yolo_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  return YoloDetector::load(config, weights, options);
}

}  // namespace osprey::detect
