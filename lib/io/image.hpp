// Reading images from disk (OpenCV's decoders: JPEG, PNG, BMP, PGM/PPM, TIFF, WebP ...)
// and turning them into the float tensors detectors and segmenters take.
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "core/tensor.hpp"
#include "model/config.hpp"

namespace osprey {

// Decodes `path` as 8-bit BGR (or gray for ChannelOrder::Gray). Throws InputError naming
// the file when it is missing, unreadable or not a decodable image.
cv::Mat load_image(const std::string& path, ChannelOrder channels);

// 8-bit BGR -> float32 [3, H, W] RGB in [0, 1]: the input of detectors and segmenters,
// which resize and normalise it themselves (as torchvision's models take a [0, 1] image).
Tensor rgb_tensor(const cv::Mat& bgr);

}  // namespace osprey
