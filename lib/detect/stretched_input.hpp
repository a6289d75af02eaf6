// The network input of detectors that stretch the whole image to their input size (NanoDet,
// CenterNet, BlazeFace as TF.js ships them): torch's bilinear resize (resize_bilinear,
// half-pixel centres), then the config's input normalisation (lib/model InputSpec:
// channel order, 8-bit pixel * scale, (x - mean) / std).
#pragma once

#include "core/tensor.hpp"
#include "model/config.hpp"

namespace osprey::detect {

// An image (float32 [3, H, W], RGB in [0, 1]) stretched to the network input and
// normalised as `spec` says. Returns [1, C, spec.height, spec.width].
Tensor stretched_input(const Tensor& image, const InputSpec& spec);

}  // namespace osprey::detect
