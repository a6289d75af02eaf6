// PP-OCR text detection: DetResizeForTest + NormalizeImage, the network, DBPostProcess;
// see db_text.hpp. OpenCV (findContours, minAreaRect, fillPoly, mean) is the same library
// PaddleOCR calls, so the boxes are PaddleOCR's.
#include "detect/db_text.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/transform.hpp"
#include "model/json_reader.hpp"

namespace osprey::detect {

namespace {

using Quad = std::array<cv::Point2f, 4>;

// get_mini_boxes: the minimum-area rectangle's corners, ordered top-left, top-right,
// bottom-right, bottom-left (of the two leftmost the upper, of the two rightmost the upper
// ...), and its shorter side.
template <typename Points>
Quad mini_box(const Points& points, float* shorter_side) {
  const cv::RotatedRect rect = cv::minAreaRect(points);
  std::array<cv::Point2f, 4> p;
  rect.points(p.data());  // cv2.boxPoints
  std::stable_sort(p.begin(), p.end(), [](const cv::Point2f& a, const cv::Point2f& b) { return a.x < b.x; });
  const int i1 = p[1].y > p[0].y ? 0 : 1, i4 = 1 - i1;
  const int i2 = p[3].y > p[2].y ? 2 : 3, i3 = 5 - i2;
  *shorter_side = std::min(rect.size.width, rect.size.height);
  return {p[static_cast<size_t>(i1)], p[static_cast<size_t>(i2)], p[static_cast<size_t>(i3)], p[static_cast<size_t>(i4)]};
}

// box_score_fast: the mean probability inside the quad, over its clipped bounding rows / columns.
double box_score(const cv::Mat& prob, const Quad& box) {
  const int h = prob.rows, w = prob.cols;
  float min_x = box[0].x, max_x = box[0].x, min_y = box[0].y, max_y = box[0].y;
  for (const auto& p : box) {
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  }
  const int xmin = std::clamp(static_cast<int>(std::floor(min_x)), 0, w - 1);
  const int xmax = std::clamp(static_cast<int>(std::ceil(max_x)), 0, w - 1);
  const int ymin = std::clamp(static_cast<int>(std::floor(min_y)), 0, h - 1);
  const int ymax = std::clamp(static_cast<int>(std::ceil(max_y)), 0, h - 1);
  cv::Mat mask = cv::Mat::zeros(ymax - ymin + 1, xmax - xmin + 1, CV_8U);
  std::vector<cv::Point> pts;
  // float32 minus the offset, truncated toward zero (numpy's astype(np.int32)).
  for (const auto& p : box)
    pts.emplace_back(static_cast<int>(p.x - static_cast<float>(xmin)), static_cast<int>(p.y - static_cast<float>(ymin)));
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(1));
  return cv::mean(prob(cv::Rect(xmin, ymin, xmax - xmin + 1, ymax - ymin + 1)), mask)[0];
}

// Clipper's Round: halves away from zero.
int64_t clipper_round(double v) { return v < 0 ? static_cast<int64_t>(v - 0.5) : static_cast<int64_t>(v + 0.5); }

// Python's round (halves to even) on a double.
int64_t python_round(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

}  // namespace

std::vector<std::array<int64_t, 2>> clipper_offset_round(std::span<const std::array<float, 2>> polygon, double delta) {
  using P = std::array<int64_t, 2>;
  if (!(delta > 0)) throw std::invalid_argument(cat("clipper_offset_round: expected a positive delta, got ", delta));
  // pyclipper converts coordinates with int(): truncation.
  std::vector<P> path;
  for (const auto& v : polygon) path.push_back({static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1])});
  // ClipperOffset::AddPath: a closed path drops its repeated last points and consecutive duplicates.
  std::vector<P> src;
  if (!path.empty()) {
    size_t high = path.size() - 1;
    while (high > 0 && path[0] == path[high]) --high;
    src.push_back(path[0]);
    for (size_t i = 1; i <= high; ++i)
      if (src.back() != path[i]) src.push_back(path[i]);
  }
  if (src.size() < 3) return {};
  // FixOrientations: a negative area (Clipper's sign) reverses the path.
  double a = 0;
  for (size_t i = 0, j = src.size() - 1; i < src.size(); j = i++)
    a += (static_cast<double>(src[j][0]) + static_cast<double>(src[i][0])) * (static_cast<double>(src[j][1]) - static_cast<double>(src[i][1]));
  if (-a * 0.5 < 0) std::reverse(src.begin(), src.end());
  // DoOffset with the arc tolerance 0.25 (pyclipper's default).
  constexpr double pi = 3.141592653589793238, two_pi = pi * 2, arc_tolerance = 0.25;
  const double y = arc_tolerance > delta * arc_tolerance ? delta * arc_tolerance : arc_tolerance;
  double steps = pi / std::acos(1 - y / delta);
  if (steps > delta * pi) steps = delta * pi;
  const double sin_step = std::sin(two_pi / steps), cos_step = std::cos(two_pi / steps), steps_per_rad = steps / two_pi;
  const size_t len = src.size();
  std::vector<std::array<double, 2>> normals(len);
  for (size_t j = 0; j < len; ++j) {
    const P& p1 = src[j];
    const P& p2 = src[(j + 1) % len];
    double dx = static_cast<double>(p2[0] - p1[0]), dy = static_cast<double>(p2[1] - p1[1]);
    if (dx == 0 && dy == 0) {
      normals[j] = {0, 0};
      continue;
    }
    const double f = 1 / std::sqrt(dx * dx + dy * dy);
    dx *= f;
    dy *= f;
    normals[j] = {dy, -dx};
  }
  std::vector<P> out;
  auto moved = [&](size_t j, const std::array<double, 2>& n) {
    return P{clipper_round(static_cast<double>(src[j][0]) + n[0] * delta), clipper_round(static_cast<double>(src[j][1]) + n[1] * delta)};
  };
  size_t k = len - 1;
  for (size_t j = 0; j < len; ++j) {
    // OffsetPoint(j, k) with jtRound.
    double sin_a = normals[k][0] * normals[j][1] - normals[j][0] * normals[k][1];
    if (std::fabs(sin_a * delta) < 1.0) {
      const double cos_a = normals[k][0] * normals[j][0] + normals[j][1] * normals[k][1];
      if (cos_a > 0) {  // nearly straight on: one point (k stays, as in Clipper)
        out.push_back(moved(j, normals[k]));
        continue;
      }
    } else if (sin_a > 1.0) {
      sin_a = 1.0;
    } else if (sin_a < -1.0) {
      sin_a = -1.0;
    }
    if (sin_a * delta < 0) {  // concave corner
      out.push_back(moved(j, normals[k]));
      out.push_back(src[j]);
      out.push_back(moved(j, normals[j]));
    } else {  // DoRound
      const double angle = std::atan2(sin_a, normals[k][0] * normals[j][0] + normals[k][1] * normals[j][1]);
      const int n = std::max(static_cast<int>(clipper_round(steps_per_rad * std::fabs(angle))), 1);
      double x = normals[k][0], yy = normals[k][1];
      for (int i = 0; i < n; ++i) {
        out.push_back({clipper_round(static_cast<double>(src[j][0]) + x * delta), clipper_round(static_cast<double>(src[j][1]) + yy * delta)});
        const double x2 = x;
        x = x * cos_step - sin_step * yy;
        yy = x2 * sin_step + yy * cos_step;
      }
      out.push_back(moved(j, normals[j]));
    }
    k = j;
  }
  return out;
}

std::array<int64_t, 2> db_input_size(int64_t height, int64_t width, const DbParams& params) {
  if (height <= 0 || width <= 0) throw std::invalid_argument(cat("db_input_size: expected a non-empty image, got ", height, "x", width));
  const double limit = params.limit_side_len;
  double ratio = 1.0;
  if (params.limit_max) {
    if (std::max(height, width) > params.limit_side_len) ratio = limit / static_cast<double>(height > width ? height : width);
  } else if (std::min(height, width) < params.limit_side_len) {
    ratio = limit / static_cast<double>(height < width ? height : width);
  }
  const auto rh = static_cast<int64_t>(static_cast<double>(height) * ratio);
  const auto rw = static_cast<int64_t>(static_cast<double>(width) * ratio);
  return {std::max<int64_t>(python_round(static_cast<double>(rh) / 32) * 32, 32),
          std::max<int64_t>(python_round(static_cast<double>(rw) / 32) * 32, 32)};
}

std::vector<TextBox> db_text_boxes(std::span<const float> prob, int64_t map_h, int64_t map_w, int64_t dest_h, int64_t dest_w,
                                   const DbParams& params) {
  if (map_h <= 0 || map_w <= 0 || static_cast<int64_t>(prob.size()) != map_h * map_w)
    throw std::invalid_argument(cat("db_text_boxes: expected ", map_h, "x", map_w, " probabilities, got ", prob.size()));
  const int h = static_cast<int>(map_h), w = static_cast<int>(map_w);
  const cv::Mat pred(h, w, CV_32F, const_cast<float*>(prob.data()));
  cv::Mat bitmap(h, w, CV_8U);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) bitmap.at<uint8_t>(y, x) = pred.at<float>(y, x) > params.thresh ? 255 : 0;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  const size_t count = std::min(contours.size(), static_cast<size_t>(std::max(params.max_candidates, 0)));
  std::vector<TextBox> boxes;
  for (size_t c = 0; c < count; ++c) {
    float side = 0;
    const Quad quad = mini_box(contours[c], &side);
    if (side < 3) continue;
    const double score = box_score(pred, quad);
    if (params.box_thresh > score) continue;
    // unclip: shapely's area and length of the quad (double), offset by area * ratio / length.
    double area2 = 0, length = 0;
    for (size_t i = 0; i < 4; ++i) {
      const cv::Point2f& p = quad[i];
      const cv::Point2f& q = quad[(i + 1) % 4];
      area2 += static_cast<double>(p.x) * static_cast<double>(q.y) - static_cast<double>(q.x) * static_cast<double>(p.y);
      const double dx = static_cast<double>(q.x) - static_cast<double>(p.x), dy = static_cast<double>(q.y) - static_cast<double>(p.y);
      length += std::sqrt(dx * dx + dy * dy);
    }
    const double distance = std::abs(area2) / 2 * params.unclip_ratio / length;
    std::array<std::array<float, 2>, 4> poly;
    for (size_t i = 0; i < 4; ++i) poly[i] = {quad[i].x, quad[i].y};
    if (!(distance > 0)) continue;
    const auto grown = clipper_offset_round(poly, distance);
    if (grown.empty()) continue;
    std::vector<cv::Point> points;
    for (const auto& p : grown) points.emplace_back(static_cast<int>(p[0]), static_cast<int>(p[1]));
    const Quad big = mini_box(points, &side);
    if (side < 3 + 2) continue;
    TextBox box;
    for (size_t i = 0; i < 4; ++i) {
      // float32 as numpy computes x / width * dest_width, rounded half to even, clipped.
      const float x = std::nearbyint(big[i].x / static_cast<float>(w) * static_cast<float>(dest_w));
      const float y = std::nearbyint(big[i].y / static_cast<float>(h) * static_cast<float>(dest_h));
      box.corners[i] = {std::clamp(x, 0.0f, static_cast<float>(dest_w)), std::clamp(y, 0.0f, static_cast<float>(dest_h))};
    }
    box.score = static_cast<float>(score);
    boxes.push_back(box);
  }
  return boxes;
}

DbText::DbText(std::unique_ptr<Model> model, const DbParams& params)
    : model_(std::move(model)), config_(model_->config()), params_(params) {
  if (config_.labels.empty()) config_.labels = {"text"};
}

std::unique_ptr<DbText> DbText::load(const std::string& config, const DbParams& params, const LoadOptions& overrides) {
  const ModelConfig cfg = read_config(config);
  if (cfg.onnx.empty()) throw ModelError(cat(config, ": architecture: a db_text detector needs {\"onnx\": FILE}"));
  LoadOptions options = overrides;
  // Prepared at a typical size; each image runs at its own (multiples of 32).
  options.input_json = R"({"size": [640, 640], "resize": "stretch"})";
  return std::unique_ptr<DbText>(new DbText(Model::load(config, options), params));
}

std::vector<TextBox> DbText::text_boxes(const Tensor& image, Tensor* map) {
  if (image.shape.size() != 3 || image.shape[0] != 3 || image.shape[1] <= 0 || image.shape[2] <= 0)
    throw std::invalid_argument(cat("DbText: expected a [3, H, W] image, got ", to_string(image.shape)));
  const int64_t h = image.shape[1], w = image.shape[2];
  const auto [rh, rw] = db_input_size(h, w, params_);
  Tensor x = (rh == h && rw == w) ? image : resize_bilinear(image, rh, rw);
  // NormalizeImage on the BGR image: channel c of the input is RGB channel 2 - c.
  constexpr float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  const int64_t plane = rh * rw;
  Tensor batch({1, 3, rh, rw});
  for (int64_t c = 0; c < 3; ++c) {
    const float* src = x.data.data() + (2 - c) * plane;
    float* dst = batch.data.data() + c * plane;
    for (int64_t i = 0; i < plane; ++i) dst[i] = (src[i] - mean[c]) / stdev[c];
  }
  const std::vector<Tensor> out = model_->run(batch);
  const Tensor& prob = out.at(0);
  if (prob.shape.size() != 4 || prob.shape[0] != 1 || prob.shape[1] != 1)
    throw ModelError(cat(config_.onnx, ": expected a probability map [1, 1, H, W], got ", to_string(prob.shape)));
  std::vector<TextBox> boxes = db_text_boxes(prob.data, prob.shape[2], prob.shape[3], h, w, params_);
  if (map) *map = prob;
  return boxes;
}

std::vector<Detections> DbText::detect(std::span<const Tensor> images) {
  std::vector<Detections> result;
  for (const Tensor& image : images) {
    std::vector<TextBox> boxes = text_boxes(image);
    std::stable_sort(boxes.begin(), boxes.end(), [](const TextBox& a, const TextBox& b) { return a.score > b.score; });
    if (static_cast<int64_t>(boxes.size()) > params_.max_detections) boxes.resize(static_cast<size_t>(params_.max_detections));
    Detections d;
    for (const TextBox& b : boxes) {
      Box bounds{b.corners[0].x, b.corners[0].y, b.corners[0].x, b.corners[0].y};
      for (const Keypoint& p : b.corners) {
        bounds.x1 = std::min(bounds.x1, p.x), bounds.y1 = std::min(bounds.y1, p.y);
        bounds.x2 = std::max(bounds.x2, p.x), bounds.y2 = std::max(bounds.y2, p.y);
      }
      d.boxes.push_back(bounds);
      d.scores.push_back(b.score);
      d.labels.push_back(0);
      d.keypoints.emplace_back(b.corners.begin(), b.corners.end());
    }
    result.push_back(std::move(d));
  }
  return result;
}

// The detector registry's entry (detect/detector.cpp): --conf is the box threshold,
// --max-det caps the boxes; DB has no overlap suppression, so --iou does not apply.
std::unique_ptr<Detector> load_db_text_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  if (!weights.empty()) throw ModelError(cat(config, ": an ONNX detector holds its weights; --weights does not apply"));
  DbParams p;
  read_detector_object(config, [&](ObjectReader& d) {
    p.thresh = static_cast<float>(d.number("thresh", p.thresh));
    p.box_thresh = d.number("box_thresh", p.box_thresh);
    p.unclip_ratio = d.number("unclip_ratio", p.unclip_ratio);
    p.max_candidates = d.integer("max_candidates", p.max_candidates);
    p.limit_side_len = d.integer("limit_side_len", p.limit_side_len);
    const std::string limit_type = d.string("limit_type", "max");
    if (limit_type != "max" && limit_type != "min") d.fail("limit_type", cat("expected \"max\" or \"min\", got \"", limit_type, "\""));
    p.limit_max = limit_type == "max";
  });
  if (p.limit_side_len < 32) throw ModelError(cat(config, ": detector.limit_side_len: expected at least 32, got ", p.limit_side_len));
  if (!(p.unclip_ratio > 0)) throw ModelError(cat(config, ": detector.unclip_ratio: expected a positive number, got ", p.unclip_ratio));
  if (options.score_thresh) p.box_thresh = *options.score_thresh;
  if (options.max_detections) p.max_detections = *options.max_detections;
  return DbText::load(config, p, options.load);
}

}  // namespace osprey::detect
