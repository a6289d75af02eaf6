// osprey-detect: objects in every input image, one JSON line each (boxes in input-image
// pixels, class id, label, score); optionally annotated images, COCO results and YOLO
// text files. With --proposals, Fast R-CNN: the RoI heads run on the given boxes and the
// RPN's proposals are not computed.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <map>
#include <optional>
#include <set>

#include "app_common.hpp"
#include "core/error.hpp"
#include "detect/detector.hpp"
#include "engine/executor.hpp"
#include "io/detection_output.hpp"
#include "io/image.hpp"
#include "io/inputs.hpp"
#include "model/model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-detect";

struct DetectOptions {
  // Unset: the model's defaults (torchvision's for R-CNN and SSD, Ultralytics' for YOLO).
  std::optional<float> conf;
  std::optional<double> iou;
  std::optional<int64_t> max_det;
  std::vector<std::string> classes;
  std::string draw_dir, coco_out, coco_gt, txt_dir;
  bool agnostic = false;
  std::string nms = "hard";
  float soft_sigma = 0.5f;
  std::string proposals;
};

// --proposals: {"<image file name>": [[x1, y1, x2, y2], ...], ...}, boxes in input-image
// pixels. Images are looked up by the path as given, then by file name.
using ProposalMap = std::map<std::string, std::vector<detect::Box>>;

ProposalMap read_proposals(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(cat("--proposals: cannot open ", path));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat("--proposals: ", path, ": ", e.what()));
  }
  if (!doc.is_object()) throw ModelError(cat("--proposals: ", path, ": expected an object mapping image file names to box lists"));
  ProposalMap out;
  for (const auto& [name, boxes] : doc.items()) {
    if (!boxes.is_array()) throw ModelError(cat("--proposals: ", path, ": \"", name, "\": expected a list of [x1, y1, x2, y2]"));
    auto& list = out[name];
    for (const auto& b : boxes) {
      if (!b.is_array() || b.size() != 4 || !std::all_of(b.begin(), b.end(), [](const auto& v) { return v.is_number(); }))
        throw ModelError(cat("--proposals: ", path, ": \"", name, "\": expected boxes as [x1, y1, x2, y2] numbers"));
      list.push_back({b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>()});
    }
  }
  return out;
}

const std::vector<detect::Box>& proposals_for(const ProposalMap& map, const std::string& path) {
  auto it = map.find(path);
  if (it == map.end()) it = map.find(fs::path(path).filename().string());
  if (it == map.end()) throw InputError(cat("no proposals for ", fs::path(path).filename().string(), " in --proposals"));
  return it->second;
}

// --classes: names or ids -> the set of class ids to keep (empty: all).
std::set<int> class_filter(const std::vector<std::string>& wanted, const std::vector<std::string>& labels) {
  std::set<int> ids;
  for (const auto& w : wanted) {
    if (!w.empty() && w.find_first_not_of("0123456789") == std::string::npos) {
      ids.insert(std::stoi(w));
      continue;
    }
    auto it = std::find(labels.begin(), labels.end(), w);
    if (it == labels.end()) throw ModelError(cat("--classes: no class is named '", w, "'"));
    ids.insert(static_cast<int>(it - labels.begin()));
  }
  return ids;
}

int run_detection(const CommonOptions& o, const DetectOptions& d) {
  set_num_threads(o.threads);
  cv::setNumThreads(1);
  detect::DetectorOptions params;
  params.score_thresh = d.conf;
  params.iou_thresh = d.iou;
  params.max_detections = d.max_det;
  if (d.agnostic) params.suppression = detect::Suppression::Agnostic;
  if (d.nms == "soft") {
    if (d.agnostic) throw ModelError("--agnostic-nms and --nms soft cannot be combined");
    params.suppression = detect::Suppression::Soft;
    params.soft.method = detect::SoftNmsMethod::Gaussian;
    params.soft.sigma = d.soft_sigma;
  }
  params.load = o.load_options();  // a preprocessing flag the detector kind does not use is refused, naming it
  const ProposalMap given = d.proposals.empty() ? ProposalMap{} : read_proposals(d.proposals);
  auto detector = detect::load_detector(o.model, o.weights, params);
  if (!d.proposals.empty() && !detector->accepts_proposals())
    throw ModelError(cat("--proposals: ", o.model, " is a single-stage detector; only two-stage detectors (Faster R-CNN) take proposals"));
  const std::vector<std::string> labels = o.labels_or(detector->config().labels);
  const std::set<int> keep = class_filter(d.classes, labels);

  std::unique_ptr<CocoResults> coco = d.coco_out.empty() ? nullptr : std::make_unique<CocoResults>(d.coco_gt);
  for (const auto& dir : {d.draw_dir, d.txt_dir})
    if (!dir.empty()) fs::create_directories(dir);
  JsonLines out(o.output);
  // An image without an entry in --proposals is reported in its place, as unreadable ones are.
  std::function<void(const LoadedImage&)> check;
  if (!d.proposals.empty()) check = [&](const LoadedImage& l) { proposals_for(given, l.path); };
  const int failures = for_each_batch(kTool, o, out, coco.get(), check,
      [&](const std::vector<LoadedImage>& loaded, const std::vector<Tensor>& images, int& failed) {
    std::vector<std::vector<detect::Box>> proposals;
    if (!d.proposals.empty())
      for (const LoadedImage& l : loaded) proposals.push_back(proposals_for(given, l.path));
    const auto t1 = Clock::now();
    const std::vector<detect::Detections> found =
        d.proposals.empty() ? detector->detect(images) : detector->detect(images, proposals);
    const double infer_ms = ms_since(t1) / static_cast<double>(loaded.size());
    std::vector<nlohmann::ordered_json> lines;
    for (size_t n = 0; n < loaded.size(); ++n) {
      const LoadedImage& l = loaded[n];
      const auto t2 = Clock::now();
      std::vector<Detection> detections;
      for (size_t k = 0; k < found[n].scores.size(); ++k) {
        const int id = static_cast<int>(found[n].labels[k]);
        if (!keep.empty() && !keep.count(id)) continue;
        const auto& b = found[n].boxes[k];
        Detection det{b.x1, b.y1, b.x2, b.y2, id, found[n].scores[k], class_label(labels, id), {}};
        if (k < found[n].keypoints.size())
          for (const auto& p : found[n].keypoints[k]) det.keypoints.push_back({p.x, p.y});
        detections.push_back(std::move(det));
      }
      try {
        const std::string stem = fs::path(l.path).stem().string();
        if (!d.draw_dir.empty()) write_image(fs::path(d.draw_dir) / (stem + ".jpg"), draw_detections(l.image, detections));
        if (!d.txt_dir.empty())
          write_file_atomically((fs::path(d.txt_dir) / (stem + ".txt")).string(), yolo_lines(detections, l.image.cols, l.image.rows));
        if (coco) coco->add(l.coco_id, detections);
        lines.push_back({{"image", l.path},
                         {"width", l.image.cols},
                         {"height", l.image.rows},
                         {"task", "detect"},
                         {"model", detector->config().name},
                         {"detections", detections_json(detections)},
                         {"ms", {{"pre", round_ms(l.pre_ms)}, {"infer", round_ms(infer_ms)}, {"post", round_ms(ms_since(t2))}}}});
      } catch (const InputError& e) {
        lines.push_back(report_input_error(kTool, l.path, e.what()));
        ++failed;
      }
    }
    return lines;
  });
  if (coco) write_file_atomically(d.coco_out, coco->results().dump() + "\n");
  out.commit();
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Detect objects: prints one JSON line per image with boxes (input-image pixels), classes and scores."};
  CommonOptions options;
  DetectOptions d;
  add_common_flags(app, options);
  app.add_option("--conf", d.conf, "Score threshold (default: the model's, e.g. 0.05 for Faster R-CNN, 0.25 for YOLO)");
  app.add_option("--iou", d.iou, "IoU threshold of the NMS (default: the model's, e.g. 0.5 for Faster R-CNN)");
  app.add_option("--max-det", d.max_det, "Detections per image at most (default: the model's, e.g. 100)")->check(CLI::PositiveNumber);
  app.add_flag("--agnostic-nms", d.agnostic, "Suppress overlaps across classes, not only within a class");
  app.add_option("--nms", d.nms, "hard (drop overlaps) or soft (Gaussian soft-NMS: decay their scores)")
      ->check(CLI::IsMember({"hard", "soft"}))->capture_default_str();
  app.add_option("--soft-sigma", d.soft_sigma, "Gaussian soft-NMS sigma")->capture_default_str();
  app.add_option_function<std::string>("--classes", [&d](const std::string& v) { d.classes = comma_items(v); },
                                       "Keep only these classes (names or ids, comma-separated)");
  app.add_option("--draw", d.draw_dir, "Write annotated images (JPEG) to this directory");
  app.add_option("--coco-out", d.coco_out, "Write COCO results (JSON list for pycocotools' loadRes) to this file");
  app.add_option("--coco-gt", d.coco_gt, "COCO ground truth whose \"images\" give the image ids (default: numeric file names)");
  app.add_option("--txt", d.txt_dir, "Write one YOLO-format text file per image to this directory");
  app.add_option("--proposals", d.proposals,
                 "Fast R-CNN: run the box head on these proposals instead of the RPN's. JSON object mapping image file "
                 "names to lists of [x1, y1, x2, y2] boxes in input-image pixels, e.g. {\"dog.jpg\": [[10, 20, 200, 300]]}; "
                 "an image without an entry is reported as an error");
  return run_tool(kTool, argc, argv, app, [&] { return run_detection(options, d); });
}
