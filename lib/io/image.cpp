#include "io/image.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/error.hpp"

namespace osprey {

namespace {

// libpng and libjpeg print their own warnings on stderr for broken files; Osprey reports
// each bad file in one line of its own, so their chatter is silenced while decoding.
class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
  }

 private:
  int saved_ = -1;
};

}  // namespace

cv::Mat load_image(const std::string& path, ChannelOrder channels) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(cat(path, ": no such file"));
  if (std::filesystem::is_directory(path, ec)) throw InputError(cat(path, ": is a directory"));
  const int flags = channels == ChannelOrder::Gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::Mat image;
  QuietStderr quiet;
  try {
    image = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    throw InputError(cat(path, ": cannot decode image (", e.err, ")"));
  }
  if (image.empty()) throw InputError(cat(path, ": cannot decode image (corrupt or unsupported format)"));
  return image;
}

Tensor rgb_tensor(const cv::Mat& bgr) {
  Tensor t(Shape{3, bgr.rows, bgr.cols});
  const size_t plane = static_cast<size_t>(bgr.rows) * bgr.cols;
  for (int y = 0; y < bgr.rows; ++y) {
    const uint8_t* row = bgr.ptr<uint8_t>(y);
    for (int x = 0; x < bgr.cols; ++x)
      for (int c = 0; c < 3; ++c) t.data[c * plane + static_cast<size_t>(y) * bgr.cols + x] = row[x * 3 + (2 - c)] / 255.0f;
  }
  return t;
}

}  // namespace osprey
