// YOLOv5 / YOLOv8 ONNX exports (Ultralytics' `export format=onnx`, without NMS) run as
// Ultralytics' predictors run them:
//   LetterBox (ultralytics/data/augment.py, auto=False, pad 114) of the RGB image / 255 to
//   the network size -> the network -> non_max_suppression -> scale_boxes to the image.
// The two head layouts and their non_max_suppression:
//   - yolov5 ([N, boxes, 5 + C]: cx, cy, w, h, objectness, class scores; YOLOv5's
//     utils/general.py non_max_suppression): candidates with objectness > conf, class
//     scores times objectness, best class per box, its score > conf.
//   - yolov8 ([N, 4 + C, boxes], no objectness; ultralytics/utils/ops.py
//     non_max_suppression): candidates whose best class score > conf.
// Then (both): at most max_nms candidates by decreasing score, one torchvision.ops.nms over
// boxes offset by class * 7680 (0 when agnostic), the first max_det kept.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/detector.hpp"
#include "detect/letterbox.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

enum class YoloLayout { V5, V8 };

struct YoloNmsParams {
  float conf_thres = 0.25f;
  double iou_thres = 0.45;  // yolov5 (Ultralytics' predict default for v8: 0.7)
  int64_t max_det = 300;
  int64_t max_nms = 30000;
  bool agnostic = false;
  Suppression suppression = Suppression::PerClass;  // Soft: select_detections' soft-NMS per class
  SoftNmsParams soft;
};

// Ultralytics' non_max_suppression of one image's head output, in network-input pixels.
// `prediction`: [boxes, 5 + C] (V5) or [4 + C, boxes] (V8), row-major; `num_classes` of the
// channels are class scores (more channels, e.g. mask coefficients, are ignored).
Detections yolo_non_max_suppression(std::span<const float> prediction, int64_t boxes, int64_t channels,
                                    int64_t num_classes, YoloLayout layout, const YoloNmsParams& params);

class YoloOnnx : public Detector {
 public:
  // `config`: a config whose architecture is {"onnx": ...}; `params` as decided by the loader;
  // `overrides`: input.size (the letterbox's network size) and labels over the config's.
  static std::unique_ptr<YoloOnnx> load(const std::string& config, YoloLayout layout, const YoloNmsParams& params,
                                        const LoadOptions& overrides = {});
  ~YoloOnnx() override;

  std::vector<Detections> detect(std::span<const Tensor> images) override;
  const ModelConfig& config() const override;

  int64_t input_height() const { return height_; }
  int64_t input_width() const { return width_; }

 private:
  YoloOnnx(std::unique_ptr<Model> model, YoloLayout layout, const YoloNmsParams& params, int64_t height, int64_t width);

  std::unique_ptr<Model> model_;
  YoloLayout layout_;
  YoloNmsParams params_;
  int64_t height_, width_;
};

}  // namespace osprey::detect
