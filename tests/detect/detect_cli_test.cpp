// osprey-detect as a user runs it, with torchvision-layout Faster R-CNN weights (seeded,
// from the reference fixture) on darknet's photos: JSON lines, COCO results (loadRes's
// schema), YOLO text files, annotated images, class filters and bad inputs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../cli_run.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace osprey::test;

namespace {

const std::string kConfig = std::string(OSPREY_SOURCE_DIR) + "/configs/fasterrcnn_resnet50_fpn.json";
const std::string kWeights = std::string(OSPREY_DETECT_REFS) + "/detector/fasterrcnn_resnet50_fpn.safetensors";
const std::string kPhotos = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/darknet";

const fs::path kWorkDir = fs::path(OSPREY_BINARY_DIR) / "detect_cli";

fs::path scratch(const std::string& name) { return fresh_directory(kWorkDir / name); }

CommandResult detect(const std::string& args) {
  return run_command(std::string(OSPREY_DETECT) + " -m '" + kConfig + "' --weights '" + kWeights + "' --threads 2 " + args, kWorkDir);
}

}  // namespace

TEST_CASE("detections as JSON lines with every output format written") {
  const fs::path dir = scratch("formats");
  std::ofstream(dir / "gt.json") << R"({"images": [{"id": 42, "file_name": "dog.jpg"}, {"id": 7, "file_name": "person.jpg"}]})";
  const CommandResult r = detect("'" + kPhotos + "/dog.jpg' '" + kPhotos + "/person.jpg' --conf 0.06 --max-det 20 --draw '" +
                          (dir / "draw").string() + "' --txt '" + (dir / "txt").string() + "' --coco-out '" +
                          (dir / "coco.json").string() + "' --coco-gt '" + (dir / "gt.json").string() + "'");
  REQUIRE(r.code == 0);
  const auto out = json_lines(r.out);
  REQUIRE(out.size() == 2);
  size_t total = 0;
  for (const auto& j : out) {
    CHECK(j["task"] == "detect");
    const double w = j["width"], h = j["height"];
    double previous = 2.0;
    REQUIRE(j["detections"].size() <= 20);
    for (const auto& d : j["detections"]) {
      const double score = d["score"];
      CHECK(score >= 0.06);
      CHECK(score <= previous);  // best first
      previous = score;
      const auto& b = d["box"];
      CHECK(b[0].get<double>() >= 0);
      CHECK(b[1].get<double>() >= 0);
      CHECK(b[2].get<double>() <= w);
      CHECK(b[3].get<double>() <= h);
      CHECK(b[0].get<double>() <= b[2].get<double>());
      CHECK(d["label"].is_string());
    }
    total += j["detections"].size();
  }
  CHECK(total > 0);

  // COCO results: one entry per detection, ids from the ground truth, bbox as x, y, w, h.
  const json coco = json::parse(slurp(dir / "coco.json"));
  REQUIRE(coco.is_array());
  CHECK(coco.size() == total);
  std::set<int64_t> ids;
  for (const auto& a : coco) {
    ids.insert(a["image_id"].get<int64_t>());
    CHECK(a["bbox"].size() == 4);
    CHECK(a["category_id"].is_number_integer());
  }
  CHECK(ids == std::set<int64_t>{42, 7});
  const auto& first = out[0]["detections"][0];
  CHECK(coco[0]["bbox"][2].get<double>() == doctest::Approx(first["box"][2].get<double>() - first["box"][0].get<double>()).epsilon(1e-3));

  // YOLO text: one line per detection, normalised.
  std::istringstream yolo(slurp(dir / "txt" / "dog.txt"));
  size_t rows = 0;
  for (std::string line; std::getline(yolo, line); ++rows) {
    std::istringstream l(line);
    int c;
    double x, y, bw, bh;
    REQUIRE(static_cast<bool>(l >> c >> x >> y >> bw >> bh));
    CHECK(x >= 0);
    CHECK(x <= 1);
    CHECK(bh <= 1);
  }
  CHECK(rows == out[0]["detections"].size());

  // Annotated images are JPEG files.
  CHECK(slurp(dir / "draw" / "dog.jpg").substr(0, 2) == "\xff\xd8");
  CHECK(fs::file_size(dir / "draw" / "person.jpg") > 1000);
}

TEST_CASE("class filter and bad inputs") {
  const fs::path dir = scratch("bad");
  std::ofstream(dir / "broken.jpg") << "not a jpeg";
  const CommandResult r = detect("'" + (dir / "missing.jpg").string() + "' '" + (dir / "broken.jpg").string() + "' '" + kPhotos +
                          "/dog.jpg' --classes cup,person");
  CHECK(r.code == 1);
  const auto out = json_lines(r.out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].contains("error"));
  CHECK(out[1].contains("error"));
  for (const auto& d : out[2]["detections"]) CHECK((d["label"] == "cup" || d["label"] == "person"));
  CHECK(detect("'" + kPhotos + "/dog.jpg' --classes unicorn").code == 2);
  CHECK(detect("'" + kPhotos + "/dog.jpg' --coco-out '" + (dir / "c.json").string() + "'").code == 1);  // no numeric name, no gt
  CHECK_FALSE(fs::exists(dir / "never.json"));
}

TEST_CASE("agnostic and soft NMS change what survives as they should") {
  const std::string dog = "'" + kPhotos + "/dog.jpg' --conf 0.05 --max-det 100";
  const auto hard = json_lines(detect(dog).out).at(0)["detections"];
  const auto agnostic = json_lines(detect(dog + " --agnostic-nms").out).at(0)["detections"];
  const CommandResult soft_run = detect(dog + " --nms soft");
  REQUIRE(soft_run.code == 0);
  const auto soft = json_lines(soft_run.out).at(0)["detections"];
  CHECK(agnostic.size() <= hard.size());  // suppressing across classes never keeps more
  // Soft-NMS never touches the best box; later scores only decay, so they stay ordered.
  REQUIRE(!soft.empty());
  CHECK(soft[0]["box"] == hard[0]["box"]);
  CHECK(soft[0]["score"] == hard[0]["score"]);
  for (size_t i = 1; i < soft.size(); ++i) CHECK(soft[i]["score"].get<double>() <= soft[i - 1]["score"].get<double>());
  auto iou = [](const json& a, const json& b) {
    const double x1 = std::max(a[0].get<double>(), b[0].get<double>()), y1 = std::max(a[1].get<double>(), b[1].get<double>());
    const double x2 = std::min(a[2].get<double>(), b[2].get<double>()), y2 = std::min(a[3].get<double>(), b[3].get<double>());
    const double inter = std::max(0.0, x2 - x1) * std::max(0.0, y2 - y1);
    const double area = [](const json& c) { return (c[2].get<double>() - c[0].get<double>()) * (c[3].get<double>() - c[1].get<double>()); }(a) +
                        [](const json& c) { return (c[2].get<double>() - c[0].get<double>()) * (c[3].get<double>() - c[1].get<double>()); }(b) - inter;
    return area > 0 ? inter / area : 0.0;
  };
  for (size_t i = 0; i < agnostic.size(); ++i)  // no two survivors overlap above the threshold, whatever their class
    for (size_t j = i + 1; j < agnostic.size(); ++j) CHECK(iou(agnostic[i]["box"], agnostic[j]["box"]) <= 0.5 + 1e-4);
  CHECK(detect(dog + " --nms soft --agnostic-nms").code == 2);
}

TEST_CASE("batches keep input order and an unreadable image keeps its place") {
  const fs::path dir = scratch("batch");
  const CommandResult r = detect("--batch 3 '" + kPhotos + "/dog.jpg' '" + (dir / "missing.jpg").string() + "' '" + kPhotos +
                          "/person.jpg' '" + kPhotos + "/horses.jpg' --max-det 5");
  CHECK(r.code == 1);
  const auto out = json_lines(r.out);
  REQUIRE(out.size() == 4);
  CHECK(out[0]["image"].get<std::string>().find("dog.jpg") != std::string::npos);
  CHECK(out[1].contains("error"));
  CHECK(out[2]["image"].get<std::string>().find("person.jpg") != std::string::npos);
  CHECK(out[3]["image"].get<std::string>().find("horses.jpg") != std::string::npos);
  for (int i : {0, 2, 3}) CHECK(out[i]["detections"].size() <= 5);
  // (A batch pads its images to a common size, which changes features near their borders,
  // as in torchvision; the batched parity test compares a batch of two with torchvision.)
}
