// YOLO v1, v2 and v3 as Darknet runs them (detector.c test_detector, pjreddie/darknet):
// the RGB image in [0, 1] letterboxed to the network size (image.c letterbox_image: Darknet's
// resize_image, grey 0.5 borders; v1 stretches with resize_image instead, as its yolo.c
// did) -> the network -> every head decoded (yolo_decode.hpp) -> per-class NMS (do_nms_sort,
// 0.45) -> boxes mapped back to the image (correct_yolo_boxes / correct_region_boxes).
// The network is a Darknet .cfg (architecture {"darknet": FILE}, or the .cfg itself) with
// .weights or safetensors weights, or the paper's YOLO v1 family (families/yolov1.cpp).
// Config: "detector": {"kind": "yolo", "thresh" (0.25), "nms" (0.45), "max_det" (100),
// "resize" ("letterbox" for v2 / v3, "stretch" for v1)}.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/detector.hpp"
#include "detect/letterbox.hpp"
#include "model/darknet/network.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

struct YoloParams {
  SelectionParams selection = darknet_selection();
  bool letterbox = true;  // else stretch (YOLO v1)

  // Darknet's test defaults: thresh 0.25, nms 0.45 per class; at most 100 detections.
  static SelectionParams darknet_selection() {
    SelectionParams s;
    s.score_thresh = 0.25f;
    s.iou_thresh = 0.45;
    return s;
  }
};

class YoloDetector : public Detector {
 public:
  // `config`: a model config (darknet architecture or yolov1 family) or a bare .cfg;
  // `weights` overrides its weights file when not empty.
  static std::unique_ptr<YoloDetector> load(const std::string& config, const std::string& weights, const DetectorOptions& options = {});
  ~YoloDetector();

  // What detect() computed on the way, for tests.
  struct Trace {
    Tensor batch;                   // the network input
    std::vector<Tensor> outputs;    // the raw head inputs, one per head
    std::vector<Letterbox> boxes;   // per image: network pixels -> image pixels
  };

  std::vector<Detections> detect(std::span<const Tensor> images) override { return detect(images, nullptr); }
  std::vector<Detections> detect(std::span<const Tensor> images, Trace* trace);
  // The decoding alone: head outputs of a batch -> detections in network pixels per image.
  std::vector<Detections> decode(const std::vector<Tensor>& outputs) const;

  const ModelConfig& config() const override;
  const std::vector<darknet::Head>& heads() const { return heads_; }
  const YoloParams& params() const { return params_; }

 private:
  YoloDetector(std::unique_ptr<Model> model, std::vector<darknet::Head> heads, const YoloParams& params);

  std::unique_ptr<Model> model_;
  std::vector<darknet::Head> heads_;
  YoloParams params_;
};

}  // namespace osprey::detect
