// Classification postprocessing: optional softmax over the logits, then the k best
// classes, highest first (ties: lower class id first).
#pragma once

#include <vector>

namespace osprey {

struct ClassScore {
  int class_id = 0;
  float score = 0.0f;
};

// In place, numerically stable (max subtracted).
void softmax(float* values, int count);

std::vector<ClassScore> top_k(const float* scores, int count, int k);

}  // namespace osprey
