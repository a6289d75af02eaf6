#include "detect/detector.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"

namespace osprey::detect {

using DetectorLoader = std::unique_ptr<Detector> (*)(const std::string& config, const std::string& weights,
                                                     const DetectorOptions& options);

// Each detector kind's loader lives beside its pipeline.
std::unique_ptr<Detector> load_faster_rcnn_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_nanodet_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_centernet_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_yolov5_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_yolov8_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_db_text_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_mask_rcnn_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_ssd_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_blazeface_detector(const std::string&, const std::string&, const DetectorOptions&);
std::unique_ptr<Detector> load_yolo_detector(const std::string&, const std::string&, const DetectorOptions&);

namespace {

struct DetectorKind {
  const char* kind;
  std::vector<std::string> families;  // architecture families that imply this kind
  DetectorLoader load;
  // The "input" keys its pipeline reads from config().input, so that overriding them (the
  // tools' preprocessing flags) changes what it does; overriding any other is refused.
  std::vector<std::string> input_keys;
};

// What the stretched TF.js detectors (NanoDet, CenterNet, BlazeFace) read: stretched_input's
// size, channel order and normalisation.
const std::vector<std::string> kStretchedInput{"size", "channels", "scale", "mean", "std"};

const std::vector<DetectorKind>& kinds() {
  static const std::vector<DetectorKind> table{
      // R-CNN and SSD size and normalise images by their architecture (min_size/max_size,
      // image_mean/image_std); DB text sizes each image by detector.limit_side_len.
      {"faster_rcnn",
       {"fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_vgg16"},
       load_faster_rcnn_detector, {}},
      {"nanodet", {}, load_nanodet_detector, kStretchedInput},
      {"centernet", {}, load_centernet_detector, kStretchedInput},
      {"ssd", {"ssd300_vgg16", "ssd512_vgg16", "ssdlite320_mobilenet_v3_large"}, load_ssd_detector, {}},
      {"yolov5", {}, load_yolov5_detector, {"size"}},  // the letterbox's network size
      {"yolov8", {}, load_yolov8_detector, {"size"}},
      {"db_text", {}, load_db_text_detector, {}},
      {"mask_rcnn", {"maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"}, load_mask_rcnn_detector, {}},
      {"blazeface", {}, load_blazeface_detector, kStretchedInput},
      {"yolo", {"yolov1"}, load_yolo_detector, {"size"}},  // Darknet YOLO v1 / v2 / v3: the network is built at it
  };
  return table;
}

std::string known_kinds() {
  std::string known;
  for (const auto& k : kinds()) known += (known.empty() ? "" : ", ") + std::string(k.kind);
  return known;
}

// The tools' flag for an "input" key (CommonOptions::load_options writes them).
std::string flag_of_input_key(const std::string& key) {
  if (key == "size") return "--input-size";
  if (key == "resize_shorter") return "--resize-shorter";
  return "--" + key;
}

// Refuses an "input" override the kind would ignore, naming the flag and the kind.
void check_input_overrides(const std::string& config, const DetectorKind& k, const std::string& input_json) {
  if (input_json.empty()) return;
  const nlohmann::json input = nlohmann::json::parse(input_json);
  if (!input.is_object()) throw std::invalid_argument(cat("LoadOptions::input_json: expected a JSON object, got ", input_json));
  std::string used;
  for (const auto& key : k.input_keys) used += (used.empty() ? "" : ", ") + flag_of_input_key(key);
  for (const auto& [key, value] : input.items())
    if (std::find(k.input_keys.begin(), k.input_keys.end(), key) == k.input_keys.end())
      throw ModelError(cat(flag_of_input_key(key), ": the ", k.kind, " detector (", config, ") does not use input.", key,
                           used.empty() ? " (it takes none of the preprocessing flags: its architecture and \"detector\" object fix its input)"
                                        : cat(" (of the preprocessing flags it takes only ", used, ")")));
}

// The kind a config's "detector" object names, else the one its architecture family implies.
std::string kind_of(const std::string& config, const nlohmann::json& doc) {
  if (doc.contains("detector")) {
    const auto& d = doc["detector"];
    if (!d.is_object() || !d.contains("kind") || !d["kind"].is_string())
      throw ModelError(cat(config, ": detector: expected an object with a \"kind\" string (", known_kinds(), ")"));
    return d["kind"].get<std::string>();
  }
  std::string family;
  if (doc.contains("architecture") && doc["architecture"].is_object() && doc["architecture"].contains("family") &&
      doc["architecture"]["family"].is_string())
    family = doc["architecture"]["family"].get<std::string>();
  for (const auto& k : kinds())
    for (const auto& f : k.families)
      if (f == family) return k.kind;
  throw ModelError(cat(config, ": not a detector: its family '", family, "' implies no detector and it has no \"detector\" object (kinds: ",
                       known_kinds(), ")"));
}

}  // namespace

SelectionParams DetectorOptions::apply(SelectionParams p) const {
  if (score_thresh) p.score_thresh = *score_thresh;
  if (iou_thresh) p.iou_thresh = *iou_thresh;
  if (max_detections) p.max_detections = *max_detections;
  if (suppression) p.suppression = *suppression;
  p.soft = soft;
  return p;
}

std::vector<Detections> Detector::detect(std::span<const Tensor>, std::span<const std::vector<Box>>) {
  throw ModelError(cat("'", config().name, "' does not take proposals (only two-stage detectors do)"));
}

bool read_detector_object(const std::string& config, const std::function<void(ObjectReader&)>& read) {
  const nlohmann::json doc = read_json_file(config);
  ObjectReader top(doc, config);
  if (!top.has("detector")) return false;
  ObjectReader d = top.object("detector");
  d.string("kind");
  read(d);
  d.finish();
  return true;
}

std::vector<std::string> detector_kinds() {
  std::vector<std::string> out;
  for (const auto& k : kinds()) out.emplace_back(k.kind);
  return out;
}

std::unique_ptr<Detector> load_detector(const std::string& config, const std::string& weights, const DetectorOptions& given) {
  DetectorOptions options = given;
  if (!weights.empty()) options.load.weights = weights;
  std::string kind = "yolo";  // a bare Darknet cfg
  if (!config.ends_with(".cfg")) {
    const nlohmann::json doc = read_json_file(config);
    if (!doc.is_object()) throw ModelError(cat(config, ": expected a JSON object"));
    kind = kind_of(config, doc);
  }
  for (const auto& k : kinds())
    if (kind == k.kind) {
      check_input_overrides(config, k, options.load.input_json);
      return k.load(config, options.load.weights, options);
    }
  throw ModelError(cat(config, ": detector.kind: unknown kind '", kind, "' (known: ", known_kinds(), ")"));
}

}  // namespace osprey::detect
