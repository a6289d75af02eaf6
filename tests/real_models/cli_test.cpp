// The real models from the command line, as a user runs them: osprey-detect with
// configs/blazeface.json prints the face with its six keypoints; osprey-segment with
// configs/selfie.json prints the person fraction and writes a class-id PNG of the photo's size.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "real_models.hpp"

using namespace osprey;
using namespace osprey::real_models;
namespace fs = std::filesystem;

namespace {

// Runs `args` through the shell with stdout to a file; returns {exit code, stdout}.
std::pair<int, std::string> run(const std::string& args) {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "real_models_scratch";
  fs::create_directories(dir);
  const fs::path out = dir / ("cli_stdout_" + std::to_string(::getpid()) + ".txt");  // ctest runs cases in parallel
  const int status = std::system((args + " > " + out.string()).c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

}  // namespace

TEST_CASE("osprey-detect with BlazeFace prints one face with six keypoints on astronaut") {
  const auto [code, out] = run(std::string(OSPREY_DETECT) + " -m " + config_path("blazeface.json") + " " +
                               asset_path("photos/misc/astronaut.png") + " --no-progress");
  REQUIRE(code == 0);
  const nlohmann::json line = nlohmann::json::parse(out);
  REQUIRE(line["detections"].size() == 1);
  const auto& face = line["detections"][0];
  CHECK(face["label"] == "face");
  CHECK(face["score"].get<double>() > 0.8);
  REQUIRE(face["keypoints"].size() == 6);
  // The eyes (keypoints 0 and 1) lie inside the box, the right eye (the person's) left of the left one.
  const auto& box = face["box"];
  for (int k = 0; k < 2; ++k) {
    CHECK(face["keypoints"][k][0].get<double>() > box[0].get<double>());
    CHECK(face["keypoints"][k][0].get<double>() < box[2].get<double>());
    CHECK(face["keypoints"][k][1].get<double>() > box[1].get<double>());
    CHECK(face["keypoints"][k][1].get<double>() < box[3].get<double>());
  }
  CHECK(face["keypoints"][0][0].get<double>() < face["keypoints"][1][0].get<double>());
}

TEST_CASE("osprey-segment with Selfie writes the person mask of grace_hopper") {
  const fs::path masks = fs::path(OSPREY_BINARY_DIR) / "real_models_scratch" / "selfie_masks";
  fs::remove_all(masks);
  const auto [code, out] = run(std::string(OSPREY_SEGMENT) + " -m " + config_path("selfie.json") + " " +
                               asset_path("photos/misc/grace_hopper.jpg") + " --masks " + masks.string() + " --no-progress");
  REQUIRE(code == 0);
  const nlohmann::json line = nlohmann::json::parse(out);
  double person = -1;
  for (const auto& c : line["classes"])
    if (c["label"] == "person") person = c["fraction"].get<double>();
  MESSAGE("osprey-segment selfie grace_hopper: person fraction ", person);
  CHECK(person >= 0.48);
  CHECK(person <= 0.68);
  const cv::Mat mask = cv::imread((masks / "grace_hopper.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(!mask.empty());
  CHECK(mask.rows == 600);
  CHECK(mask.cols == 512);
  CHECK(cv::countNonZero(mask) == doctest::Approx(person * 600 * 512).epsilon(0.001));
}
