// YOLO v1 / v2 / v3 through Osprey's Darknet import against tools/yolo_reference.py (a
// PyTorch interpreter of the same cfg files, written from Darknet's C sources), on seeded
// weights written as .weights files by make_yolo_references.py and real photos.
// The reference computes in float64. Tolerances: raw head outputs max |osprey - torch| <=
// 1e-4 * max |torch| (per head); decoding the same head outputs: the same detections, boxes
// within 0.01 px, scores within 1e-4; end to end from the photo: boxes within
// 0.01 px + 1e-4 x the box's larger side (float32 through 75 layers), scores within 1e-4.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detect/yolo_detector.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"

namespace osprey::detect {

namespace {

const std::string kRefs = OSPREY_YOLO_REFS;

nlohmann::json index_json() {
  std::ifstream in(kRefs + "/index.json");
  REQUIRE_MESSAGE(in.good(), "run make_yolo_references.py first (ctest fixture yolo_refs)");
  return nlohmann::json::parse(in);
}

Tensor reference(const std::string& name) { return read_npy(kRefs + "/" + name); }

void check_heads(const std::vector<Tensor>& got, const std::string& prefix, size_t heads) {
  REQUIRE(got.size() == heads);
  for (size_t h = 0; h < heads; ++h) {
    const Tensor want = reference(prefix + "head" + std::to_string(h) + ".npy");
    REQUIRE(to_string(got[h].shape) == to_string(want.shape));
    double worst = 0, peak = 0;
    for (size_t i = 0; i < want.data.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(got[h].data[i]) - want.data[i]));
      peak = std::max(peak, std::abs(static_cast<double>(want.data[i])));
    }
    MESSAGE(prefix, "head", h, " ", to_string(want.shape), ": max abs error ", worst, ", values up to ", peak, ", relative ",
            worst / peak);
    CHECK(worst <= 1e-4 * peak);
  }
}

// Same count; every reference detection matched one to one by a detection of the same class
// whose score is within 1e-4 (so near-equal scores may swap places) and whose box is within
// `box_tol` px (plus `rel_tol` x the box's larger side, for end-to-end runs of deep networks
// whose float32 head outputs differ from the float64 reference by ~3e-5 of their range).
void check_detections(const Detections& got, const std::string& prefix, const std::string& boxes_key, double rel_tol) {
  const Tensor boxes = reference(prefix + boxes_key), scores = reference(prefix + "scores.npy"), labels = reference(prefix + "labels.npy");
  const size_t n = scores.data.size();
  REQUIRE(got.size() == n);
  double box_err = 0, score_err = 0, allowed = 0;
  int unmatched = 0, moved = 0;
  std::vector<bool> used(n, false);
  for (size_t i = 0; i < n; ++i) {
    const float* w = boxes.data.data() + 4 * i;
    const double tol = 0.01 + rel_tol * std::max(w[2] - w[0], w[3] - w[1]);
    double best = INFINITY;
    size_t best_j = n;
    for (size_t j = 0; j < n; ++j) {
      if (used[j] || got.labels[j] != static_cast<int64_t>(labels.data[i]) || std::abs(double{got.scores[j]} - scores.data[i]) > 1e-4) continue;
      const Box& b = got.boxes[j];
      const double err = std::max({std::abs(double{b.x1} - w[0]), std::abs(double{b.y1} - w[1]), std::abs(double{b.x2} - w[2]),
                                   std::abs(double{b.y2} - w[3])});
      if (err < best) best = err, best_j = j;
    }
    if (best_j == n || best > tol) {
      ++unmatched;
      continue;
    }
    used[best_j] = true;
    moved += best_j != i;
    box_err = std::max(box_err, best);
    allowed = std::max(allowed, tol);
    score_err = std::max(score_err, std::abs(double{got.scores[best_j]} - scores.data[i]));
  }
  MESSAGE(prefix, boxes_key, ": ", n, " detections, ", unmatched, " unmatched, ", moved, " in swapped places, max box error ", box_err,
          " px (allowed up to ", allowed, "), max score error ", score_err);
  CHECK(unmatched == 0);
  CHECK(score_err <= 1e-4);
}

void run_case(const std::string& name) {
  const nlohmann::json index = index_json();
  REQUIRE(index.at("cases").contains(name));
  const auto& c = index["cases"][name];
  const std::string config = kRefs + "/" + c.at("config").get<std::string>();
  auto detector = YoloDetector::load(config, "");
  auto model = Model::load(config);
  const size_t heads = c.at("heads").get<size_t>();
  for (const auto& photo : c.at("photos")) {
    const std::string prefix = name + "." + photo.get<std::string>() + ".";
    const int candidates = c["candidates"][photo.get<std::string>()].get<int>();
    MESSAGE(prefix, " ", candidates, " candidates above the threshold");
    CHECK(candidates > 0);  // else the detection comparison says nothing
    // 1. The network on the reference's input.
    const std::vector<Tensor> outputs = model->run(reference(prefix + "input.npy"));
    check_heads(outputs, prefix, heads);
    // 2. Decoding and NMS on the reference's head outputs, in network pixels.
    std::vector<Tensor> ref_heads;
    for (size_t h = 0; h < heads; ++h) ref_heads.push_back(reference(prefix + "head" + std::to_string(h) + ".npy"));
    check_detections(detector->decode(ref_heads).at(0), prefix, "net_boxes.npy", 0.0);
    // 3. End to end from the decoded photo: letterbox (or stretch), network, decoding, boxes
    // mapped back to the image.
    const Tensor image = reference(prefix + "image.npy");
    YoloDetector::Trace trace;
    const std::vector<Detections> found = detector->detect(std::span<const Tensor>(&image, 1), &trace);
    const Tensor input = reference(prefix + "input.npy");
    double input_err = 0;
    for (size_t i = 0; i < input.data.size(); ++i) input_err = std::max(input_err, std::abs(double{trace.batch.data[i]} - input.data[i]));
    MESSAGE(prefix, " network input max error ", input_err);
    CHECK(input_err <= 1e-5);
    check_detections(found.at(0), prefix, "boxes.npy", 1e-4);
  }
}

}  // namespace

TEST_CASE("yolov3-tiny matches the PyTorch reference") { run_case("yolov3_tiny"); }
TEST_CASE("yolov3 matches the PyTorch reference") { run_case("yolov3"); }
TEST_CASE("yolov2-tiny matches the PyTorch reference") { run_case("yolov2_tiny"); }
TEST_CASE("yolov2 with reorg matches the PyTorch reference") { run_case("yolov2"); }
TEST_CASE("yolov1-tiny matches the PyTorch reference") { run_case("yolov1_tiny"); }
TEST_CASE("yolov1 family (the paper) matches the PyTorch reference") { run_case("yolov1_family"); }
TEST_CASE("a small cfg with local layer and route groups matches the PyTorch reference") { run_case("mini"); }

TEST_CASE("osprey-detect runs a yolov3-tiny config and a bare cfg") {
  const nlohmann::json index = index_json();
  const std::string photo = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/darknet/dog.jpg";
  for (const std::string& model : {kRefs + "/yolov3_tiny.json", kRefs + "/yolov3_tiny.cfg"}) {
    const std::string cmd = std::string(OSPREY_DETECT) + " --model '" + model + "' --weights '" + kRefs +
                            "/yolov3_tiny.weights' --threads 2 --max-det 1000 --no-progress '" + photo + "' 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[4096];
    while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
    const int status = pclose(pipe);
    INFO(cmd, "\n", out);
    REQUIRE(status == 0);
    const nlohmann::json line = nlohmann::json::parse(out.substr(0, out.find('\n')));
    const auto& dets = line.at("detections");
    MESSAGE(model, ": ", dets.size(), " detections, first ", dets.at(0).dump());
    CHECK(dets.size() == index["cases"]["yolov3_tiny"]["detections"]["dog"].get<size_t>());
    CHECK(line.at("width") == 768);
    // the config names COCO's classes; the bare cfg falls back to class ids
    if (model.ends_with(".json")) CHECK(dets[0].at("label").get<std::string>() != std::to_string(dets[0].at("class_id").get<int>()));
    else CHECK(dets[0].at("label").get<std::string>() == std::to_string(dets[0].at("class_id").get<int>()));
  }
}

}  // namespace osprey::detect
