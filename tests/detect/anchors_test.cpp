// Anchor generators: torchvision's AnchorGenerator (exact: every value is an integer or an
// integer plus a rounded half-size) and py-faster-rcnn's generate_anchors.
#include "detect/anchors.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

TEST_CASE("AnchorGenerator matches torchvision") {
  for (const Case& c : cases_of("anchors")) {
    CAPTURE(c.name);
    const AnchorGenerator gen(c.params["sizes"].get<std::vector<std::vector<float>>>(),
                              c.params["aspect_ratios"].get<std::vector<std::vector<float>>>());
    std::vector<Box> cells;
    for (size_t l = 0; l < gen.num_levels(); ++l)
      cells.insert(cells.end(), gen.cell_anchors(l).begin(), gen.cell_anchors(l).end());
    CHECK(flatten(cells) == c.floats("cell_anchors"));
    const auto image = c.params["image"].get<std::vector<int64_t>>();
    std::vector<GridSize> maps;
    for (const auto& f : c.params["feature_maps"]) maps.push_back({f[0].get<int64_t>(), f[1].get<int64_t>()});
    const auto anchors = gen.generate({image[0], image[1]}, maps);
    MESSAGE(c.name, ": ", anchors.size(), " anchors");
    CHECK(flatten(anchors) == c.floats("anchors"));
  }
}

TEST_CASE("Faster R-CNN anchors match py-faster-rcnn") {
  const Case c = cases_of("faster_rcnn_anchors").at(0);
  CHECK(flatten(faster_rcnn_cell_anchors()) == c.floats("cell_anchors"));
  const auto grid = c.params["grid"].get<std::vector<int64_t>>();
  CHECK(flatten(faster_rcnn_anchors({grid[0], grid[1]}, c.params["stride"])) == c.floats("anchors"));
  // The nine anchors as py-faster-rcnn prints them (0-based; +1 convention: 184 x 96 first).
  const std::vector<float> nine = {-84,  -40,  99,  55,  -176, -88,  191, 103, -360, -184, 375, 199,
                                   -56,  -56,  71,  71,  -120, -120, 135, 135, -248, -248, 263, 263,
                                   -36,  -80,  51,  95,  -80,  -168, 95,  183, -168, -344, 183, 359};
  CHECK(flatten(faster_rcnn_cell_anchors()) == nine);
}

TEST_CASE("AnchorGenerator hand-computed cases") {
  // Size 32, ratio 1: (-16, -16, 16, 16); ratio 2 (h = 2w): w = 32 / sqrt 2 = 22.6, h = 45.25,
  // halves 11.31 and 22.63 rounded to 11 and 23.
  const AnchorGenerator gen({{32}}, {{1.0f, 2.0f}});
  CHECK(flatten(gen.cell_anchors(0)) == std::vector<float>{-16, -16, 16, 16, -11, -23, 11, 23});
  // Stride = image // feature per axis: 100 // 3 = 33 across, 64 // 2 = 32 down.
  const auto a = gen.generate({64, 100}, std::vector<GridSize>{{2, 3}});
  REQUIRE(a.size() == 2 * 3 * 2);
  CHECK(a[2].x1 == -16 + 33);  // position (0, 1), first anchor
  CHECK(a[6].y1 == -16 + 32);  // position (1, 0)
  CHECK_THROWS_AS(gen.generate({64, 64}, std::vector<GridSize>{{2, 2}, {1, 1}}), std::invalid_argument);
}
