// The segmentation writers (lib/io/segmentation_output.hpp) and the COCO RLE JSON of
// instance masks on synthetic detections.
#include <doctest/doctest.h>

#include <opencv2/imgcodecs.hpp>

#include "io/segmentation_output.hpp"
#include "segment/rle.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;

namespace {

detect::InstanceMask rect_mask(int h, int w, int x1, int y1, int x2, int y2) {
  detect::InstanceMask m{h, w, std::vector<uint8_t>(static_cast<size_t>(h * w), 0)};
  for (int y = y1; y < y2; ++y)
    for (int x = x1; x < x2; ++x) m.data[static_cast<size_t>(y * w + x)] = 1;
  return m;
}

}  // namespace

TEST_CASE("voc colours follow VOCdevkit's colour map") {
  CHECK(voc_colour(0) == cv::Vec3b(0, 0, 0));
  CHECK(voc_colour(1) == cv::Vec3b(0, 0, 128));      // aeroplane: RGB (128, 0, 0)
  CHECK(voc_colour(15) == cv::Vec3b(128, 128, 192));  // person: RGB (192, 128, 128)
  CHECK(voc_colour(20) == cv::Vec3b(128, 64, 0));     // tvmonitor: RGB (0, 64, 128)
}

TEST_CASE("class map png keeps ids and size") {
  std::vector<int32_t> classes(6 * 4, 0);
  classes[5] = 15;
  classes[23] = 20;
  const cv::Mat png = class_map_image(classes, 4, 6);
  CHECK(png.type() == CV_8UC1);
  CHECK(png.rows == 4);
  CHECK(png.cols == 6);
  CHECK(png.at<uint8_t>(0, 5) == 15);
  CHECK(png.at<uint8_t>(3, 5) == 20);
  std::vector<uchar> bytes;
  REQUIRE(cv::imencode(".png", png, bytes));
  const cv::Mat back = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  CHECK(cv::countNonZero(back != png) == 0);
  classes[0] = 300;
  CHECK(class_map_image(classes, 4, 6).type() == CV_16UC1);
  CHECK_THROWS_AS(class_map_image(classes, 5, 6), std::invalid_argument);
}

TEST_CASE("class overlay colours classes and keeps the size") {
  cv::Mat photo(120, 160, CV_8UC3, cv::Scalar(200, 200, 200));
  std::vector<int32_t> classes(120 * 160, 0);
  for (int y = 60; y < 120; ++y)
    for (int x = 80; x < 160; ++x) classes[static_cast<size_t>(y * 160 + x)] = 12;
  const cv::Mat out = draw_class_overlay(photo, classes, {"background", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "dog"});
  CHECK(out.size() == photo.size());
  CHECK(out.type() == CV_8UC3);
  CHECK(out.at<cv::Vec3b>(119, 159) != photo.at<cv::Vec3b>(119, 159));  // blended with dog's colour
  CHECK(out.at<cv::Vec3b>(100, 5) == photo.at<cv::Vec3b>(100, 5));      // background, below the legend
  CHECK(out.at<cv::Vec3b>(5, 5) != photo.at<cv::Vec3b>(5, 5));          // the legend's first swatch
}

TEST_CASE("instance png numbers detections and better ones win overlaps") {
  const std::vector<detect::InstanceMask> masks{rect_mask(10, 12, 0, 0, 6, 6), rect_mask(10, 12, 4, 4, 12, 10)};
  const cv::Mat png = instance_map_image(masks, 10, 12);
  CHECK(png.type() == CV_8UC1);
  CHECK(png.at<uint8_t>(0, 0) == 1);
  CHECK(png.at<uint8_t>(5, 5) == 1);  // overlap: the first (best) detection
  CHECK(png.at<uint8_t>(9, 11) == 2);
  CHECK(png.at<uint8_t>(9, 0) == 0);
  CHECK_THROWS_AS(instance_map_image(masks, 10, 13), std::invalid_argument);
  const cv::Mat overlay = draw_instance_overlay(cv::Mat(10, 12, CV_8UC3, cv::Scalar(0, 0, 0)), masks,
                                                {{0, 0, 6, 6, 1, 0.9f, "cat", {}}, {4, 4, 12, 10, 2, 0.8f, "dog", {}}});
  CHECK(overlay.size() == cv::Size(12, 10));
}

TEST_CASE("instance masks as COCO RLE json") {
  const detect::InstanceMask m = rect_mask(3, 3, 1, 0, 2, 2);  // column 1, rows 0-1
  const auto json = segment::rle_json(segment::rle_encode(m.data, m.height, m.width));
  // column-major 0 0 0 | 1 1 0 | 0 0 0: runs 3, 2, 4 (the third count is written as is)
  CHECK(json.dump() == R"({"size":[3,3],"counts":"324"})");
}

TEST_CASE("class fractions sum to one") {
  const std::vector<int32_t> classes{0, 0, 1, 3};
  const auto f = segment::class_fractions(classes, 2);
  REQUIRE(f.size() == 4);
  CHECK(f[0] == doctest::Approx(0.5));
  CHECK(f[3] == doctest::Approx(0.25));
}
