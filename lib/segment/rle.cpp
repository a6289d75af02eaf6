// COCO RLE, following cocoapi's common/maskApi.c step for step (see rle.hpp).
#include "segment/rle.hpp"

#include <algorithm>
#include <stdexcept>

namespace osprey::segment {

Rle rle_encode(std::span<const uint8_t> mask, int64_t height, int64_t width) {
  if (height < 0 || width < 0 || static_cast<int64_t>(mask.size()) != height * width)
    throw std::invalid_argument("rle_encode: expected height * width mask bytes, got " + std::to_string(mask.size()) +
                                " for " + std::to_string(height) + "x" + std::to_string(width));
  Rle rle{height, width, {}};
  uint8_t previous = 0;
  uint32_t run = 0;
  for (int64_t x = 0; x < width; ++x)
    for (int64_t y = 0; y < height; ++y) {
      const uint8_t v = mask[static_cast<size_t>(y * width + x)] ? 1 : 0;
      if (v != previous) {
        rle.counts.push_back(run);
        run = 0;
        previous = v;
      }
      ++run;
    }
  rle.counts.push_back(run);
  return rle;
}

std::vector<uint8_t> rle_decode(const Rle& rle) {
  const uint64_t total = static_cast<uint64_t>(rle.height) * static_cast<uint64_t>(rle.width);
  std::vector<uint8_t> mask(total, 0);
  uint64_t at = 0;  // column-major position
  uint8_t value = 0;
  for (uint32_t run : rle.counts) {
    if (at + run > total) throw std::invalid_argument("rle_decode: the counts cover more than height * width pixels");
    for (uint64_t k = at; k < at + run; ++k) {
      const uint64_t x = k / static_cast<uint64_t>(rle.height), y = k % static_cast<uint64_t>(rle.height);
      mask[y * static_cast<uint64_t>(rle.width) + x] = value;
    }
    at += run;
    value ^= 1;
  }
  return mask;
}

uint64_t rle_area(const Rle& rle) {
  uint64_t area = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

std::array<double, 4> rle_to_bbox(const Rle& rle) {
  // maskApi drops a trailing 0-run, then tracks the first and last pixel of every 1-run; a
  // run that wraps into a later column spans the whole height.
  const size_t m = rle.counts.size() / 2 * 2;
  if (m == 0 || rle.height == 0) return {0, 0, 0, 0};
  const uint64_t h = static_cast<uint64_t>(rle.height);
  uint64_t xs = static_cast<uint64_t>(rle.width), ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (size_t j = 0; j < m; ++j) {
    cc += rle.counts[j];
    const uint64_t t = cc - j % 2;
    const uint64_t y = t % h, x = (t - y) / h;
    if (j % 2 == 0) xp = x;
    else if (xp < x) ys = 0, ye = h - 1;
    xs = std::min(xs, x), xe = std::max(xe, x), ys = std::min(ys, y), ye = std::max(ye, y);
  }
  return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1), static_cast<double>(ye - ys + 1)};
}

std::string rle_to_string(const Rle& rle) {
  std::string s;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2) x -= rle.counts[i - 2];  // delta coding from the third count on
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic shift: negative deltas end at -1
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle rle_from_string(const std::string& counts, int64_t height, int64_t width) {
  Rle rle{height, width, {}};
  size_t p = 0;
  while (p < counts.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= counts.size()) throw std::invalid_argument("rle_from_string: the counts string ends inside a number");
      const int c = counts[p] - 48;
      if (c < 0 || c > 0x3f) throw std::invalid_argument(std::string("rle_from_string: unexpected character '") + counts[p] + "'");
      if (k > 12) throw std::invalid_argument("rle_from_string: a count is too long");
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p, ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(-1) * (int64_t{1} << (5 * k));  // sign-extend
    }
    const size_t m = rle.counts.size();
    if (m > 2) x += rle.counts[m - 2];
    if (x < 0 || x > UINT32_MAX) throw std::invalid_argument("rle_from_string: a count is out of range");
    rle.counts.push_back(static_cast<uint32_t>(x));
  }
  return rle;
}

nlohmann::ordered_json rle_json(const Rle& rle) {
  return {{"size", {rle.height, rle.width}}, {"counts", rle_to_string(rle)}};
}

}  // namespace osprey::segment
