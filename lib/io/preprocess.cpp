#include "io/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"

namespace osprey {

namespace {

// Area averaging when shrinking (close to PIL's antialiased bilinear that torchvision
// uses), bilinear when enlarging.
cv::Mat resized(const cv::Mat& image, int width, int height) {
  if (image.cols == width && image.rows == height) return image;
  const bool shrinking = width < image.cols && height < image.rows;
  cv::Mat out;
  cv::resize(image, out, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace

void preprocess(const cv::Mat& image, const InputSpec& spec, float* dst) {
  cv::Mat img;
  if (spec.resize == ResizeMode::Stretch) {
    img = resized(image, spec.width, spec.height);
  } else {
    // torchvision Resize(int): the shorter side becomes `resize_shorter`, the longer one
    // int(size * long / short); then CenterCrop rounds the offsets.
    const bool portrait = image.cols <= image.rows;
    const int shorter = spec.resize_shorter;
    const int longer = static_cast<int>(static_cast<int64_t>(shorter) * (portrait ? image.rows : image.cols) /
                                        (portrait ? image.cols : image.rows));
    const int w = portrait ? shorter : longer, h = portrait ? longer : shorter;
    img = resized(image, w, h);
    const int top = static_cast<int>(std::lround((h - spec.height) / 2.0));
    const int left = static_cast<int>(std::lround((w - spec.width) / 2.0));
    img = img(cv::Rect(left, top, spec.width, spec.height));
  }
  const int channels = spec.channel_count();
  if (img.channels() != channels) throw InputError("image has the wrong number of channels");
  const int plane = spec.width * spec.height;
  // torchvision's ToTensor divides by 255 and Normalize divides by std: do the same float
  // operations (not a multiply by the reciprocal) so inputs match bit for bit.
  const bool by_255 = spec.scale == 1.0f / 255.0f;
  float table[256];
  for (int c = 0; c < channels; ++c) {
    for (int p = 0; p < 256; ++p) {
      const float v = by_255 ? static_cast<float>(p) / 255.0f : static_cast<float>(p) * spec.scale;
      table[p] = (v - spec.mean[c]) / spec.std[c];
    }
    // OpenCV decodes BGR; RGB models read channel 2 first.
    const int src_c = (spec.channels == ChannelOrder::RGB) ? 2 - c : c;
    float* out = dst + static_cast<size_t>(c) * plane;
    for (int y = 0; y < spec.height; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      for (int x = 0; x < spec.width; ++x) out[y * spec.width + x] = table[row[x * channels + src_c]];
    }
  }
}

}  // namespace osprey
