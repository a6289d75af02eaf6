// PP-OCRv4's text probability map through osprey-segment (configs/ppocr_v4_det_map.json):
// the photo at its own size padded to a multiple of 32, p > 0.3 is text. End to end on
// opencv-doc's scenetext01.jpg: the class PNG has the photo's size, text covers a small
// part of it (1-5 %), and the centre of every text box the DB detector
// (configs/ppocr_v4_det.json) finds lies on text pixels. The raw map itself is checked
// against ONNX Runtime in tests/onnx/real_models_test.cpp.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "real_models.hpp"

using namespace osprey::real_models;
namespace fs = std::filesystem;

namespace {

nlohmann::json run_json(const std::string& command, const fs::path& out) {
  const int status = std::system((command + " > " + out.string()).c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
}

}  // namespace

TEST_CASE("osprey-segment gives PP-OCRv4's text map where the DB detector finds text") {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "real_models_scratch" / ("ppocr_map_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string photo = asset_path("photos/text/scenetext01.jpg");
  const auto seg = run_json(std::string(OSPREY_SEGMENT) + " -m " + config_path("ppocr_v4_det_map.json") + " " + photo +
                                " --masks " + (dir / "masks").string() + " --threads 2",
                            dir / "segment.out");
  double text = -1;
  for (const auto& c : seg["classes"])
    if (c["label"] == "text") text = c["fraction"].get<double>();
  MESSAGE("scenetext01: text covers ", text * 100, " % of the photo");
  CHECK(text > 0.01);
  CHECK(text < 0.05);
  const cv::Mat mask = cv::imread((dir / "masks" / "scenetext01.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(mask.rows == 600);
  REQUIRE(mask.cols == 800);

  const auto det = run_json(std::string(OSPREY_DETECT) + " -m " + config_path("ppocr_v4_det.json") + " " + photo + " --threads 2",
                            dir / "detect.out");
  REQUIRE(det["detections"].size() >= 5);
  for (const auto& d : det["detections"]) {
    const auto& b = d["box"];
    const int cx = static_cast<int>((b[0].get<double>() + b[2].get<double>()) / 2);
    const int cy = static_cast<int>((b[1].get<double>() + b[3].get<double>()) / 2);
    CHECK_MESSAGE(mask.at<uint8_t>(cy, cx) == 1, "text box centre (", cx, ", ", cy, ") is not on text");
  }
}
