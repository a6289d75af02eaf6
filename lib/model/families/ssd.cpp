// Families "ssd300_vgg16", "ssd512_vgg16", "ssdlite320_mobilenet_v3_large": torchvision's
// models/detection/ssd.py (SSDFeatureExtractorVGG, SSDHead) and ssdlite.py
// (SSDLiteFeatureExtractorMobileNet, SSDLiteHead) as graphs, plus the reading of their
// settings (architecture keys and the "detector" object).
#include "model/families/ssd.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "model/families/mobilenet_v3.hpp"
#include "model/json_reader.hpp"

namespace osprey {

std::vector<int> SsdArch::boxes_per_location() const {
  std::vector<int> out;
  for (const auto& ratios : aspect_ratios) out.push_back(2 + 2 * static_cast<int>(ratios.size()));
  return out;
}

bool is_ssd_family(const std::string& family) {
  return family == "ssd300_vgg16" || family == "ssd512_vgg16" || family == "ssdlite320_mobilenet_v3_large";
}

SsdArch ssd_defaults(const std::string& family) {
  SsdArch a;
  if (family == "ssd300_vgg16") {
    a.aspect_ratios = {{2}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}};
    a.scales = {0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05};
    a.steps = {8, 16, 32, 64, 100, 300};
    return a;
  }
  if (family == "ssd512_vgg16") {
    // The paper's SSD512 boxes (Caffe's min sizes 35.84 .. 460.8 and max sizes 76.8 .. 537.6
    // of 512, ratios 2 on the first and last two maps, 2 and 3 between). Its steps (8 .. 512)
    // assume maps of 64, 32, 16, 8, 4, 2, 1; torchvision's highres extractor gives 64, 32,
    // 16, 8, 6, 4, 1, so the centres follow the paper's (i + 0.5) / |f_k| (no steps).
    a.highres = true;
    a.height = a.width = 512;
    a.aspect_ratios = {{2}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}};
    a.scales = {0.07, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05};
    return a;
  }
  if (family == "ssdlite320_mobilenet_v3_large") {
    a.body = SsdArch::Body::MobileNetV3Large;
    a.lite_head = true;
    a.height = a.width = 320;
    a.image_mean = {0.5f, 0.5f, 0.5f};
    a.image_std = {0.5f, 0.5f, 0.5f};
    a.aspect_ratios = std::vector<std::vector<double>>(6, {2, 3});
    a.min_ratio = 0.2;
    a.max_ratio = 0.95;
    a.score_thresh = 0.001f;
    a.nms_thresh = 0.55;
    a.detections_per_img = 300;
    a.topk_candidates = 300;
    return a;
  }
  throw std::invalid_argument(cat("'", family, "' is not an SSD family"));
}

namespace {

std::vector<double> positive_numbers(ObjectReader& r, const std::string& key) {
  std::vector<double> v = r.numbers(key);
  for (double x : v)
    if (!(x > 0)) r.fail(key, "expected positive numbers");
  return v;
}

std::array<float, 3> three(ObjectReader& r, const std::string& key, bool positive) {
  const std::vector<double> v = r.numbers(key);
  if (v.size() != 3) r.fail(key, cat("expected 3 numbers (R, G, B), got ", v.size()));
  for (double x : v)
    if (positive && !(x > 0)) r.fail(key, "expected positive numbers");
  return {static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2])};
}

// The config's "detector" object over the family defaults.
void read_detector(SsdArch& a, const std::string& config_path) {
  const nlohmann::json doc = read_json_file(config_path);
  if (!doc.is_object() || !doc.contains("detector")) return;
  ObjectReader top(doc, config_path);
  ObjectReader d = top.object("detector");
  if (d.string("kind") != "ssd") d.fail("kind", "expected \"ssd\" for an SSD family");
  if (d.has("size")) {
    const auto hw = d.pair("size", {a.height, a.width});
    if (hw[0] <= 0 || hw[1] <= 0) d.fail("size", "expected positive sizes");
    a.height = hw[0], a.width = hw[1];
  }
  if (d.has("image_mean")) a.image_mean = three(d, "image_mean", false);
  if (d.has("image_std")) a.image_std = three(d, "image_std", true);
  if (d.has("aspect_ratios")) {
    const auto& v = d.raw("aspect_ratios");
    if (!v.is_array() || v.size() != a.maps())
      d.fail("aspect_ratios", cat("expected a list of ", a.maps(), " lists of numbers (one per feature map of the network)"));
    a.aspect_ratios.clear();
    for (const auto& map : v) {
      if (!map.is_array()) d.fail("aspect_ratios", "expected lists of numbers");
      a.aspect_ratios.emplace_back();
      for (const auto& x : map) {
        if (!x.is_number() || !(x.get<double>() > 0)) d.fail("aspect_ratios", "expected positive numbers");
        a.aspect_ratios.back().push_back(x.get<double>());
      }
    }
  }
  // Explicit scales win over min_ratio / max_ratio; giving the ratios drops the defaults' scales.
  if (d.has("min_ratio") || d.has("max_ratio")) a.scales.clear();
  a.min_ratio = d.number("min_ratio", a.min_ratio);
  a.max_ratio = d.number("max_ratio", a.max_ratio);
  if (!(a.min_ratio > 0) || !(a.max_ratio >= a.min_ratio)) d.fail("min_ratio", "expected 0 < min_ratio <= max_ratio");
  if (d.has("scales")) {
    a.scales = positive_numbers(d, "scales");
    if (a.scales.size() != a.maps() + 1)
      d.fail("scales", cat("expected ", a.maps() + 1, " scales (one per feature map and one more), got ", a.scales.size()));
  }
  if (d.has("steps")) {
    if (d.raw("steps").is_null()) {
      a.steps.clear();
    } else {
      a.steps = positive_numbers(d, "steps");
      if (a.steps.size() != a.maps()) d.fail("steps", cat("expected ", a.maps(), " steps (one per feature map) or null, got ", a.steps.size()));
    }
  }
  a.clip = d.boolean("clip", a.clip);
  if (d.has("box_weights")) {
    const std::vector<double> w = positive_numbers(d, "box_weights");
    if (w.size() != 4) d.fail("box_weights", cat("expected 4 numbers (wx, wy, ww, wh), got ", w.size()));
    for (size_t i = 0; i < 4; ++i) a.box_weights[i] = static_cast<float>(w[i]);
  }
  const double score = d.number("score_thresh", a.score_thresh);
  if (!(score >= 0 && score <= 1)) d.fail("score_thresh", "expected a number in [0, 1]");
  a.score_thresh = static_cast<float>(score);
  a.nms_thresh = d.number("iou_thresh", a.nms_thresh);
  if (!(a.nms_thresh >= 0 && a.nms_thresh <= 1)) d.fail("iou_thresh", "expected a number in [0, 1]");
  a.detections_per_img = d.integer("max_detections", a.detections_per_img);
  if (a.detections_per_img <= 0) d.fail("max_detections", "expected a positive count");
  a.topk_candidates = d.integer("topk_candidates", a.topk_candidates);
  if (a.topk_candidates <= 0) d.fail("topk_candidates", "expected a positive count");
  d.finish();
}

// Architecture keys over the family defaults.
SsdArch read_ssd_arch(ObjectReader& arch, const std::string& family) {
  SsdArch a = ssd_defaults(family);
  a.num_classes = arch.integer("num_classes", a.num_classes);
  if (a.num_classes < 2) arch.fail("num_classes", "must be at least 2 (background and one class)");
  if (a.body == SsdArch::Body::MobileNetV3Large) {
    const double eps = arch.number("bn_eps", a.bn_eps);
    if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
    a.bn_eps = static_cast<float>(eps);
  }
  read_detector(a, arch.file());
  return a;
}

ConvSpec conv_spec(int out, int k, int stride = 1, int pad = 0, int groups = 1, bool bias = true, int dilation = 1) {
  return {out, {k, k}, {stride, stride}, {pad, pad}, groups, {dilation, dilation}, bias};
}

// SSDFeatureExtractorVGG: the six (seven with highres) feature maps.
std::vector<int> vgg_body(GraphBuilder& b, bool highres) {
  constexpr int M = 0, C = -1;  // max pool, ceil-mode max pool (pool3)
  static const int features[] = {64, 64, M, 128, 128, M, 256, 256, 256, C, 512, 512, 512};
  int x = b.input(), index = 0;
  auto name = [&](int i) { return cat("backbone.features.", i); };
  for (int c : features) {
    if (c <= 0) {
      x = b.max_pool(name(index++), x, {2, 2}, {2, 2}, {0, 0}, c == C);
      continue;
    }
    x = b.relu(name(index + 1), b.conv(name(index), x, conv_spec(c, 3, 1, 1)));
    index += 2;
  }
  std::vector<int> maps;
  // conv4_3, L2-normalised and rescaled; the extra layers continue from the raw values.
  maps.push_back(b.l2_norm("backbone.l2_norm", x, "backbone.scale_weight"));
  // extra.0: pool4, conv5_1..3, pool5 (3x3 s1 p1), fc6 (3x3 dilation 6), fc7 (1x1).
  x = b.max_pool("backbone.extra.0.0", x, {2, 2}, {2, 2});
  for (int i = 1; i <= 5; i += 2) x = b.relu(cat("backbone.extra.0.", i + 1), b.conv(cat("backbone.extra.0.", i), x, conv_spec(512, 3, 1, 1)));
  x = b.max_pool("backbone.extra.0.7.0", x, {3, 3}, {1, 1}, {1, 1});
  x = b.relu("backbone.extra.0.7.2", b.conv("backbone.extra.0.7.1", x, conv_spec(1024, 3, 1, 6, 1, true, 6)));
  x = b.relu("backbone.extra.0.7.4", b.conv("backbone.extra.0.7.3", x, conv_spec(1024, 1)));
  maps.push_back(x);
  struct Extra {
    int mid, out, kernel, stride, pad;
  };
  std::vector<Extra> extras{{256, 512, 3, 2, 1}, {128, 256, 3, 2, 1}, {128, 256, 3, 1, 0}, {128, 256, 3, 1, 0}};
  if (highres) extras.push_back({128, 256, 4, 1, 0});
  for (size_t e = 0; e < extras.size(); ++e) {
    const Extra& s = extras[e];
    const std::string p = cat("backbone.extra.", e + 1, ".");
    x = b.relu(p + "1", b.conv(p + "0", x, conv_spec(s.mid, 1)));
    x = b.relu(p + "3", b.conv(p + "2", x, conv_spec(s.out, s.kernel, s.stride, s.pad)));
    maps.push_back(x);
  }
  return maps;
}

// Conv2dNormActivation with ReLU6 (SSDlite's extra blocks and head).
int cna_relu6(GraphBuilder& b, const std::string& name, int x, int out, int k, int stride, int groups, float eps) {
  x = b.conv(name + ".0", x, conv_spec(out, k, stride, (k - 1) / 2, groups, false));
  x = b.batch_norm(name + ".1", x, eps);
  return b.activation(name + ".2", x, {ActKind::Relu6});
}

// SSDLiteFeatureExtractorMobileNet: C4 (features[13]'s expansion), the end of features, four
// extra blocks. Module names as torchvision regroups them: features.0 = features[0..12] +
// features[13].block[0], features.1 = features[13].block[1:] + features[14..16].
std::vector<int> mobilenet_body(GraphBuilder& b, float eps) {
  const MobileNetNaming name = [](int i, int sub) -> std::string {
    const std::string tail = sub < 0 ? "" : cat(".block.", sub);
    if (i <= 12) return cat("backbone.features.0.", i, tail);
    if (i == 13) return sub == 0 ? "backbone.features.0.13" : sub < 0 ? "backbone.features.1.0" : cat("backbone.features.1.0.", sub);
    return cat("backbone.features.1.", i - 13, tail);
  };
  const MobileNetV3Features f = mobilenet_v3_large_features(b, b.input(), {eps, true, name});
  std::vector<int> maps{f.expansions[13], f.outputs[16]};
  int x = maps.back();
  int e = 0;
  for (int out : {512, 256, 256, 128}) {
    const std::string p = cat("backbone.extra.", e++, ".");
    const int mid = out / 2;
    x = cna_relu6(b, p + "0", x, mid, 1, 1, 1, eps);
    x = cna_relu6(b, p + "1", x, mid, 3, 2, mid, eps);
    x = cna_relu6(b, p + "2", x, out, 1, 1, 1, eps);
    maps.push_back(x);
  }
  return maps;
}

FamilyModel build_ssd(ObjectReader& arch, const std::string& family) {
  const SsdArch a = read_ssd_arch(arch, family);
  GraphBuilder b(3);
  const std::vector<int> maps = a.body == SsdArch::Body::Vgg16 ? vgg_body(b, a.highres) : mobilenet_body(b, a.bn_eps);
  const std::vector<int> boxes = a.boxes_per_location();
  std::vector<int> cls, reg;
  for (const auto& [head, columns, out] : {std::tuple{"classification_head", a.num_classes, &cls}, std::tuple{"regression_head", 4, &reg}})
    for (size_t k = 0; k < maps.size(); ++k) {
      const std::string name = cat("head.", head, ".module_list.", k);
      const int x = maps[k], channels = b.channels(x), filters = boxes[k] * columns;
      if (a.lite_head) {
        // _prediction_block: depthwise 3x3 + BatchNorm + ReLU6, then a 1x1 conv.
        out->push_back(b.conv(name + ".1", cna_relu6(b, name + ".0", x, channels, 3, 1, channels, a.bn_eps), conv_spec(filters, 1)));
      } else {
        out->push_back(b.conv(name, x, conv_spec(filters, 3, 1, 1)));
      }
    }
  for (size_t k = 0; k < maps.size(); ++k) b.output(cls[k], cat("head.cls_logits.", k));
  for (size_t k = 0; k < maps.size(); ++k) b.output(reg[k], cat("head.bbox_regression.", k));
  // What the transform does, for inspection (lib/detect/ssd resizes and normalises).
  InputSpec input;
  input.height = a.height;
  input.width = a.width;
  input.resize = ResizeMode::Stretch;
  input.mean.assign(a.image_mean.begin(), a.image_mean.end());
  input.std.assign(a.image_std.begin(), a.image_std.end());
  return {b.finish(), input, a.num_classes};
}

}  // namespace

SsdArch ssd_arch_of_config(const std::string& config_path) {
  const nlohmann::json doc = read_json_file(config_path);
  ObjectReader top(doc, config_path);
  ObjectReader arch = top.object("architecture");
  const std::string family = arch.string("family", "");
  if (!is_ssd_family(family))
    arch.fail("family", cat("'", family, "' is not an SSD family (ssd300_vgg16, ssd512_vgg16, ssdlite320_mobilenet_v3_large)"));
  return read_ssd_arch(arch, family);
}

FamilyModel build_ssd300_vgg16(ObjectReader& arch) { return build_ssd(arch, "ssd300_vgg16"); }
FamilyModel build_ssd512_vgg16(ObjectReader& arch) { return build_ssd(arch, "ssd512_vgg16"); }
FamilyModel build_ssdlite320_mobilenet_v3_large(ObjectReader& arch) { return build_ssd(arch, "ssdlite320_mobilenet_v3_large"); }

}  // namespace osprey
