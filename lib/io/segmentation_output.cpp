// Segmentation writers (see segmentation_output.hpp).
#include "io/segmentation_output.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace osprey {

namespace {

cv::Mat to_bgr(const cv::Mat& image) {
  cv::Mat out;
  if (image.channels() == 1) cv::cvtColor(image, out, cv::COLOR_GRAY2BGR);
  else out = image.clone();
  return out;
}

void blend(cv::Vec3b& px, const cv::Vec3b& colour, double alpha) {
  for (int c = 0; c < 3; ++c) px[c] = cv::saturate_cast<uint8_t>((1.0 - alpha) * px[c] + alpha * colour[c]);
}

// A colour per instance from the golden-angle hue walk: neighbours in the list differ.
cv::Vec3b instance_colour(size_t k) {
  const double hue = std::fmod(static_cast<double>(k) * 137.508 + 20.0, 360.0) / 2.0;
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue, 210, 240)), bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  return bgr.at<cv::Vec3b>(0);
}

void check_mask(const detect::InstanceMask& m, int height, int width) {
  if (m.height != height || m.width != width || m.data.size() != static_cast<size_t>(height) * static_cast<size_t>(width))
    throw std::invalid_argument("expected instance masks of " + std::to_string(height) + "x" + std::to_string(width) + ", got " +
                                std::to_string(m.height) + "x" + std::to_string(m.width) + " with " +
                                std::to_string(m.data.size()) + " bytes");
}

}  // namespace

cv::Vec3b voc_colour(int class_id) {
  int r = 0, g = 0, b = 0, id = class_id;
  for (int shift = 7; shift >= 0 && id; --shift, id >>= 3) {
    r |= (id & 1) << shift;
    g |= ((id >> 1) & 1) << shift;
    b |= ((id >> 2) & 1) << shift;
  }
  return {static_cast<uint8_t>(b), static_cast<uint8_t>(g), static_cast<uint8_t>(r)};
}

cv::Mat class_map_image(std::span<const int32_t> classes, int height, int width) {
  if (height < 0 || width < 0 || classes.size() != static_cast<size_t>(height) * static_cast<size_t>(width))
    throw std::invalid_argument("class_map_image: expected " + std::to_string(height) + "x" + std::to_string(width) +
                                " class ids, got " + std::to_string(classes.size()));
  int32_t top = 0;
  for (int32_t c : classes) {
    if (c < 0) throw std::invalid_argument("class_map_image: expected class ids >= 0, got " + std::to_string(c));
    top = std::max(top, c);
  }
  if (top > 65535) throw std::invalid_argument("class_map_image: expected class ids up to 65535, got " + std::to_string(top));
  cv::Mat out(height, width, top > 255 ? CV_16UC1 : CV_8UC1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int32_t c = classes[static_cast<size_t>(y) * width + x];
      if (top > 255) out.at<uint16_t>(y, x) = static_cast<uint16_t>(c);
      else out.at<uint8_t>(y, x) = static_cast<uint8_t>(c);
    }
  return out;
}

cv::Mat draw_class_overlay(const cv::Mat& image, std::span<const int32_t> classes, const std::vector<std::string>& names,
                           double alpha) {
  cv::Mat out = to_bgr(image);
  if (classes.size() != static_cast<size_t>(out.rows) * static_cast<size_t>(out.cols))
    throw std::invalid_argument("draw_class_overlay: expected " + std::to_string(out.rows) + "x" + std::to_string(out.cols) +
                                " class ids, got " + std::to_string(classes.size()));
  std::map<int32_t, size_t> counts;
  for (int y = 0; y < out.rows; ++y)
    for (int x = 0; x < out.cols; ++x) {
      const int32_t c = classes[static_cast<size_t>(y) * out.cols + x];
      ++counts[c];
      if (c > 0) blend(out.at<cv::Vec3b>(y, x), voc_colour(c), alpha);
    }
  std::vector<std::pair<size_t, int32_t>> present;
  for (const auto& [c, n] : counts) present.push_back({n, c});
  std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });

  // Legend: one row per class present, on a dark panel so it reads on any photo.
  const double font_scale = std::max(0.35, std::max(out.cols, out.rows) / 1400.0);
  const int thickness = 1;
  int baseline = 0;
  const int row = cv::getTextSize("Ag", cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline).height + baseline + 4;
  int text_width = 0;
  auto name_of = [&](int32_t c) { return c >= 0 && static_cast<size_t>(c) < names.size() ? names[static_cast<size_t>(c)] : std::to_string(c); };
  for (const auto& [n, c] : present)
    text_width = std::max(text_width, cv::getTextSize(name_of(c), cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline).width);
  const int swatch = row - 4;
  const int panel_w = std::min(out.cols, swatch + text_width + 12);
  const int panel_h = std::min(out.rows, static_cast<int>(present.size()) * row + 4);
  if (panel_w > 0 && panel_h > 0) {
    cv::Mat panel = out(cv::Rect(0, 0, panel_w, panel_h));
    panel *= 0.35;  // darken under the legend
    for (size_t i = 0; i < present.size(); ++i) {
      const int32_t c = present[i].second;
      const int top = 2 + static_cast<int>(i) * row;
      if (top + row > out.rows) break;
      const cv::Vec3b colour = voc_colour(c);
      cv::rectangle(out, cv::Rect(3, top + 2, swatch, swatch), cv::Scalar(colour[0], colour[1], colour[2]), cv::FILLED);
      cv::rectangle(out, cv::Rect(3, top + 2, swatch, swatch), cv::Scalar(255, 255, 255), 1);
      cv::putText(out, name_of(c), cv::Point(swatch + 8, top + row - baseline - 2), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                  cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
    }
  }
  return out;
}

cv::Mat instance_map_image(const std::vector<detect::InstanceMask>& masks, int height, int width) {
  cv::Mat out = cv::Mat::zeros(height, width, masks.size() > 255 ? CV_16UC1 : CV_8UC1);
  if (masks.size() > 65535) throw std::invalid_argument("instance_map_image: expected at most 65535 masks, got " + std::to_string(masks.size()));
  // Paint the worst first so better detections win where masks overlap.
  for (size_t k = masks.size(); k-- > 0;) {
    check_mask(masks[k], height, width);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (masks[k].data[static_cast<size_t>(y) * width + x]) {
          if (out.depth() == CV_16U) out.at<uint16_t>(y, x) = static_cast<uint16_t>(k + 1);
          else out.at<uint8_t>(y, x) = static_cast<uint8_t>(k + 1);
        }
  }
  return out;
}

cv::Mat draw_instance_overlay(const cv::Mat& image, const std::vector<detect::InstanceMask>& masks,
                              const std::vector<Detection>& detections, double alpha) {
  cv::Mat out = to_bgr(image);
  for (size_t k = masks.size(); k-- > 0;) {
    check_mask(masks[k], out.rows, out.cols);
    const cv::Vec3b colour = instance_colour(k);
    cv::Mat m(out.rows, out.cols, CV_8UC1, const_cast<uint8_t*>(masks[k].data.data()));
    for (int y = 0; y < out.rows; ++y)
      for (int x = 0; x < out.cols; ++x)
        if (m.at<uint8_t>(y, x)) blend(out.at<cv::Vec3b>(y, x), colour, alpha);
    std::vector<std::vector<cv::Point>> contours;
    cv::Mat binary = m > 0;
    cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(out, contours, -1, cv::Scalar(colour[0], colour[1], colour[2]), 1, cv::LINE_AA);
  }
  return draw_detections(out, detections);
}

}  // namespace osprey
