#include "detect/detector.hpp"

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
};

const std::vector<DetectorKind>& kinds() {
  static const std::vector<DetectorKind> table{
      {"faster_rcnn",
       {"fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_vgg16"},
       load_faster_rcnn_detector},
      {"nanodet", {}, load_nanodet_detector},
      {"centernet", {}, load_centernet_detector},
      {"ssd", {"ssd300_vgg16", "ssd512_vgg16", "ssdlite320_mobilenet_v3_large"}, load_ssd_detector},
      {"yolov5", {}, load_yolov5_detector},
      {"yolov8", {}, load_yolov8_detector},
      {"db_text", {}, load_db_text_detector},
      {"mask_rcnn", {"maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"}, load_mask_rcnn_detector},
      {"blazeface", {}, load_blazeface_detector},
      {"yolo", {"yolov1"}, load_yolo_detector},  // Darknet YOLO v1 / v2 / v3
  };
  return table;
}

std::string known_kinds() {
  std::string known;
  for (const auto& k : kinds()) known += (known.empty() ? "" : ", ") + std::string(k.kind);
  return known;
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

std::unique_ptr<Detector> load_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  if (config.ends_with(".cfg")) return load_yolo_detector(config, weights, options);  // a bare Darknet cfg
  const nlohmann::json doc = read_json_file(config);
  if (!doc.is_object()) throw ModelError(cat(config, ": expected a JSON object"));
  std::string kind;
  if (doc.contains("detector")) {
    const auto& d = doc["detector"];
    if (!d.is_object() || !d.contains("kind") || !d["kind"].is_string())
      throw ModelError(cat(config, ": detector: expected an object with a \"kind\" string (", known_kinds(), ")"));
    kind = d["kind"].get<std::string>();
  } else {
    std::string family;
    if (doc.contains("architecture") && doc["architecture"].is_object() && doc["architecture"].contains("family") &&
        doc["architecture"]["family"].is_string())
      family = doc["architecture"]["family"].get<std::string>();
    for (const auto& k : kinds())
      for (const auto& f : k.families)
        if (f == family) kind = k.kind;
    if (kind.empty())
      throw ModelError(cat(config, ": not a detector: its family '", family, "' implies no detector and it has no \"detector\" object (kinds: ",
                           known_kinds(), ")"));
  }
  for (const auto& k : kinds())
    if (kind == k.kind) return k.load(config, weights, options);
  throw ModelError(cat(config, ": detector.kind: unknown kind '", kind, "' (known: ", known_kinds(), ")"));
}

}  // namespace osprey::detect
