// Writing segmentations the ways users consume them: class-id PNGs (PASCAL VOC's
// SegmentationClass without the palette: grey value = class id), instance-id PNGs (0
// background, k = the k-th detection), and overlays on the photo (class colours from the
// PASCAL VOC colour map, with a legend naming the classes present; instance masks with boxes
// and labels).
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "detect/detections.hpp"
#include "io/detection_output.hpp"

namespace osprey {

// PASCAL VOC's colour map (VOCdevkit's labelcolormap: the bits of the class id spread over
// R, G, B from the high bit down), as BGR. Class 0 is black.
cv::Vec3b voc_colour(int class_id);

// height x width class ids -> an 8-bit grey image (16-bit when an id exceeds 255). Throws
// std::invalid_argument when the sizes disagree or an id is negative.
cv::Mat class_map_image(std::span<const int32_t> classes, int height, int width);

// The photo with every pixel of class > 0 blended with its class colour (`alpha` of the
// colour) and a legend in the top-left corner: a swatch and the name of each class present,
// most frequent first. `names[c]` names class c (ids stand for missing names).
cv::Mat draw_class_overlay(const cv::Mat& image, std::span<const int32_t> classes, const std::vector<std::string>& names,
                           double alpha = 0.5);

// Instance masks (one per detection, each the image's size) -> an 8-bit image (16-bit beyond
// 255 detections): 0 background, k + 1 where detection k's mask is set; where masks overlap the
// earlier (better-scoring) detection keeps the pixel.
cv::Mat instance_map_image(const std::vector<detect::InstanceMask>& masks, int height, int width);

// The photo with each instance's mask blended in its own colour, its outline, and the
// detections' boxes and "label score" tags (draw_detections).
cv::Mat draw_instance_overlay(const cv::Mat& image, const std::vector<detect::InstanceMask>& masks,
                              const std::vector<Detection>& detections, double alpha = 0.5);

}  // namespace osprey
