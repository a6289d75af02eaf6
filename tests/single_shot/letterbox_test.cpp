// Letterboxing against re-implementations of Ultralytics' LetterBox (F.interpolate bilinear,
// which is cv2.resize INTER_LINEAR on float input) and Darknet's letterbox_image
// (resize_image's two passes in float32), on two photos and two network sizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "detect/letterbox.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::single_shot::test;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape == b.shape);
  float m = 0;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

}  // namespace

TEST_CASE("letterbox matches Ultralytics and Darknet on photos") {
  for (const auto& c : ref_case("letterbox").at("images")) {
    const Tensor image = ref_array(c.at("image"));
    const int64_t h = c.at("size")[0], w = c.at("size")[1];
    CAPTURE(c.at("name").get<std::string>());
    CAPTURE(h);
    CAPTURE(w);
    const LetterboxedImage u = letterbox(image, h, w, LetterboxStyle::Ultralytics, 114.0f / 255.0f);
    // Tolerance: float32 rounding of the bilinear blend, well below one 8-bit level.
    CHECK(max_abs_diff(u.image, ref_array(c.at("ultralytics"))) <= 1e-6f);
    const LetterboxedImage d = letterbox(image, h, w, LetterboxStyle::Darknet, 0.5f);
    CHECK(max_abs_diff(d.image, ref_array(c.at("darknet"))) <= 1e-6f);
  }
}

TEST_CASE("letterbox maps boxes back as scale_boxes and correct_yolo_boxes") {
  // 768x576 into 416x416: r = 416 / 768, unpadded 416x312, pads 52 top / bottom.
  const Tensor image({3, 576, 768});
  const LetterboxedImage u = letterbox(image, 416, 416, LetterboxStyle::Ultralytics, 0.5f);
  CHECK(u.box.pad_left == 0);
  CHECK(u.box.pad_top == 52);
  const Box b = u.box.to_image(Box{0, 52, 416, 364});
  CHECK(b.x1 == doctest::Approx(0).epsilon(1e-6));
  CHECK(b.y1 == doctest::Approx(0).epsilon(1e-6));
  CHECK(b.x2 == doctest::Approx(768).epsilon(1e-6));
  CHECK(b.y2 == doctest::Approx(576).epsilon(1e-6));
  // Outside the image: clipped.
  const Box o = u.box.to_image(Box{-10, 0, 500, 416});
  CHECK(o.x1 == 0);
  CHECK(o.y1 == 0);
  CHECK(o.x2 == 768);
  CHECK(o.y2 == 576);
  // Darknet: new size 416x312 ((576 * 416) / 768), pads (416 - 312) / 2 = 52.
  const LetterboxedImage d = letterbox(image, 416, 416, LetterboxStyle::Darknet, 0.5f);
  CHECK(d.box.pad_top == 52);
  CHECK(d.box.scale_y == doctest::Approx(312.0 / 576.0));
  CHECK(d.image.data[0] == 0.5f);  // the canvas above the image
  CHECK_THROWS_AS(letterbox(Tensor({3, 0, 4}), 416, 416, LetterboxStyle::Darknet, 0.5f), std::invalid_argument);
}
