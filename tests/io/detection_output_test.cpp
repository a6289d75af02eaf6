// Detection writers: the JSON form, YOLO text, COCO results as pycocotools' loadRes reads
// them (its checks re-stated here: a list; every image_id among the ground truth's
// images; bbox [x, y, w, h] from which it derives area and the segmentation polygon), and
// annotated images.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "io/detection_output.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

const std::vector<Detection> kDetections{{10.004f, 20.0f, 110.0f, 70.0f, 18, 0.87654321f, "dog", {}},
                                         {0.0f, 0.0f, 50.0f, 100.0f, 1, 0.5f, "person", {{20.123f, 30.0f}, {25.0f, 31.0f}}}};

fs::path scratch() {
  fs::path dir = fs::path(OSPREY_BINARY_DIR) / "io_scratch";
  fs::create_directories(dir);
  return dir;
}

// What COCO.loadRes asserts and derives for bbox results.
void check_load_res(const nlohmann::json& results, const std::set<int64_t>& gt_image_ids) {
  REQUIRE(results.is_array());
  for (const auto& ann : results) {
    CHECK(gt_image_ids.count(ann["image_id"].get<int64_t>()) == 1);
    REQUIRE(ann["bbox"].is_array());
    REQUIRE(ann["bbox"].size() == 4);
    for (const auto& v : ann["bbox"]) CHECK(v.is_number());
    CHECK(ann["category_id"].is_number_integer());
    CHECK(ann["score"].is_number());
    CHECK(ann["bbox"][2].get<double>() * ann["bbox"][3].get<double>() > 0);  // area
  }
}

}  // namespace

TEST_CASE("detections as JSON: class, label, score and box in input pixels") {
  const auto j = detections_json(kDetections);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["class_id"] == 18);
  CHECK(j[0]["label"] == "dog");
  CHECK(j[0]["score"].get<double>() == doctest::Approx(0.87654).epsilon(1e-9));
  CHECK(j[0]["box"][0].get<double>() == doctest::Approx(10.0));
  CHECK(j[0]["box"][3].get<double>() == doctest::Approx(70.0));
  CHECK_FALSE(j[0].contains("keypoints"));
  REQUIRE(j[1]["keypoints"].size() == 2);
  CHECK(j[1]["keypoints"][0][0].get<double>() == doctest::Approx(20.12));
  CHECK(j[1]["keypoints"][1][1].get<double>() == doctest::Approx(31.0));
}

TEST_CASE("YOLO text: class and centre/size normalised to the image") {
  std::istringstream in(yolo_lines(kDetections, 200, 100));
  int c;
  double cx, cy, w, h;
  in >> c >> cx >> cy >> w >> h;
  CHECK(c == 18);
  CHECK(cx == doctest::Approx(0.30001));
  CHECK(cy == doctest::Approx(0.45));
  CHECK(w == doctest::Approx(0.49998));
  CHECK(h == doctest::Approx(0.5));
  in >> c >> cx >> cy >> w >> h;
  CHECK(c == 1);
  CHECK(h == doctest::Approx(1.0));
}

TEST_CASE("COCO results from numeric file names follow loadRes") {
  CocoResults coco("");
  const int64_t id = coco.image_id("/data/val2017/000000397133.jpg");
  CHECK(id == 397133);
  coco.add(id, kDetections);
  check_load_res(coco.results(), {397133});
  CHECK(coco.results()[0]["bbox"][2].get<double>() == doctest::Approx(100.0).epsilon(1e-4));  // width, not x2
  CHECK_THROWS_AS(coco.image_id("photos/dog.jpg"), InputError);
}

TEST_CASE("COCO results with a ground-truth file and a category map") {
  const fs::path gt = scratch() / "gt.json";
  std::ofstream(gt) << R"({"images": [{"id": 42, "file_name": "dog.jpg"}, {"id": 7, "file_name": "sub/cat.png"}], "annotations": [], "categories": []})";
  CocoResults coco(gt.string());
  CHECK(coco.image_id("anywhere/dog.jpg") == 42);
  CHECK(coco.image_id("cat.png") == 7);
  CHECK_THROWS_AS(coco.image_id("horse.jpg"), InputError);
  std::vector<int> categories(80);
  for (int i = 0; i < 80; ++i) categories[i] = i + 100;
  coco.add(42, kDetections, categories);
  check_load_res(coco.results(), {42, 7});
  CHECK(coco.results()[0]["category_id"] == 118);
  CHECK_THROWS_AS(coco.add(42, {{0, 0, 1, 1, 85, 0.9f, "", {}}}, categories), ModelError);

  std::ofstream(scratch() / "bad_gt.json") << R"({"images": [{"file_name": "x.jpg"}]})";
  CHECK_THROWS_AS(CocoResults((scratch() / "bad_gt.json").string()), ModelError);
  CHECK_THROWS_AS(CocoResults((scratch() / "missing_gt.json").string()), ModelError);
}

TEST_CASE("annotated image: boxes and tags drawn and the rest untouched") {
  cv::Mat image(120, 220, CV_8UC3, cv::Scalar(30, 30, 30));
  const cv::Mat out = draw_detections(image, kDetections);
  REQUIRE(out.size() == image.size());
  CHECK(out.at<cv::Vec3b>(70, 60) != cv::Vec3b(30, 30, 30));     // on the dog box's bottom edge
  CHECK(out.at<cv::Vec3b>(110, 200) == cv::Vec3b(30, 30, 30));   // far from every box
  CHECK(image.at<cv::Vec3b>(70, 60) == cv::Vec3b(30, 30, 30));   // the input is not modified
  cv::Mat gray(50, 50, CV_8UC1, cv::Scalar(0));
  CHECK(draw_detections(gray, kDetections).channels() == 3);
}
