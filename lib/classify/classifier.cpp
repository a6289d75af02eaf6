#include "classify/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace osprey {

void softmax(float* values, int count) {
  if (count <= 0) return;
  const float max = *std::max_element(values, values + count);
  double sum = 0.0;
  for (int i = 0; i < count; ++i) sum += values[i] = std::exp(values[i] - max);
  for (int i = 0; i < count; ++i) values[i] = static_cast<float>(values[i] / sum);
}

std::vector<ClassScore> top_k(const float* scores, int count, int k) {
  k = std::clamp(k, 0, count);
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  std::vector<ClassScore> best;
  for (int i = 0; i < k; ++i) best.push_back({order[i], scores[order[i]]});
  return best;
}

}  // namespace osprey
