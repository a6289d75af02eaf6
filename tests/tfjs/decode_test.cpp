// NanoDet's and CenterNet's decoders on hand-made head outputs: where a box lands, which
// cells count, how the scores are thresholded.
#include <doctest/doctest.h>

#include <cmath>

#include "detect/centernet.hpp"
#include "detect/nanodet.hpp"

using namespace osprey;
using namespace osprey::detect;

TEST_CASE("nanodet decodes the softmax expectation of each side from the cell centre") {
  // One level, stride 8, a 32x32 input: a 4x4 grid, 2 classes, reg_max 3 (4 bins).
  NanoDetParams p;
  p.strides = {8};
  p.reg_max = 3;
  Tensor scores(Shape{1, 16, 2});
  Tensor dist(Shape{1, 16, 16});
  for (auto& v : dist.data) v = -30.0f;  // all bins ~0 probability ...
  // ... except cell 6 (x 2, y 1): left bin 1, top bin 2, right bin 3, bottom: bins 0 and 2 equally.
  const int cell = 6;
  auto bin = [&](int side, int b) -> float& { return dist.data[static_cast<size_t>((cell * 4 + side) * 4 + b)]; };
  bin(0, 1) = 10;
  bin(1, 2) = 10;
  bin(2, 3) = 10;
  bin(3, 0) = 10;
  bin(3, 2) = 10;
  scores.data[cell * 2 + 1] = 0.9f;
  scores.data[cell * 2 + 0] = 0.2f;  // below the threshold
  scores.data[3 * 2 + 0] = 0.3f;     // below the threshold
  const Candidates c = nanodet_candidates(std::span(&scores, 1), std::span(&dist, 1), 32, 32, p);
  REQUIRE(c.boxes.size() == 1);
  CHECK(c.labels[0] == 1);
  CHECK(c.scores[0] == doctest::Approx(0.9f));
  // Centre (2.5 * 8, 1.5 * 8) = (20, 12); sides 1, 2, 3, 1 bins of 8 px; clipped to 32.
  CHECK(c.boxes[0].x1 == doctest::Approx(12.0f).epsilon(1e-4));
  CHECK(c.boxes[0].y1 == doctest::Approx(0.0f).epsilon(1e-4));  // 12 - 16 clipped
  CHECK(c.boxes[0].x2 == doctest::Approx(32.0f).epsilon(1e-4));  // 20 + 24 clipped
  CHECK(c.boxes[0].y2 == doctest::Approx(20.0f).epsilon(1e-4));
}

TEST_CASE("centernet keeps 3x3 peaks and boxes them from the cell corner") {
  CenterNetParams p;
  p.select.score_thresh = 0.3f;
  Tensor heat(Shape{1, 4, 4, 2});
  Tensor wh(Shape{1, 4, 4, 4});
  auto h = [&](int y, int x, int c) -> float& { return heat.data[static_cast<size_t>((y * 4 + x) * 2 + c)]; };
  h(1, 1, 0) = 0.8f;  // a peak
  h(1, 2, 0) = 0.7f;  // its neighbour: not a peak
  h(3, 3, 0) = 0.5f;  // a peak in the corner
  h(1, 2, 1) = 0.6f;  // class 1 peaks independently of class 0
  h(0, 0, 1) = 0.2f;  // a peak below the threshold
  for (int k = 0; k < 4; ++k) wh.data[static_cast<size_t>((1 * 4 + 1) * 4 + k)] = static_cast<float>(k + 1);
  const Candidates c = centernet_candidates(heat, wh, p);
  REQUIRE(c.boxes.size() == 3);
  CHECK(c.scores[0] == doctest::Approx(0.8f));
  CHECK(c.labels[0] == 0);
  // Cell (x 1, y 1) at stride 4 -> (4, 4); l, t, r, b = 1, 2, 3, 4.
  CHECK(c.boxes[0].x1 == 3.0f);
  CHECK(c.boxes[0].y1 == 2.0f);
  CHECK(c.boxes[0].x2 == 7.0f);
  CHECK(c.boxes[0].y2 == 8.0f);
  CHECK(c.labels[1] == 1);
  CHECK(c.scores[1] == doctest::Approx(0.6f));
  CHECK(c.scores[2] == doctest::Approx(0.5f));
  p.top_k = 2;
  CHECK(centernet_candidates(heat, wh, p).boxes.size() == 2);
}
