// Rounding for human-readable output: the double nearest to the value rounded to a number
// of decimals, so that JSON writers print its short form (0.07618, not 0.07618000000000001,
// which multiplying and dividing by 10^k gives).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace osprey {

inline double round_decimals(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return std::strtod(text, nullptr);
}

}  // namespace osprey
