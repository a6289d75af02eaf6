#include "io/image.hpp"

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "core/error.hpp"

namespace osprey {

cv::Mat load_image(const std::string& path, ChannelOrder channels) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(cat(path, ": no such file"));
  if (std::filesystem::is_directory(path, ec)) throw InputError(cat(path, ": is a directory"));
  const int flags = channels == ChannelOrder::Gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  cv::Mat image;
  try {
    image = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    throw InputError(cat(path, ": cannot decode image (", e.err, ")"));
  }
  if (image.empty()) throw InputError(cat(path, ": cannot decode image (corrupt or unsupported format)"));
  return image;
}

}  // namespace osprey
