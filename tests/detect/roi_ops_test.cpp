// RoIAlign, RoIPool, FPN level mapping and MultiScaleRoIAlign against torchvision
// (features uniform in [0, 1): 1e-5 absolute), hand-computed cases on a 5x5 arange map and
// detectron2's scale property (tests/layers/test_roi_align.py): with aligned = true, pooling
// a 2x smaller map with halved boxes gives the same values.
#include <numeric>

#include "detect/roi_ops.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

Tensor arange_map(int64_t h, int64_t w) {
  std::vector<float> data(static_cast<size_t>(h * w));
  std::iota(data.begin(), data.end(), 0.0f);
  return Tensor({1, 1, h, w}, std::move(data));
}

Tensor one_roi(float x1, float y1, float x2, float y2) { return Tensor({1, 5}, {0, x1, y1, x2, y2}); }

std::vector<float> align(const Tensor& f, const Tensor& rois, int64_t oh, int64_t ow, float scale, int sr, bool aligned) {
  return roi_align(f, rois, {oh, ow, scale, sr, aligned}).data;
}

}  // namespace

TEST_CASE("roi_align matches torchvision") {
  for (const Case& c : cases_of("roi_align")) {
    CAPTURE(c.name);
    const auto out = c.params["output"].get<std::vector<int64_t>>();
    const RoiAlignParams p{out[0], out[1], c.params["spatial_scale"].get<float>(), c.params["sampling_ratio"].get<int>(),
                           c.params["aligned"].get<bool>()};
    const Tensor want = c.array("out");
    const Tensor got = roi_align(c.array("features"), c.array("rois"), p);
    CHECK(got.shape == want.shape);
    const double err = max_abs_error(got.data, want.data);
    MESSAGE(c.name, ": max abs error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("roi_pool matches torchvision") {
  for (const Case& c : cases_of("roi_pool")) {
    CAPTURE(c.name);
    const auto out = c.params["output"].get<std::vector<int64_t>>();
    const Tensor want = c.array("out");
    const Tensor got = roi_pool(c.array("features"), c.array("rois"), out[0], out[1], c.params["spatial_scale"]);
    CHECK(got.shape == want.shape);
    CHECK(got.data == want.data);  // a max of input values: exact
  }
}

TEST_CASE("LevelMapper matches torchvision") {
  const Case c = cases_of("level_mapper").at(0);
  LevelMapper mapper;
  mapper.k_min = c.params["k_min"];
  mapper.k_max = c.params["k_max"];
  CHECK(mapper(c.boxes("boxes")) == c.indices("levels"));
  // Canonical: a 224 x 224 box on level 4; 112 on 3; 448 on 5; 1000 clamped to 5.
  CHECK(mapper.level({0, 0, 224, 224}) == 4 - 2);
  CHECK(mapper.level({0, 0, 112, 112}) == 3 - 2);
  CHECK(mapper.level({0, 0, 448, 448}) == 5 - 2);
  CHECK(mapper.level({0, 0, 1000, 1000}) == 5 - 2);
  CHECK(mapper.level({0, 0, 111, 112}) == 2 - 2);
}

TEST_CASE("multiscale_roi_align matches torchvision MultiScaleRoIAlign") {
  for (const Case& c : cases_of("multiscale_roi_align")) {
    CAPTURE(c.name);
    std::vector<Tensor> features;
    for (int l = 0; l < c.params["levels"].get<int>(); ++l) features.push_back(c.array("features" + std::to_string(l)));
    std::vector<ImageSize> sizes;
    for (const auto& s : c.params["image_sizes"]) sizes.push_back({s[0].get<int64_t>(), s[1].get<int64_t>()});
    const auto scales = c.params["scales"].get<std::vector<float>>();
    for (size_t l = 0; l < features.size(); ++l)
      CHECK(infer_scale(features[l].shape[2], sizes[0].height) == scales[l]);
    const auto out = c.params["output"].get<std::vector<int64_t>>();
    MultiScaleRoiAlignParams p;
    p.output_h = out[0];
    p.output_w = out[1];
    p.sampling_ratio = c.params["sampling_ratio"];
    const Tensor want = c.array("out");
    const Tensor got = multiscale_roi_align(features, c.array("rois"), sizes, p);
    CHECK(got.shape == want.shape);
    const double err = max_abs_error(got.data, want.data);
    MESSAGE(c.name, ": max abs error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("roi_align hand-computed on a 5x5 arange map") {
  // value(y, x) = 5 y + x, and bilinear interpolation of a linear map is exact, so each
  // output is the map's value at the mean sample position.
  const Tensor f = arange_map(5, 5);
  // aligned: the box (1, 1)-(3, 3) covers pixels 1 and 2; one sample per bin falls on each
  // pixel centre, giving the pixels themselves.
  CHECK(align(f, one_roi(1, 1, 3, 3), 2, 2, 1.0f, 1, true) == std::vector<float>{6, 7, 11, 12});
  // legacy (not aligned): the same samples half a pixel further on.
  CHECK(align(f, one_roi(1, 1, 3, 3), 2, 2, 1.0f, 1, false) == std::vector<float>{9, 10, 14, 15});
  // 2x2 samples in one bin: their mean, the value at the centre (1.5, 1.5).
  CHECK(align(f, one_roi(1, 1, 3, 3), 1, 1, 1.0f, 2, true) == std::vector<float>{9});
  // Past the last row/column samples clamp to it (up to H and W; beyond that they are 0).
  CHECK(align(f, one_roi(3, 3, 6, 6), 3, 3, 1.0f, 1, true) == std::vector<float>{18, 19, 19, 23, 24, 24, 23, 24, 24});
  // Samples at x = -2 are outside (0); at x = -1 and 0 they clamp to column 0.
  CHECK(align(f, one_roi(-2, 1, 1, 4), 3, 3, 1.0f, 1, true) == std::vector<float>{0, 5, 5, 0, 10, 10, 0, 15, 15});
  // legacy: an empty box still pools a 1x1 region (sample at (2.5, 2.5)).
  CHECK(align(f, one_roi(2, 2, 2, 2), 1, 1, 1.0f, 1, false) == std::vector<float>{15});
  // spatial_scale maps image pixels onto the map: box (2,2)-(6,6) at scale 1/2 = (1,1)-(3,3).
  CHECK(align(f, one_roi(2, 2, 6, 6), 2, 2, 0.5f, 1, true) == std::vector<float>{6, 7, 11, 12});
}

TEST_CASE("roi_pool hand-computed on a 5x5 arange map") {
  const Tensor f = arange_map(5, 5);
  // Box (1,1)-(3,3) covers pixels 1..3 (corners inclusive); 2x2 bins of 1.5 pixels round
  // outwards to rows/columns {1, 2} and {2, 3}.
  CHECK(roi_pool(f, one_roi(1, 1, 3, 3), 2, 2, 1.0f).data == std::vector<float>{12, 13, 17, 18});
  CHECK(roi_pool(f, one_roi(1, 1, 3, 3), 1, 1, 1.0f).data == std::vector<float>{18});
  // Fully outside: every bin is empty, output 0.
  CHECK(roi_pool(f, one_roi(10, 10, 20, 20), 2, 2, 1.0f).data == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("roi_align aligned on a 2x smaller map with halved boxes gives the same values") {
  // A linear map sampled at pixel centres, and its 2x2-average downsampling: the same function
  // on a coarser grid (pixel centres at 2i + 1 in the fine grid's pixels).
  const int64_t h = 40, w = 48;
  auto value = [](double y, double x, int c) { return c == 0 ? 0.25 * y + 0.5 * x : 3.0 - 0.125 * y + 0.75 * x; };
  Tensor fine({1, 2, h, w}, std::vector<float>(static_cast<size_t>(2 * h * w)));
  Tensor coarse({1, 2, h / 2, w / 2}, std::vector<float>(static_cast<size_t>(2 * h * w / 4)));
  for (int c = 0; c < 2; ++c) {
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) fine.data[size_t((c * h + y) * w + x)] = float(value(y + 0.5, x + 0.5, c));
    for (int64_t y = 0; y < h / 2; ++y)
      for (int64_t x = 0; x < w / 2; ++x) coarse.data[size_t((c * h / 2 + y) * w / 2 + x)] = float(value(2 * y + 1, 2 * x + 1, c));
  }
  // Boxes inside the coarse map's interior (no border clamping).
  const Tensor boxes({3, 5}, {0, 4, 4, 30, 20, 0, 6.5f, 3.25f, 41.5f, 35.75f, 0, 10, 12, 14, 15});
  Tensor halved = boxes;
  for (int64_t k = 0; k < 3; ++k)
    for (int j = 1; j < 5; ++j) halved.data[size_t(5 * k + j)] /= 2;
  for (int sr : {0, 2}) {
    const auto want = align(fine, boxes, 5, 4, 1.0f, sr, true);
    // the 2x smaller map with halved boxes, or equally with the spatial scale halved
    const double e1 = max_abs_error(align(coarse, halved, 5, 4, 1.0f, sr, true), want);
    const double e2 = max_abs_error(align(coarse, boxes, 5, 4, 0.5f, sr, true), want);
    MESSAGE("sampling ratio ", sr, ": max abs difference ", e1, " / ", e2);
    CHECK(e1 <= 1e-4);
    CHECK(e2 <= 1e-4);
  }
  // Not so without the half-pixel correction.
  CHECK(max_abs_error(align(coarse, halved, 5, 4, 1.0f, 2, false), align(fine, boxes, 5, 4, 1.0f, 2, false)) > 0.1);
}

TEST_CASE("roi ops reject malformed arguments") {
  const Tensor f = arange_map(5, 5);
  CHECK_THROWS_AS(roi_align(f, Tensor({1, 4}, {0, 1, 1, 2}), {}), std::invalid_argument);
  CHECK_THROWS_AS(roi_align(f, Tensor({1, 5}, {1, 0, 0, 2, 2}), {}), std::invalid_argument);  // batch index 1 of 1
  CHECK_THROWS_AS(roi_align(Tensor({5, 5}, std::vector<float>(25)), one_roi(0, 0, 1, 1), {}), std::invalid_argument);
  CHECK_THROWS_AS(roi_pool(f, one_roi(0, 0, 1, 1), 0, 2, 1.0f), std::invalid_argument);
  try {
    roi_align(f, Tensor({1, 4}, {0, 1, 1, 2}), {});
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "expected rois of shape [K, 5], got [1, 4]");
  }
}
