// F.softmax(x, dim=-1) over the rows of a row-major [rows, columns] matrix, in the order of
// operations of ATen's CPU last-dim kernel: exp(x - row max), summed, then multiplied by
// 1 / sum. The class scores of the R-CNN box head and of SSD come out as torchvision's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace osprey::detect {

std::vector<float> softmax_rows(std::span<const float> logits, int64_t columns);

}  // namespace osprey::detect
