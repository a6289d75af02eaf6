// Turns a decoded image into the network's input: resize (stretch, or shorter side +
// centre crop as torchvision's Resize + CenterCrop), channel order, scale, mean/std,
// written as planar CHW floats into one slot of a batch tensor.
#pragma once

#include <opencv2/core.hpp>

#include "model/config.hpp"

namespace osprey {

// `image` is 8-bit BGR or gray as load_image returns it; `dst` points at C*H*W floats.
void preprocess(const cv::Mat& image, const InputSpec& spec, float* dst);

}  // namespace osprey
