#include "io/detection_output.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "core/decimal.hpp"
#include "core/error.hpp"

namespace osprey {

namespace fs = std::filesystem;

nlohmann::ordered_json detections_json(const std::vector<Detection>& detections) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& d : detections) {
    nlohmann::ordered_json j{{"class_id", d.class_id},
                             {"label", d.label},
                             {"score", round_decimals(d.score, 5)},
                             {"box", {round_decimals(d.x1, 2), round_decimals(d.y1, 2), round_decimals(d.x2, 2), round_decimals(d.y2, 2)}}};
    if (!d.keypoints.empty()) {
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const auto& [x, y] : d.keypoints) points.push_back({round_decimals(x, 2), round_decimals(y, 2)});
      j["keypoints"] = std::move(points);
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::string yolo_lines(const std::vector<Detection>& detections, int image_width, int image_height) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(6);
  for (const auto& d : detections) {
    const double w = image_width, h = image_height;
    out << d.class_id << ' ' << (d.x1 + d.x2) / 2 / w << ' ' << (d.y1 + d.y2) / 2 / h << ' ' << (d.x2 - d.x1) / w << ' '
        << (d.y2 - d.y1) / h << '\n';
  }
  return out.str();
}

CocoResults::CocoResults(const std::string& ground_truth) {
  if (ground_truth.empty()) return;
  std::ifstream in(ground_truth);
  if (!in) throw ModelError(cat(ground_truth, ": cannot open COCO ground-truth file"));
  nlohmann::json gt;
  try {
    gt = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(cat(ground_truth, ": invalid JSON (", e.what(), ")"));
  }
  if (!gt.contains("images") || !gt["images"].is_array()) throw ModelError(cat(ground_truth, ": no \"images\" list"));
  for (const auto& image : gt["images"]) {
    if (!image.contains("id") || !image["id"].is_number_integer() || !image.contains("file_name") || !image["file_name"].is_string())
      throw ModelError(cat(ground_truth, ": every image needs an integer \"id\" and a \"file_name\""));
    ids_by_name_[fs::path(image["file_name"].get<std::string>()).filename().string()] = image["id"].get<int64_t>();
  }
}

int64_t CocoResults::image_id(const std::string& path) const {
  const std::string name = fs::path(path).filename().string();
  if (!ids_by_name_.empty()) {
    auto it = ids_by_name_.find(name);
    if (it == ids_by_name_.end()) throw InputError(cat(path, ": not among the ground truth's images"));
    return it->second;
  }
  const std::string stem = fs::path(path).stem().string();
  if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos || stem.size() > 18)
    throw InputError(cat(path, ": no COCO image id (give --coco-gt, or use numeric file names)"));
  return std::stoll(stem);
}

void CocoResults::add(int64_t image_id, const std::vector<Detection>& detections, const std::vector<int>& category_ids) {
  for (const auto& d : detections) {
    int category = d.class_id;
    if (!category_ids.empty()) {
      if (d.class_id < 0 || d.class_id >= static_cast<int>(category_ids.size()))
        throw ModelError(cat("class ", d.class_id, " has no COCO category id"));
      category = category_ids[d.class_id];
    }
    results_.push_back({{"image_id", image_id},
                        {"category_id", category},
                        {"bbox", {round_decimals(d.x1, 2), round_decimals(d.y1, 2), round_decimals(d.x2 - d.x1, 2), round_decimals(d.y2 - d.y1, 2)}},
                        {"score", round_decimals(d.score, 5)}});
  }
}

cv::Mat draw_detections(const cv::Mat& image, const std::vector<Detection>& detections) {
  cv::Mat out = image.channels() == 1 ? cv::Mat() : image.clone();
  if (image.channels() == 1) cv::cvtColor(image, out, cv::COLOR_GRAY2BGR);
  const int thickness = std::max(1, static_cast<int>(std::lround(std::max(out.cols, out.rows) / 400.0)));
  const double font_scale = std::max(0.4, std::max(out.cols, out.rows) / 1200.0);
  for (const auto& d : detections) {
    // A colour per class from the golden-angle hue walk: distinct and stable.
    const double hue = std::fmod(d.class_id * 137.508, 360.0) / 2.0;
    cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue, 200, 230)), bgr;
    cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
    const cv::Scalar colour(bgr.at<cv::Vec3b>(0)[0], bgr.at<cv::Vec3b>(0)[1], bgr.at<cv::Vec3b>(0)[2]);
    const cv::Point p1(static_cast<int>(std::lround(d.x1)), static_cast<int>(std::lround(d.y1)));
    const cv::Point p2(static_cast<int>(std::lround(d.x2)), static_cast<int>(std::lround(d.y2)));
    cv::rectangle(out, p1, p2, colour, thickness);
    for (const auto& [x, y] : d.keypoints)
      cv::circle(out, cv::Point(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y))), thickness + 1, colour, cv::FILLED,
                 cv::LINE_AA);
    std::ostringstream tag;
    tag.precision(2);
    tag << std::fixed << (d.label.empty() ? std::to_string(d.class_id) : d.label) << ' ' << d.score;
    int baseline = 0;
    const cv::Size size = cv::getTextSize(tag.str(), cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
    const int top = std::max(0, p1.y - size.height - baseline - 2);
    const int left = std::max(0, std::min(p1.x, out.cols - size.width - 2));  // keep the tag inside the image
    cv::rectangle(out, cv::Point(left, top), cv::Point(left + size.width + 2, top + size.height + baseline + 2), colour, cv::FILLED);
    // black or white text, whichever stands out on the tag colour
    const double luma = 0.114 * colour[0] + 0.587 * colour[1] + 0.299 * colour[2];
    cv::putText(out, tag.str(), cv::Point(left + 1, top + size.height + 1), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
  }
  return out;
}

}  // namespace osprey
