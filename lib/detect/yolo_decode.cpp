#include "detect/yolo_decode.hpp"

#include <cmath>
#include <stdexcept>

#include "core/error.hpp"

namespace osprey::detect {

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

void add_box(YoloCandidates& out, double cx, double cy, double w, double h) {
  out.boxes.push_back({static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2), static_cast<float>(cx + w / 2),
                       static_cast<float>(cy + h / 2)});
}

// Region and yolo heads: anchors' planes (x, y, w, h, objectness, classes...) of H x W.
void decode_grid(const darknet::Head& head, const float* data, int64_t grid_h, int64_t grid_w, int64_t net_h, int64_t net_w,
                 float thresh, YoloCandidates& out) {
  const bool v3 = head.kind == darknet::Head::Kind::Yolo;
  const int64_t plane = grid_h * grid_w, entries = 5 + head.classes;
  std::vector<double> probs(static_cast<size_t>(head.classes));
  for (int64_t a = 0; a < head.num; ++a) {
    const float* p = data + a * entries * plane;
    const double aw = head.anchors[static_cast<size_t>(2 * a)], ah = head.anchors[static_cast<size_t>(2 * a + 1)];
    for (int64_t row = 0; row < grid_h; ++row)
      for (int64_t col = 0; col < grid_w; ++col) {
        const int64_t at = row * grid_w + col;
        const double objectness = sigmoid(p[4 * plane + at]);
        if (!(objectness > thresh)) continue;
        if (!v3 && head.softmax) {  // softmax_cpu over the class planes at this cell
          double largest = -INFINITY, sum = 0;
          for (int k = 0; k < head.classes; ++k) largest = std::max(largest, static_cast<double>(p[(5 + k) * plane + at]));
          for (int k = 0; k < head.classes; ++k) sum += probs[static_cast<size_t>(k)] = std::exp(p[(5 + k) * plane + at] - largest);
          for (double& v : probs) v /= sum;
        } else {
          for (int k = 0; k < head.classes; ++k) probs[static_cast<size_t>(k)] = sigmoid(p[(5 + k) * plane + at]);
        }
        const double cx = (static_cast<double>(col) + sigmoid(p[at])) / static_cast<double>(grid_w) * static_cast<double>(net_w);
        const double cy = (static_cast<double>(row) + sigmoid(p[plane + at])) / static_cast<double>(grid_h) * static_cast<double>(net_h);
        // v3 anchors are in network pixels; v2 anchors in grid cells
        const double w = std::exp(static_cast<double>(p[2 * plane + at])) * aw * (v3 ? 1.0 : static_cast<double>(net_w) / static_cast<double>(grid_w));
        const double h = std::exp(static_cast<double>(p[3 * plane + at])) * ah * (v3 ? 1.0 : static_cast<double>(net_h) / static_cast<double>(grid_h));
        for (int k = 0; k < head.classes; ++k) {
          const double score = objectness * probs[static_cast<size_t>(k)];
          if (!(score > thresh)) continue;
          add_box(out, cx, cy, w, h);
          out.scores.push_back(static_cast<float>(score));
          out.labels.push_back(k);
        }
      }
  }
}

void decode_detection(const darknet::Head& head, const float* v, int64_t net_h, int64_t net_w, float thresh, YoloCandidates& out) {
  const int64_t side = head.side, cells = side * side, classes = head.classes, num = head.num;
  const float* probs_at = v;
  const float* conf_at = v + cells * classes;
  const float* coords_at = v + cells * (classes + num);
  std::vector<double> probs(static_cast<size_t>(classes));
  for (int64_t i = 0; i < cells; ++i) {
    const int64_t row = i / side, col = i % side;
    if (head.softmax) {
      double largest = -INFINITY, sum = 0;
      for (int64_t k = 0; k < classes; ++k) largest = std::max(largest, static_cast<double>(probs_at[i * classes + k]));
      for (int64_t k = 0; k < classes; ++k) sum += probs[static_cast<size_t>(k)] = std::exp(probs_at[i * classes + k] - largest);
      for (double& p : probs) p /= sum;
    } else {
      for (int64_t k = 0; k < classes; ++k) probs[static_cast<size_t>(k)] = probs_at[i * classes + k];
    }
    for (int64_t b = 0; b < num; ++b) {
      const double confidence = conf_at[i * num + b];
      const float* c = coords_at + (i * num + b) * 4;
      const double cx = (c[0] + static_cast<double>(col)) / static_cast<double>(side) * static_cast<double>(net_w);
      const double cy = (c[1] + static_cast<double>(row)) / static_cast<double>(side) * static_cast<double>(net_h);
      const double w = (head.sqrt ? static_cast<double>(c[2]) * c[2] : c[2]) * static_cast<double>(net_w);
      const double h = (head.sqrt ? static_cast<double>(c[3]) * c[3] : c[3]) * static_cast<double>(net_h);
      for (int64_t k = 0; k < classes; ++k) {
        const double score = confidence * probs[static_cast<size_t>(k)];
        if (!(score > thresh)) continue;
        add_box(out, cx, cy, w, h);
        out.scores.push_back(static_cast<float>(score));
        out.labels.push_back(k);
      }
    }
  }
}

}  // namespace

void decode_yolo_head(const darknet::Head& head, const Tensor& output, int64_t n, int64_t net_height, int64_t net_width, float thresh,
                      YoloCandidates& out) {
  if (head.kind == darknet::Head::Kind::Detection) {
    const int64_t features = int64_t{head.side} * head.side * (head.classes + 5 * head.num);
    if (output.shape.size() != 2 || output.shape[1] != features || n < 0 || n >= output.shape[0])
      throw std::invalid_argument(cat("decode_yolo_head: expected a [N, ", features, "] detection output with image ", n, ", got ",
                                      to_string(output.shape)));
    decode_detection(head, output.data.data() + n * features, net_height, net_width, thresh, out);
    return;
  }
  const int64_t channels = int64_t{head.num} * (head.classes + 5);
  if (output.shape.size() != 4 || output.shape[1] != channels || n < 0 || n >= output.shape[0])
    throw std::invalid_argument(cat("decode_yolo_head: expected a [N, ", channels, ", H, W] head output with image ", n, ", got ",
                                    to_string(output.shape)));
  const int64_t h = output.shape[2], w = output.shape[3];
  decode_grid(head, output.data.data() + n * channels * h * w, h, w, net_height, net_width, thresh, out);
}

}  // namespace osprey::detect
