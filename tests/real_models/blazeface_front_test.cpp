// BlazeFace's front-camera model (128x128, the same graph ops and anchors at strides 8 and
// 16) through configs/blazeface_front.json as osprey-detect runs it: one face per portrait,
// score >= 0.8 (measured 0.91 / 0.92), box IoU >= 0.5 with the face as we see it in the photo
// (the boxes blazeface_test.cpp states), six keypoints, the eyes inside the box.
#include <doctest/doctest.h>

#include "detect/detector.hpp"
#include "real_models.hpp"

using namespace osprey;
using namespace osprey::real_models;

TEST_CASE("BlazeFace front model finds the face in astronaut and grace_hopper") {
  auto detector = detect::load_detector(config_path("blazeface_front.json"));
  const std::vector<std::pair<std::string, detect::Box>> photos{{"astronaut.png", {175, 70, 280, 185}},
                                                                {"grace_hopper.jpg", {180, 140, 355, 340}}};
  for (const auto& [file, face] : photos) {
    const Tensor image = rgb_image(asset_path("photos/misc/" + file));
    const detect::Detections d = detector->detect(std::span<const Tensor>(&image, 1)).at(0);
    REQUIRE(d.size() == 1);
    const std::vector<detect::Box> got{d.boxes[0]}, want{face};
    const float iou = detect::box_iou(got, want).data[0];
    MESSAGE("BlazeFace front ", file, ": score ", d.scores[0], ", IoU with the stated face ", iou);
    CHECK(d.scores[0] >= 0.8f);
    CHECK(iou >= 0.5f);
    REQUIRE(d.keypoints.size() == 1);
    REQUIRE(d.keypoints[0].size() == 6);
    for (int k = 0; k < 2; ++k) {  // the eyes (the ear points may stick out of the box)
      const detect::Keypoint& p = d.keypoints[0][static_cast<size_t>(k)];
      CHECK(p.x >= d.boxes[0].x1);
      CHECK(p.x <= d.boxes[0].x2);
      CHECK(p.y >= d.boxes[0].y1);
      CHECK(p.y <= d.boxes[0].y2);
    }
  }
}
