// The tools' --input-size reaching a Darknet YOLO detector through load_detector's
// DetectorOptions::load: the network is rebuilt at the new size, and runs exactly as the
// same cfg whose [net] section states that size (a separate load path: the size read from
// the file). Seeded weights from make_yolo_references.py (fixture yolo_refs). Tolerance:
// identical head outputs (same graph, same weights, same input).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "detect/detector.hpp"
#include "detect/yolo_detector.hpp"
#include "model/model.hpp"

namespace osprey::detect {

namespace {

const std::string kRefs = OSPREY_YOLO_REFS;

// A copy of yolov3_tiny.cfg (320x320) whose [net] says `size` x `size`.
std::string cfg_at(int size) {
  std::ifstream in(kRefs + "/yolov3_tiny.cfg");
  REQUIRE_MESSAGE(in.good(), "run make_yolo_references.py first (ctest fixture yolo_refs)");
  std::stringstream text;
  text << in.rdbuf();
  std::string cfg = std::regex_replace(text.str(), std::regex("\nwidth=\\d+"), "\nwidth=" + std::to_string(size));
  cfg = std::regex_replace(cfg, std::regex("\nheight=\\d+"), "\nheight=" + std::to_string(size));
  const auto dir = std::filesystem::path(OSPREY_BINARY_DIR) / "yolo_input_size_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / ("yolov3_tiny_" + std::to_string(size) + ".cfg");
  std::ofstream(path) << cfg;
  return path.string();
}

// A deterministic 3 x 200 x 300 image in [0, 1].
Tensor test_image() {
  Tensor image({3, 200, 300});
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<float>((i * 7919) % 1000) / 999.0f;
  return image;
}

}  // namespace

TEST_CASE("input size override rebuilds a darknet yolo detector at that size") {
  const std::string weights = kRefs + "/yolov3_tiny.weights";
  DetectorOptions options;
  options.load.input_json = R"({"size": 256})";
  const Tensor image = test_image();
  // The config (320 in its cfg) and the bare cfg, both overridden to 256.
  for (const std::string& config : {kRefs + "/yolov3_tiny.json", kRefs + "/yolov3_tiny.cfg"}) {
    CAPTURE(config);
    auto detector = load_detector(config, config.ends_with(".cfg") ? weights : "", options);
    CHECK(detector->config().input.height == 256);
    CHECK(detector->config().input.width == 256);
    auto* yolo = dynamic_cast<YoloDetector*>(detector.get());
    REQUIRE(yolo != nullptr);
    YoloDetector::Trace trace;
    yolo->detect(std::span(&image, 1), &trace);
    CHECK(to_string(trace.batch.shape) == "[1, 3, 256, 256]");
    REQUIRE(trace.outputs.size() == 2);  // yolov3-tiny's two [yolo] heads: strides 32 and 16
    CHECK(trace.outputs[0].shape[2] == 8);
    CHECK(trace.outputs[1].shape[2] == 16);

    // The same network as a cfg that states 256 itself, on the same letterboxed batch.
    auto reference = Model::load(cfg_at(256), LoadOptions{weights, "", ""});
    const std::vector<Tensor> want = reference->run(trace.batch);
    REQUIRE(want.size() == trace.outputs.size());
    double worst = 0;
    for (size_t h = 0; h < want.size(); ++h) {
      REQUIRE(to_string(want[h].shape) == to_string(trace.outputs[h].shape));
      for (size_t i = 0; i < want[h].data.size(); ++i)
        worst = std::max(worst, static_cast<double>(std::abs(want[h].data[i] - trace.outputs[h].data[i])));
    }
    MESSAGE(config, " at 256: head outputs ", to_string(trace.outputs[0].shape), " ", to_string(trace.outputs[1].shape),
            ", max |override - cfg at 256| ", worst);
    CHECK(worst == 0.0);
  }
}

TEST_CASE("a darknet yolo detector refuses preprocessing flags it does not use") {
  DetectorOptions options;
  options.load.input_json = R"({"mean": [0.5, 0.5, 0.5]})";
  try {
    load_detector(kRefs + "/yolov3_tiny.json", "", options);
    FAIL("expected a ModelError");
  } catch (const ModelError& e) {
    const std::string message = e.what();
    MESSAGE(message);
    CHECK(message.find("--mean") == 0);
    CHECK(message.find("yolo detector") != std::string::npos);
    CHECK(message.find("--input-size") != std::string::npos);  // what it does take
  }
}

}  // namespace osprey::detect
