// The network input of the TF.js detectors that stretch their image; see stretched_input.hpp.
#include "detect/stretched_input.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "detect/transform.hpp"

namespace osprey::detect {

Tensor stretched_input(const Tensor& image, const InputSpec& spec) {
  if (image.shape.size() != 3 || image.shape[0] != 3)
    throw std::invalid_argument(cat("expected an image [3, H, W], got ", to_string(image.shape)));
  const Tensor resized = resize_bilinear(image, spec.height, spec.width);
  const int64_t plane = static_cast<int64_t>(spec.height) * spec.width;
  const int channels = spec.channel_count();
  Tensor out(Shape{1, channels, spec.height, spec.width});
  for (int c = 0; c < channels; ++c) {
    const float scale = 255.0f * spec.scale / spec.std[static_cast<size_t>(c)];
    const float offset = spec.mean[static_cast<size_t>(c)] / spec.std[static_cast<size_t>(c)];
    float* dst = out.data.data() + c * plane;
    if (spec.channels == ChannelOrder::Gray) {
      for (int64_t k = 0; k < plane; ++k)
        dst[k] = (0.299f * resized.data[static_cast<size_t>(k)] + 0.587f * resized.data[static_cast<size_t>(plane + k)] +
                  0.114f * resized.data[static_cast<size_t>(2 * plane + k)]) * scale - offset;
      continue;
    }
    const int64_t from = spec.channels == ChannelOrder::BGR ? 2 - c : c;
    const float* src = resized.data.data() + from * plane;
    for (int64_t k = 0; k < plane; ++k) dst[k] = src[k] * scale - offset;
  }
  return out;
}

}  // namespace osprey::detect
