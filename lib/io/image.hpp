// Reading images from disk (OpenCV's decoders: JPEG, PNG, BMP, PGM/PPM, TIFF, WebP ...).
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "model/config.hpp"

namespace osprey {

// Decodes `path` as 8-bit BGR (or gray for ChannelOrder::Gray). Throws InputError naming
// the file when it is missing, unreadable or not a decodable image.
cv::Mat load_image(const std::string& path, ChannelOrder channels);

}  // namespace osprey
