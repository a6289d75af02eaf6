#include "detect/boxes.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace osprey::detect {

namespace {

void check_same_count(std::span<const Box> boxes, size_t count, const char* what) {
  if (count != boxes.size())
    throw std::invalid_argument(cat("expected one ", what, " per box (", boxes.size(), "), got ", count));
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Descending score; NaN above everything (torch.sort's order).
bool ranks_before(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  if (std::isnan(b)) return false;
  return a > b;
}

// Positions 0..n-1 by decreasing score, ties in input order.
std::vector<int64_t> order_by_score(std::span<const float> scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ranks_before(scores[a], scores[b]); });
  return order;
}

// The largest float <= t: for any float x, x > t (compared in double) iff x > this.
float float_at_or_below(double t) {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -INFINITY);
  return f;
}

// Greedy NMS over boxes already in rank order (`order` indexes `boxes`). The candidates
// still alive are kept packed (structure of arrays, in rank order), so each kept box scans
// only the boxes nothing has suppressed yet: one vectorisable pass computes the IoUs, a
// second packs the survivors. The arithmetic is torchvision's
// (csrc/ops/cpu/nms_kernel.cpp): float32, the IoU compared in double with the threshold.
std::vector<int64_t> nms_ranked(std::span<const Box> boxes, std::span<const int64_t> order, double iou_threshold) {
  const size_t n = order.size();
  std::vector<float> x1(n), y1(n), x2(n), y2(n), area(n);
  std::vector<int64_t> index(order.begin(), order.end());
  for (size_t k = 0; k < n; ++k) {
    const Box& b = boxes[static_cast<size_t>(order[k])];
    x1[k] = b.x1, y1[k] = b.y1, x2[k] = b.x2, y2[k] = b.y2;
    area[k] = (b.x2 - b.x1) * (b.y2 - b.y1);
  }
  const float threshold = float_at_or_below(iou_threshold);
  std::vector<unsigned char> suppressed(n);
  std::vector<int64_t> keep;
  size_t alive = n;
  for (size_t head = 0; head < alive; ++head) {
    keep.push_back(index[head]);
    const float ix1 = x1[head], iy1 = y1[head], ix2 = x2[head], iy2 = y2[head], iarea = area[head];
    for (size_t j = head + 1; j < alive; ++j) {
      const float xx1 = std::max(ix1, x1[j]);
      const float yy1 = std::max(iy1, y1[j]);
      const float xx2 = std::min(ix2, x2[j]);
      const float yy2 = std::min(iy2, y2[j]);
      const float w = std::max(0.0f, xx2 - xx1);
      const float h = std::max(0.0f, yy2 - yy1);
      const float inter = w * h;
      const float iou = inter / (iarea + area[j] - inter);
      suppressed[j] = iou > threshold;
    }
    size_t out = head + 1;
    for (size_t j = head + 1; j < alive; ++j) {
      if (suppressed[j]) continue;
      if (out != j) {
        x1[out] = x1[j], y1[out] = y1[j], x2[out] = x2[j], y2[out] = y2[j];
        area[out] = area[j], index[out] = index[j];
      }
      ++out;
    }
    alive = out;
  }
  return keep;
}

std::vector<int64_t> batched_nms_per_class(std::span<const Box> boxes, std::span<const float> scores,
                                           std::span<const int64_t> class_ids, double iou_threshold) {
  // The global rank order restricted to one class is that class's own rank order.
  const std::vector<int64_t> order = order_by_score(scores);
  std::vector<int64_t> classes(class_ids.begin(), class_ids.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<std::vector<int64_t>> ranked(classes.size());
  for (int64_t i : order) {
    const auto c = std::lower_bound(classes.begin(), classes.end(), class_ids[static_cast<size_t>(i)]);
    ranked[static_cast<size_t>(c - classes.begin())].push_back(i);
  }
  std::vector<int64_t> keep;
  for (const auto& class_order : ranked) {
    const auto kept = nms_ranked(boxes, class_order, iou_threshold);
    keep.insert(keep.end(), kept.begin(), kept.end());
  }
  std::sort(keep.begin(), keep.end(), [&](int64_t a, int64_t b) {
    const float sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    if (ranks_before(sa, sb)) return true;
    if (ranks_before(sb, sa)) return false;
    return a < b;
  });
  return keep;
}

// torchvision's _batched_nms_coordinate_trick, in its float32 arithmetic.
std::vector<int64_t> batched_nms_offset(std::span<const Box> boxes, std::span<const float> scores,
                                        std::span<const int64_t> class_ids, double iou_threshold) {
  float max_coordinate = boxes[0].x1;
  for (const Box& b : boxes) max_coordinate = std::max({max_coordinate, b.x1, b.y1, b.x2, b.y2});
  const float step = max_coordinate + 1.0f;
  std::vector<Box> shifted(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    const float offset = static_cast<float>(class_ids[i]) * step;
    shifted[i] = {boxes[i].x1 + offset, boxes[i].y1 + offset, boxes[i].x2 + offset, boxes[i].y2 + offset};
  }
  return nms(shifted, scores, iou_threshold);
}

double iou_double(const Box& a, const Box& b) {
  const double w = std::max(0.0, double(std::min(a.x2, b.x2)) - double(std::max(a.x1, b.x1)));
  const double h = std::max(0.0, double(std::min(a.y2, b.y2)) - double(std::max(a.y1, b.y1)));
  const double inter = w * h;
  if (inter <= 0) return 0.0;
  const double area_a = (double(a.x2) - a.x1) * (double(a.y2) - a.y1);
  const double area_b = (double(b.x2) - b.x1) * (double(b.y2) - b.y1);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace

std::vector<Box> boxes_from_tensor(const Tensor& boxes) {
  if (boxes.shape.size() != 2 || boxes.shape[1] != 4)
    throw std::invalid_argument(cat("expected boxes of shape [N, 4], got ", shape_string(boxes.shape)));
  std::vector<Box> out(static_cast<size_t>(boxes.shape[0]));
  for (size_t i = 0; i < out.size(); ++i) {
    const float* p = boxes.data.data() + 4 * i;
    out[i] = {p[0], p[1], p[2], p[3]};
  }
  return out;
}

Tensor boxes_to_tensor(std::span<const Box> boxes) {
  std::vector<float> data;
  data.reserve(4 * boxes.size());
  for (const Box& b : boxes) data.insert(data.end(), {b.x1, b.y1, b.x2, b.y2});
  return Tensor({static_cast<int64_t>(boxes.size()), 4}, std::move(data));
}

float box_area(const Box& box) { return (box.x2 - box.x1) * (box.y2 - box.y1); }

std::vector<float> box_area(std::span<const Box> boxes) {
  std::vector<float> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) out[i] = box_area(boxes[i]);
  return out;
}

Tensor box_iou(std::span<const Box> a, std::span<const Box> b) {
  const std::vector<float> area_a = box_area(a), area_b = box_area(b);
  std::vector<float> iou(a.size() * b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      const float w = std::max(0.0f, std::min(a[i].x2, b[j].x2) - std::max(a[i].x1, b[j].x1));
      const float h = std::max(0.0f, std::min(a[i].y2, b[j].y2) - std::max(a[i].y1, b[j].y1));
      const float inter = w * h;
      iou[i * b.size() + j] = inter / (area_a[i] + area_b[j] - inter);
    }
  }
  return Tensor({static_cast<int64_t>(a.size()), static_cast<int64_t>(b.size())}, std::move(iou));
}

std::vector<Box> clip_boxes_to_image(std::span<const Box> boxes, int64_t height, int64_t width) {
  if (height < 0 || width < 0)
    throw std::invalid_argument(cat("expected a non-negative image size, got ", height, "x", width));
  const float h = static_cast<float>(height), w = static_cast<float>(width);
  std::vector<Box> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    out[i] = {std::clamp(b.x1, 0.0f, w), std::clamp(b.y1, 0.0f, h), std::clamp(b.x2, 0.0f, w), std::clamp(b.y2, 0.0f, h)};
  }
  return out;
}

std::vector<int64_t> remove_small_boxes(std::span<const Box> boxes, float min_size) {
  std::vector<int64_t> keep;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (boxes[i].x2 - boxes[i].x1 >= min_size && boxes[i].y2 - boxes[i].y1 >= min_size)
      keep.push_back(static_cast<int64_t>(i));
  return keep;
}

std::vector<int64_t> nms(std::span<const Box> boxes, std::span<const float> scores, double iou_threshold) {
  check_same_count(boxes, scores.size(), "score");
  const std::vector<int64_t> order = order_by_score(scores);
  return nms_ranked(boxes, order, iou_threshold);
}

std::vector<int64_t> batched_nms(std::span<const Box> boxes, std::span<const float> scores,
                                 std::span<const int64_t> class_ids, double iou_threshold, BatchedNmsMethod method) {
  check_same_count(boxes, scores.size(), "score");
  check_same_count(boxes, class_ids.size(), "class id");
  if (boxes.empty()) return {};
  if (method == BatchedNmsMethod::Auto)
    method = boxes.size() * 4 > 4000 ? BatchedNmsMethod::PerClass : BatchedNmsMethod::CoordinateOffset;
  if (method == BatchedNmsMethod::PerClass) return batched_nms_per_class(boxes, scores, class_ids, iou_threshold);
  return batched_nms_offset(boxes, scores, class_ids, iou_threshold);
}

SoftNmsResult soft_nms(std::span<const Box> boxes, std::span<const float> scores, const SoftNmsParams& params) {
  check_same_count(boxes, scores.size(), "score");
  const bool gaussian = params.method == SoftNmsMethod::Gaussian;
  if (gaussian && !(params.sigma > 0))
    throw std::invalid_argument(cat("expected soft-NMS sigma > 0, got ", params.sigma));
  for (size_t i = 0; i < scores.size(); ++i)
    if (std::isnan(scores[i])) throw std::invalid_argument(cat("expected finite scores, got NaN at ", i));
  const double score_threshold = params.score_threshold;
  const double sigma = params.sigma, iou_threshold = params.iou_threshold;

  // Candidates alive, in increasing index order, with their current scores.
  std::vector<int64_t> index;
  std::vector<double> score;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (double(scores[i]) < score_threshold) continue;
    index.push_back(static_cast<int64_t>(i));
    score.push_back(scores[i]);
  }
  // Position of the highest current score (the first one on ties: lower index).
  auto best_of = [](const std::vector<double>& s, size_t begin, size_t end) {
    size_t best = begin;
    for (size_t k = begin + 1; k < end; ++k)
      if (s[k] > s[best]) best = k;
    return best;
  };

  SoftNmsResult result;
  size_t alive = index.size();
  size_t best = best_of(score, 0, alive);
  while (alive > 0) {
    const int64_t m = index[best];
    result.keep.push_back(m);
    result.scores.push_back(static_cast<float>(score[best]));
    const Box& mbox = boxes[static_cast<size_t>(m)];
    // Rescore the rest, drop those under the threshold, and find the next best in one pass.
    size_t out = 0;
    size_t next = 0;
    for (size_t k = 0; k < alive; ++k) {
      if (k == best) continue;
      double s = score[k];
      const double iou = iou_double(mbox, boxes[static_cast<size_t>(index[k])]);
      if (iou > 0) {
        if (gaussian)
          s *= std::exp(-(iou * iou) / sigma);
        else if (iou >= iou_threshold)
          s *= 1.0 - iou;
      }
      if (s < score_threshold) continue;
      index[out] = index[k];
      score[out] = s;
      if (out == 0 || s > score[next]) next = out;
      ++out;
    }
    alive = out;
    best = next;
  }
  return result;
}

}  // namespace osprey::detect
