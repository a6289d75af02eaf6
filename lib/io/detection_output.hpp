// Writing detections the ways users consume them: a JSON object per image (the CLI's
// lines), COCO results (the list pycocotools' COCO.loadRes accepts: image_id,
// category_id, bbox as [x, y, width, height], score), YOLO text files (one line per box:
// class cx cy w h, normalised to the image size), and annotated images.
#pragma once

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace osprey {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // input-image pixels
  int class_id = 0;
  float score = 0;
  std::string label;
  std::vector<std::array<float, 2>> keypoints;  // (x, y) input-image pixels: landmarks, text-box corners
};

// [{"class_id", "label", "score", "box": [x1, y1, x2, y2], "keypoints": [[x, y], ...]}, ...],
// keypoints only when the detector gives them; numbers rounded for reading.
nlohmann::ordered_json detections_json(const std::vector<Detection>& detections);

// YOLO format: "class cx cy w h" per line, coordinates in [0, 1] of the image size.
std::string yolo_lines(const std::vector<Detection>& detections, int image_width, int image_height);

// COCO results for a whole run. Image ids come from a ground-truth file's "images"
// (matched by file name) or, without one, from numeric file names ("000000397133.jpg").
class CocoResults {
 public:
  // `ground_truth` may be empty. Throws ModelError for an unreadable ground-truth file.
  explicit CocoResults(const std::string& ground_truth);
  // The image id of a path; throws InputError when it has none.
  int64_t image_id(const std::string& path) const;
  // `category_ids` maps class ids to COCO category ids (empty: the class id is the category id).
  void add(int64_t image_id, const std::vector<Detection>& detections, const std::vector<int>& category_ids = {});
  const nlohmann::json& results() const { return results_; }

 private:
  std::map<std::string, int64_t> ids_by_name_;
  nlohmann::json results_ = nlohmann::json::array();
};

// The image with each detection drawn: a box and a "label score" tag, colours per class,
// the tag on a filled background so it reads on any photo; keypoints as dots.
cv::Mat draw_detections(const cv::Mat& image, const std::vector<Detection>& detections);

}  // namespace osprey
