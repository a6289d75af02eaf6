#include "detect/softmax_rows.hpp"

#include <algorithm>
#include <cmath>

namespace osprey::detect {

std::vector<float> softmax_rows(std::span<const float> logits, int64_t columns) {
  std::vector<float> out(logits.size());
  for (size_t r = 0; r < logits.size(); r += static_cast<size_t>(columns)) {
    const float* x = logits.data() + r;
    float* s = out.data() + r;
    const float m = *std::max_element(x, x + columns);
    double sum = 0;
    for (int64_t j = 0; j < columns; ++j) sum += s[j] = std::exp(x[j] - m);
    const float inv = 1.0f / static_cast<float>(sum);
    for (int64_t j = 0; j < columns; ++j) s[j] *= inv;
  }
  return out;
}

}  // namespace osprey::detect
