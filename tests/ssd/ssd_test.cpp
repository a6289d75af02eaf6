// SSD detectors against torchvision 0.14 (references from make_ssd_references.py, the
// "ssd_refs" fixture): default boxes identical to DefaultBoxGenerator for the three configs
// and custom settings (max abs diff <= 1e-6), and ssd300_vgg16, ssd512_vgg16 and
// ssdlite320_mobilenet_v3_large end to end on darknet's photos with seeded weights: the
// transformed batch, the flattened head outputs, the same detections (count and labels
// equal, boxes within 0.01 px, scores within 1e-4). Plus osprey-detect on an SSD config.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "detect/default_boxes.hpp"
#include "detect/ssd.hpp"
#include "model/families/ssd.hpp"
#include "model/npy.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace osprey;
using namespace osprey::detect;

namespace {

const json& index_json() {
  static const json index = [] {
    std::ifstream in(std::string(OSPREY_SSD_REFS) + "/index.json");
    REQUIRE_MESSAGE(in, "no ", OSPREY_SSD_REFS, "/index.json: run tests/ssd/make_ssd_references.py");
    return json::parse(in);
  }();
  return index;
}

const json& case_of(const std::string& name) {
  const json& cases = index_json().at("cases");
  REQUIRE_MESSAGE(cases.contains(name), "no reference case ", name);
  return cases.at(name);
}

Tensor array(const json& c, const std::string& key) {
  return read_npy(std::string(OSPREY_SSD_REFS) + "/" + c.at("arrays").at(key).get<std::string>());
}

std::vector<float> flatten(const std::vector<Box>& boxes) {
  std::vector<float> out;
  for (const Box& b : boxes) out.insert(out.end(), {b.x1, b.y1, b.x2, b.y2});
  return out;
}

std::vector<float> flatten(const std::vector<CenterBox>& boxes) {
  std::vector<float> out;
  for (const CenterBox& b : boxes) out.insert(out.end(), {b.cx, b.cy, b.w, b.h});
  return out;
}

double max_abs_diff(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  return worst;
}

std::vector<GridSize> grids_of(const json& c) {
  std::vector<GridSize> grids;
  for (const auto& g : c.at("grids")) grids.push_back({g[0].get<int64_t>(), g[1].get<int64_t>()});
  return grids;
}

void check_default_boxes(const DefaultBoxGenerator& gen, const json& c, const std::string& what) {
  const ImageSize size{c.at("size")[0].get<int64_t>(), c.at("size")[1].get<int64_t>()};
  const std::vector<GridSize> grids = grids_of(c);
  const double normalised = max_abs_diff(flatten(gen.normalised(size, grids)), array(c, "normalised").data);
  const double pixels = max_abs_diff(flatten(gen.generate(size, grids)), array(c, "pixels").data);
  MESSAGE(what, ": normalised max abs diff ", normalised, ", pixels ", pixels);
  CHECK(normalised <= 1e-6);
  CHECK(pixels <= 1e-6);
}

std::string config_of(const std::string& family) { return std::string(OSPREY_SOURCE_DIR) + "/configs/" + family + ".json"; }

}  // namespace

TEST_CASE("default boxes of the three SSD configs equal torchvision's DefaultBoxGenerator") {
  for (const char* family : {"ssd300_vgg16", "ssd512_vgg16", "ssdlite320_mobilenet_v3_large"}) {
    const SsdArch arch = ssd_arch_of_config(config_of(family));
    const DefaultBoxGenerator gen(default_box_params(arch));
    const json& c = case_of(std::string("default_boxes_") + family);
    // The scales the config implies are torchvision's (min/max ratios resolved the same way).
    const std::vector<double> want = c.at("scales").get<std::vector<double>>();
    REQUIRE(gen.scales().size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(gen.scales()[i] == want[i]);
    check_default_boxes(gen, c, family);
  }
}

TEST_CASE("default boxes of custom settings (non-square image + no clip + steps) equal torchvision's") {
  for (const char* name : {"default_boxes_custom", "default_boxes_custom_steps"}) {
    const json& c = case_of(name);
    DefaultBoxParams p;
    p.aspect_ratios = c.at("aspect_ratios").get<std::vector<std::vector<double>>>();
    p.scales = c.at("scales").get<std::vector<double>>();
    if (!c.at("steps").is_null()) p.steps = c.at("steps").get<std::vector<double>>();
    p.clip = c.at("clip").get<bool>();
    check_default_boxes(DefaultBoxGenerator(p), c, name);
  }
  // Scales from min / max ratios, as DefaultBoxGenerator estimates them.
  const std::vector<double> s = default_box_scales(3, 0.1, 0.8);
  const std::vector<double> want = case_of("default_boxes_custom").at("scales").get<std::vector<double>>();
  REQUIRE(s.size() == want.size());
  for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == want[i]);
}

TEST_CASE("default boxes: lists that do not fit are errors") {
  DefaultBoxParams p;
  p.aspect_ratios = {{2}, {2, 3}};
  p.scales = {0.1, 0.2};
  CHECK_THROWS_AS(DefaultBoxGenerator{p}, std::invalid_argument);
  p.scales = {};
  p.steps = {8};
  CHECK_THROWS_AS(DefaultBoxGenerator{p}, std::invalid_argument);
}

TEST_CASE("ssd detectors match torchvision end to end on photos") {
  for (const std::string family : {"ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "ssd512_vgg16"}) {
    CAPTURE(family);
    const json& c = case_of(family);
    const auto ssd = Ssd::load(config_of(family), std::string(OSPREY_SSD_REFS) + "/" + c.at("weights").get<std::string>());
    const int images = c.at("images").get<int>();
    std::vector<Tensor> inputs;
    for (int i = 0; i < images; ++i) inputs.push_back(array(c, "image" + std::to_string(i)));
    Ssd::Trace trace;
    const std::vector<Detections> got = ssd->detect(inputs, &trace);

    const double batch = max_abs_diff(trace.batch.data, array(c, "batch").data);
    const double priors = max_abs_diff(flatten(trace.priors), array(c, "priors").data);
    const Tensor logits = array(c, "cls_logits"), regression = array(c, "bbox_regression");
    std::vector<float> got_logits, got_regression;
    for (int i = 0; i < images; ++i) {
      got_logits.insert(got_logits.end(), trace.cls_logits[i].data.begin(), trace.cls_logits[i].data.end());
      got_regression.insert(got_regression.end(), trace.bbox_regression[i].data.begin(), trace.bbox_regression[i].data.end());
    }
    const double logit_err = max_abs_diff(got_logits, logits.data);
    const double regression_err = max_abs_diff(got_regression, regression.data);
    for (size_t k = 0; k < trace.grids.size(); ++k) {
      CHECK(trace.grids[k].height == c.at("grids")[k][0].get<int64_t>());
      CHECK(trace.grids[k].width == c.at("grids")[k][1].get<int64_t>());
    }
    // Normalised pixels reach 255 (ssd VGG's std 1/255): the batch is compared relative to that.
    CHECK(batch <= 1e-3);
    CHECK(priors <= 1e-6);
    CHECK(logit_err <= 2e-3);
    CHECK(regression_err <= 2e-3);
    REQUIRE(got.size() == static_cast<size_t>(images));
    for (int i = 0; i < images; ++i) {
      const std::string n = std::to_string(i);
      const std::vector<float> want_boxes = array(c, "boxes" + n).data, want_scores = array(c, "scores" + n).data,
                               want_labels = array(c, "labels" + n).data;
      REQUIRE(got[i].size() == want_scores.size());
      CHECK(got[i].size() > 0);
      std::vector<float> labels(got[i].labels.begin(), got[i].labels.end());
      CHECK(labels == want_labels);
      const double box_err = max_abs_diff(flatten(got[i].boxes), want_boxes);
      const double score_err = max_abs_diff(got[i].scores, want_scores);
      MESSAGE(family, " image ", i, ": ", got[i].size(), " detections; boxes max abs diff ", box_err, " px, scores ",
              score_err, "; batch ", batch, ", logits ", logit_err, ", regression ", regression_err, ", priors ", priors);
      CHECK(box_err <= 0.01);
      CHECK(score_err <= 1e-4);
    }
  }
}

TEST_CASE("osprey-detect prints JSON detections for an SSD config") {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "ssd_cli";
  fs::create_directories(dir);
  const std::string out = (dir / ("run" + std::to_string(::getpid()) + ".out")).string();
  const std::string cmd = std::string(OSPREY_DETECT) + " -m '" + config_of("ssdlite320_mobilenet_v3_large") + "' --weights '" +
                          OSPREY_SSD_REFS + "/ssdlite320_mobilenet_v3_large.safetensors' --threads 2 '" + OSPREY_SOURCE_DIR +
                          "/assets/photos/darknet/dog.jpg' --max-det 5 >" + out + " 2>" + out + ".err";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::ifstream in(out);
  std::string line;
  REQUIRE(std::getline(in, line));
  const json j = json::parse(line);
  CHECK(j.at("model") == "ssdlite320_mobilenet_v3_large");
  CHECK(j.at("task") == "detect");
  CHECK(j.at("width") == 768);
  CHECK(j.at("height") == 576);
  const json& dets = j.at("detections");
  CHECK(dets.size() == 5);
  float previous = 2.0f;
  for (const auto& d : dets) {
    CHECK(d.at("box").size() == 4);
    CHECK(d.at("class_id").get<int>() >= 1);
    CHECK(d.at("label").is_string());
    CHECK(d.at("score").get<float>() <= previous);
    previous = d.at("score").get<float>();
  }
}

TEST_CASE("ssd config errors name the file and the detector key") {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "ssd_cli";
  fs::create_directories(dir);
  const std::string weights = std::string(OSPREY_SSD_REFS) + "/ssdlite320_mobilenet_v3_large.safetensors";
  auto load_with = [&](const std::string& detector) -> std::string {
    const fs::path path = dir / "bad.json";
    std::ofstream(path) << R"({"task": "detect", "architecture": {"family": "ssdlite320_mobilenet_v3_large"}, "detector": )"
                        << detector << "}";
    try {
      load_detector(path.string(), weights);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  };
  const std::string ratios = load_with(R"({"kind": "ssd", "aspect_ratios": [[2], [3]]})");
  CHECK(ratios.find("bad.json") != std::string::npos);
  CHECK(ratios.find("aspect_ratios") != std::string::npos);
  CHECK(load_with(R"({"kind": "ssd", "scale": [0.1]})").find("scale") != std::string::npos);
  CHECK(load_with(R"({"kind": "ssd", "steps": [8, 16]})").find("steps") != std::string::npos);
  CHECK(load_with(R"({"kind": "ssd", "scales": [0.1, 0.2]})").find("scales") != std::string::npos);
  // A custom SSD from the config alone: other ratios change the head (and so the weights).
  CHECK(load_with(R"({"kind": "ssd", "aspect_ratios": [[2], [2], [2], [2], [2], [2]]})").find("head.") != std::string::npos);
  // Valid settings load.
  CHECK(load_with(R"({"kind": "ssd", "min_ratio": 0.1, "max_ratio": 0.9, "steps": null, "clip": false, "score_thresh": 0.2})") == "");
}
