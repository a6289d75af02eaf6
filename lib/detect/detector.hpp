// The detector interface osprey-detect and osprey-segment drive, whatever the model: two-stage
// (Faster / Mask R-CNN), single-shot (SSD, YOLO), anchor-free (ONNX exports of YOLOv5/v8,
// NanoDet, CenterNet). A config chooses its detector by its "detector" object's "kind", or,
// without one, by its architecture family (fasterrcnn_* -> "faster_rcnn", ...).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "detect/detections.hpp"
#include "model/model.hpp"

namespace osprey {
class ObjectReader;
}

namespace osprey::detect {

// Postprocessing a user tunes on the command line. What is not set keeps the model's own
// default (its config's "detector" object, else its family's: torchvision's for R-CNN and
// SSD, Ultralytics' for YOLO).
struct DetectorOptions {
  std::optional<float> score_thresh;
  std::optional<double> iou_thresh;
  std::optional<int64_t> max_detections;
  std::optional<Suppression> suppression;
  SoftNmsParams soft;
  // What the tools' --weights, preprocessing flags and --labels override at load. Each kind
  // uses only the "input" keys it declares (detector.cpp's table); load_detector refuses
  // the others with a ModelError naming the flag and the kind.
  LoadOptions load;

  // `defaults` with what is set here applied.
  SelectionParams apply(SelectionParams defaults) const;
};

class Detector {
 public:
  virtual ~Detector() = default;

  // `images`: float32 [3, H, W], RGB in [0, 1], any sizes. Boxes (and masks, keypoints) are
  // in each image's own pixels; labels index config().labels.
  virtual std::vector<Detections> detect(std::span<const Tensor> images) = 0;

  // Fast R-CNN: classify and refine given proposals (one list per image, image pixels)
  // instead of the detector's own. Only two-stage detectors accept them.
  virtual bool accepts_proposals() const { return false; }
  virtual std::vector<Detections> detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals);

  virtual const ModelConfig& config() const = 0;
};

// Loads the detector a config describes; `weights` (when not empty) overrides its weights
// file (as options.load.weights does). Throws ModelError naming the config when it
// describes no detector, or naming the flag when options.load.input_json sets an "input"
// key the kind does not use.
std::unique_ptr<Detector> load_detector(const std::string& config, const std::string& weights = "",
                                        const DetectorOptions& options = {});

// Reads the config's "detector" object strictly, for a kind's loader: `read` gets its reader
// ("kind" already read) to take the kind's keys and check their values; a key it leaves
// unread is then a ModelError naming the config and the key. Returns false, calling
// nothing, when the config has no "detector" object (its family implied the kind).
bool read_detector_object(const std::string& config, const std::function<void(ObjectReader&)>& read);

// The detector kinds load_detector knows, for messages.
std::vector<std::string> detector_kinds();

}  // namespace osprey::detect
