// osprey-segment: a segmentation of every input image, one JSON line each.
//
// Semantic models (task "segment", e.g. FCN): the classes present with their pixel
// fractions; --masks writes an 8-bit PNG of class ids at the input's size, --overlay the
// photo with class colours and a legend. Instance models (a detector whose detections carry
// masks, e.g. Mask R-CNN: a config with a "detector" object, task "detect", or a maskrcnn
// family): detections with their masks as COCO RLE; --masks writes an instance-id PNG (0
// background, k = the k-th detection), --overlay masks, boxes and labels, --coco-out COCO
// results with "segmentation".
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <optional>

#include "app_common.hpp"
#include "core/decimal.hpp"
#include "core/error.hpp"
#include "detect/detector.hpp"
#include "engine/executor.hpp"
#include "io/detection_output.hpp"
#include "io/image.hpp"
#include "io/segmentation_output.hpp"
#include "model/json_reader.hpp"
#include "segment/rle.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-segment";

struct SegmentOptions {
  std::optional<float> conf;
  std::optional<double> iou;
  std::optional<int64_t> max_det;
  std::string masks_dir, overlay_dir, coco_out, coco_gt;
  double alpha = 0.5;
};

// Instance models are detectors: a "detector" object, task "detect", or a Mask R-CNN family.
bool is_instance_model(const std::string& config) {
  if (config.size() > 5 && config.compare(config.size() - 5, 5, ".onnx") == 0) return false;
  const nlohmann::json doc = read_json_file(config);
  if (!doc.is_object()) return false;
  if (doc.contains("detector")) return true;
  if (doc.contains("task") && doc["task"] == "detect") return true;
  if (doc.contains("architecture") && doc["architecture"].is_object() && doc["architecture"].contains("family") &&
      doc["architecture"]["family"].is_string())
    return doc["architecture"]["family"].get<std::string>().rfind("maskrcnn", 0) == 0;
  return false;
}

int run_semantic(const CommonOptions& o, const SegmentOptions& s) {
  if (s.conf || s.iou || s.max_det || !s.coco_out.empty())
    throw ModelError(cat("--conf, --iou, --max-det and --coco-out are for instance models; ", o.model, " is a semantic segmenter"));
  if (o.resize_shorter > 0)  // the classifier's crop setting; segmenters resize without cropping
    throw ModelError("--resize-shorter: segmenters take their resize from the config (\"segmenter\": {\"resize_shorter\": N})");
  auto segmenter = segment::Segmenter::load(o.model, o.load_options());
  const ModelConfig& cfg = segmenter->config();
  std::vector<std::string> names;
  for (int c = 0; c < std::max(segmenter->num_classes(), 2); ++c) names.push_back(class_label(cfg.labels, c));
  JsonLines out(o.output);
  const int failures = for_each_batch(kTool, o, out, nullptr, {},
      [&](const std::vector<LoadedImage>& loaded, const std::vector<Tensor>& images, int& failed) {
    const auto t1 = Clock::now();
    const auto results = segmenter->segment(images);
    const double infer_ms = ms_since(t1) / static_cast<double>(loaded.size());
    std::vector<nlohmann::ordered_json> lines;
    for (size_t n = 0; n < loaded.size(); ++n) {
      const LoadedImage& l = loaded[n];
      const auto t2 = Clock::now();
      try {
        const auto& r = results[n];
        const std::vector<double> fractions = segment::class_fractions(r.classes, segmenter->num_classes());
        std::vector<std::pair<double, int>> present;
        for (size_t c = 0; c < fractions.size(); ++c)
          if (fractions[c] > 0) present.push_back({fractions[c], static_cast<int>(c)});
        std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
        nlohmann::ordered_json classes = nlohmann::ordered_json::array();
        for (const auto& [f, c] : present) classes.push_back({{"class_id", c}, {"label", class_label(cfg.labels, c)}, {"fraction", round_decimals(f, 6)}});
        const std::string stem = fs::path(l.path).stem().string();
        if (!s.masks_dir.empty())
          write_image(fs::path(s.masks_dir) / (stem + ".png"), class_map_image(r.classes, static_cast<int>(r.height), static_cast<int>(r.width)));
        if (!s.overlay_dir.empty())
          write_image(fs::path(s.overlay_dir) / (stem + ".jpg"), draw_class_overlay(l.image, r.classes, names, s.alpha));
        lines.push_back({{"image", l.path},
                         {"width", l.image.cols},
                         {"height", l.image.rows},
                         {"task", "segment"},
                         {"model", cfg.name},
                         {"classes", std::move(classes)},
                         {"ms", {{"pre", round_ms(l.pre_ms)}, {"infer", round_ms(infer_ms)}, {"post", round_ms(ms_since(t2))}}}});
      } catch (const InputError& e) {
        lines.push_back(report_input_error(kTool, l.path, e.what()));
        ++failed;
      }
    }
    return lines;
  });
  out.commit();
  return failures ? 1 : 0;
}

int run_instance(const CommonOptions& o, const SegmentOptions& s) {
  detect::DetectorOptions params;
  params.score_thresh = s.conf;
  params.iou_thresh = s.iou;
  params.max_detections = s.max_det;
  params.load = o.load_options();  // a preprocessing flag the detector kind does not use is refused, naming it
  auto detector = detect::load_detector(o.model, o.weights, params);
  const ModelConfig& cfg = detector->config();
  const std::vector<std::string> labels = o.labels_or(cfg.labels);
  std::unique_ptr<CocoResults> coco = s.coco_out.empty() ? nullptr : std::make_unique<CocoResults>(s.coco_gt);
  nlohmann::json coco_results = nlohmann::json::array();
  JsonLines out(o.output);
  const int failures = for_each_batch(kTool, o, out, coco.get(), {},
      [&](const std::vector<LoadedImage>& loaded, const std::vector<Tensor>& images, int& failed) {
    const auto t1 = Clock::now();
    const std::vector<detect::Detections> found = detector->detect(images);
    const double infer_ms = ms_since(t1) / static_cast<double>(loaded.size());
    std::vector<nlohmann::ordered_json> lines;
    for (size_t n = 0; n < loaded.size(); ++n) {
      const LoadedImage& l = loaded[n];
      const detect::Detections& d = found[n];
      const auto t2 = Clock::now();
      try {
        if (d.masks.size() != d.size())
          throw ModelError(cat(o.model, ": the detector returned no instance masks; osprey-segment needs a model with masks (Mask R-CNN), "
                               "use osprey-detect for boxes"));
        std::vector<Detection> detections;
        nlohmann::ordered_json items = nlohmann::ordered_json::array();
        for (size_t k = 0; k < d.size(); ++k) {
          const int id = static_cast<int>(d.labels[k]);
          const auto& b = d.boxes[k];
          detections.push_back({b.x1, b.y1, b.x2, b.y2, id, d.scores[k], class_label(labels, id), {}});
          const segment::Rle rle = segment::rle_encode(d.masks[k].data, d.masks[k].height, d.masks[k].width);
          nlohmann::ordered_json item = detections_json({detections.back()})[0];
          item["segmentation"] = segment::rle_json(rle);
          item["area"] = rle_area(rle);
          if (coco)
            coco_results.push_back({{"image_id", l.coco_id},
                                    {"category_id", id},
                                    {"bbox", {item["box"][0], item["box"][1], round_decimals(b.x2 - b.x1, 2), round_decimals(b.y2 - b.y1, 2)}},
                                    {"segmentation", segment::rle_json(rle)},
                                    {"score", item["score"]}});
          items.push_back(std::move(item));
        }
        const std::string stem = fs::path(l.path).stem().string();
        if (!s.masks_dir.empty())
          write_image(fs::path(s.masks_dir) / (stem + ".png"), instance_map_image(d.masks, l.image.rows, l.image.cols));
        if (!s.overlay_dir.empty())
          write_image(fs::path(s.overlay_dir) / (stem + ".jpg"), draw_instance_overlay(l.image, d.masks, detections, s.alpha));
        lines.push_back({{"image", l.path},
                         {"width", l.image.cols},
                         {"height", l.image.rows},
                         {"task", "instance"},
                         {"model", cfg.name},
                         {"detections", std::move(items)},
                         {"ms", {{"pre", round_ms(l.pre_ms)}, {"infer", round_ms(infer_ms)}, {"post", round_ms(ms_since(t2))}}}});
      } catch (const InputError& e) {
        lines.push_back(report_input_error(kTool, l.path, e.what()));
        ++failed;
      }
    }
    return lines;
  });
  if (coco) write_file_atomically(s.coco_out, coco_results.dump() + "\n");
  out.commit();
  return failures ? 1 : 0;
}

int run_segmentation(const CommonOptions& o, const SegmentOptions& s) {
  set_num_threads(o.threads);
  cv::setNumThreads(1);
  if (s.alpha < 0 || s.alpha > 1) throw ModelError(cat("--alpha: expected a value in [0, 1], got ", s.alpha));
  for (const auto& dir : {s.masks_dir, s.overlay_dir})
    if (!dir.empty()) fs::create_directories(dir);
  return is_instance_model(o.model) ? run_instance(o, s) : run_semantic(o, s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Segment images: prints one JSON line per image (semantic: classes present with pixel fractions; "
               "instance: detections with COCO RLE masks)."};
  CommonOptions options;
  SegmentOptions s;
  add_common_flags(app, options);
  app.add_option("--masks", s.masks_dir,
                 "Write one PNG per image to this directory: class ids (semantic) or instance ids (0 background, k = k-th detection)");
  app.add_option("--overlay", s.overlay_dir, "Write the images with the segmentation drawn on them (JPEG) to this directory");
  app.add_option("--alpha", s.alpha, "Opacity of the overlay colours")->capture_default_str();
  app.add_option("--conf", s.conf, "Instance models: score threshold (default: the model's)");
  app.add_option("--iou", s.iou, "Instance models: IoU threshold of the NMS (default: the model's)");
  app.add_option("--max-det", s.max_det, "Instance models: detections per image at most (default: the model's)")->check(CLI::PositiveNumber);
  app.add_option("--coco-out", s.coco_out, "Instance models: write COCO results with \"segmentation\" (RLE) to this file");
  app.add_option("--coco-gt", s.coco_gt, "COCO ground truth whose \"images\" give the image ids (default: numeric file names)");
  return run_tool(kTool, argc, argv, app, [&] { return run_segmentation(options, s); });
}
