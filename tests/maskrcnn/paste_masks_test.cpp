// paste_masks_in_image against torchvision 0.14's (roi_heads.paste_masks_in_image, the eval
// path) on synthetic masks and boxes: inside the image, partly outside on every side, around
// it, under a pixel, zero width; 28 x 28 masks into 57 x 83 and 14 x 14 into 300 x 400.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "detect/paste_masks.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

TEST_CASE("paste_masks_in_image matches torchvision on synthetic masks and boxes") {
  for (const MaskCase& c : mask_cases_of("paste_masks")) {
    CAPTURE(c.name);
    const Tensor masks = c.array("masks");
    const std::vector<Box> boxes = c.boxes("boxes");
    const Tensor want = c.array("pasted");
    const ImageSize image{c.params.at("height").get<int64_t>(), c.params.at("width").get<int64_t>()};
    const Tensor got = paste_masks_in_image(masks, boxes, image);
    REQUIRE(got.shape == want.shape);
    double err = 0;
    int64_t flips = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
      err = std::max(err, std::abs(double(got.data[i]) - double(want.data[i])));
      flips += (got.data[i] > 0.5f) != (want.data[i] > 0.5f);
    }
    MESSAGE(c.name, ": ", boxes.size(), " masks into ", image.height, "x", image.width, ", max abs error ", err, ", ", flips,
            " pixels on the other side of 0.5");
    // The same float32 arithmetic as torch's CPU kernels: equal up to rounding.
    CHECK(err <= 1e-6);
    CHECK(flips == 0);
  }
}

TEST_CASE("expand_box scales about the centre and truncates toward zero") {
  const PixelBox b = expand_box({10.0f, 20.0f, 38.0f, 48.0f}, 16.0f / 14.0f);  // 28 px -> 32 px
  CHECK(b.x1 == 8);
  CHECK(b.y1 == 18);
  CHECK(b.x2 == 40);
  CHECK(b.y2 == 50);
  const PixelBox n = expand_box({-3.0f, -0.5f, 1.0f, 0.2f}, 1.0f);
  CHECK(n.x1 == -3);
  CHECK(n.y1 == 0);  // -0.5 truncates to 0, as int64 conversion does
}

TEST_CASE("paste_masks_in_image rejects malformed arguments") {
  const Tensor masks({2, 28, 28});
  const std::vector<Box> one{{0, 0, 5, 5}};
  CHECK_THROWS_AS(paste_masks_in_image(masks, one, {10, 10}), std::invalid_argument);
  CHECK_THROWS_AS(paste_masks_in_image(Tensor({2, 28, 27}), std::vector<Box>(2), {10, 10}), std::invalid_argument);
  CHECK_THROWS_AS(paste_masks_in_image(masks, std::vector<Box>(2), {0, 10}), std::invalid_argument);
  // Empty input: an empty result of the image's size.
  const Tensor none = paste_masks_in_image(Tensor({0, 28, 28}), {}, {7, 9});
  CHECK(none.shape == Shape{0, 7, 9});
}
