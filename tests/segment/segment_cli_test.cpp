// osprey-segment as a user runs it: torchvision-layout fcn_resnet50 weights (seeded, from
// the reference fixture) on darknet's photos plus a corrupt file: JSON lines whose class
// fractions sum to 1, class-id PNGs at each input's size, overlays, a one-line error for
// the bad input while the others succeed, and usage errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "../cli_run.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace osprey::test;

namespace {

const std::string kPhotos = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/darknet";

const fs::path kWorkDir = fs::path(OSPREY_BINARY_DIR) / "segment_cli";

fs::path scratch(const std::string& name) { return fresh_directory(kWorkDir / name); }

// A config for the fixture's fcn_resnet50 weights with VOC's labels and a small resize
// (shorter side 96) so the CLI tests stay fast.
std::string config() {
  const fs::path path = kWorkDir / "fcn_resnet50_small.json";
  fs::create_directories(path.parent_path());
  const json doc = {{"name", "fcn_resnet50"},
                    {"task", "segment"},
                    {"architecture", {{"family", "fcn_resnet50"}}},
                    {"labels", std::string(OSPREY_SOURCE_DIR) + "/configs/labels/voc21.txt"},
                    {"weights", std::string(OSPREY_SEGMENT_REFS) + "/fcn_resnet50.safetensors"},
                    {"segmenter", {{"resize_shorter", 96}}}};
  std::ofstream(path) << doc.dump(1);
  return path.string();
}

CommandResult segment(const std::string& args) { return run_command(std::string(OSPREY_SEGMENT_TOOL) + " --threads 2 " + args, kWorkDir); }

}  // namespace

TEST_CASE("semantic segmentation writes class PNGs overlays and JSON lines and a corrupt image is one error") {
  const fs::path dir = scratch("semantic");
  const fs::path images = dir / "images";
  fs::create_directories(images);
  fs::copy_file(kPhotos + "/dog.jpg", images / "dog.jpg");
  fs::copy_file(kPhotos + "/person.jpg", images / "person.jpg");
  std::ofstream(images / "broken.jpg") << "\xff\xd8\xff\xe0 this is not a JPEG";
  const CommandResult r = segment("-m '" + config() + "' '" + images.string() + "' --masks '" + (dir / "masks").string() + "' --overlay '" +
                           (dir / "overlay").string() + "' -o '" + (dir / "out.jsonl").string() + "'");
  CHECK(r.code == 1);  // some inputs failed
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("broken.jpg") != std::string::npos);
  const auto got = json_lines(slurp(dir / "out.jsonl"));
  REQUIRE(got.size() == 3);
  int answered = 0;
  for (const auto& line : got) {
    const std::string image = line.at("image");
    if (image.find("broken") != std::string::npos) {
      CHECK(line.contains("error"));
      continue;
    }
    ++answered;
    CHECK(line.at("task") == "segment");
    double sum = 0;
    for (const auto& c : line.at("classes")) {
      CHECK(c.at("fraction").get<double>() > 0);
      CHECK(c.at("label").is_string());
      sum += c.at("fraction").get<double>();
    }
    CHECK(std::fabs(sum - 1.0) <= 1e-5);  // fractions are printed with 6 decimals
    const std::string stem = fs::path(image).stem().string();
    const cv::Mat photo = cv::imread(image);
    const cv::Mat mask = cv::imread((dir / "masks" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    REQUIRE(!mask.empty());
    CHECK(mask.type() == CV_8UC1);
    CHECK(mask.size() == photo.size());
    CHECK(line.at("width") == photo.cols);
    double top = 0;
    cv::minMaxLoc(mask, nullptr, &top);
    CHECK(top <= 20);
    // the PNG's histogram is the line's fractions
    const auto& first = line.at("classes")[0];
    const double share = static_cast<double>(cv::countNonZero(mask == first.at("class_id").get<int>())) / static_cast<double>(mask.total());
    CHECK(std::fabs(share - first.at("fraction").get<double>()) <= 5e-7);
    const cv::Mat overlay = cv::imread((dir / "overlay" / (stem + ".jpg")).string());
    REQUIRE(!overlay.empty());
    CHECK(overlay.size() == photo.size());
  }
  CHECK(answered == 2);
}

TEST_CASE("osprey-segment usage errors exit 2 with one line") {
  const CommandResult bad_flag = segment("-m '" + config() + "' '" + kPhotos + "/dog.jpg' --conf 0.5");
  CHECK(bad_flag.code == 2);
  CHECK(bad_flag.err.find("instance") != std::string::npos);
  const fs::path cfg = fs::path(OSPREY_BINARY_DIR) / "segment_cli" / "bad_segmenter.json";
  std::ofstream(cfg) << json{{"task", "segment"}, {"architecture", {{"family", "fcn_resnet50"}}},
                              {"weights", std::string(OSPREY_SEGMENT_REFS) + "/fcn_resnet50.safetensors"},
                              {"segmenter", {{"resize_shortr", 96}}}}.dump();
  const CommandResult bad_key = segment("-m '" + cfg.string() + "' '" + kPhotos + "/dog.jpg'");
  CHECK(bad_key.code == 2);
  CHECK(bad_key.err.find("resize_shortr") != std::string::npos);
  CHECK(std::count(bad_key.err.begin(), bad_key.err.end(), '\n') == 1);
}
