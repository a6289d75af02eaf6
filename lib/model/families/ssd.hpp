// SSD detectors (Liu et al., "SSD: Single Shot MultiBox Detector", 2016) as layer graphs with
// torchvision's state_dict keys, and the settings lib/detect runs them with:
//   ssd300_vgg16    torchvision's ssd300_vgg16: VGG16 with a ceil-mode pool3, conv4_3
//                   L2-normalised with a learned scale ("backbone.scale_weight"), pool5 3x3
//                   s1 p1, fc6 (3x3, dilation 6) and fc7 as convs, four extra blocks, SSDHead.
//   ssd512_vgg16    the same body with torchvision's _vgg_extractor(highres=True) fifth extra
//                   block (4x4 conv), the paper's SSD512 default boxes.
//   ssdlite320_mobilenet_v3_large  torchvision's: MobileNetV3-Large with the reduced tail,
//                   BatchNorm eps 0.001, split after features[13]'s expansion (C4) and at the
//                   end, four extra blocks (1x1, depthwise 3x3 s2, 1x1, ReLU6), SSDLiteHead.
// The graph outputs the raw head maps: "head.cls_logits.<k>" [N, A_k * classes, H_k, W_k]
// for every map k, then "head.bbox_regression.<k>" [N, A_k * 4, H_k, W_k]; the default boxes,
// decoding and selection are lib/detect/ssd's. Settings beyond the network live in the
// config's "detector" object (docs/config.md), read strictly here.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "model/families/family.hpp"

namespace osprey {

struct SsdArch {
  enum class Body { Vgg16, MobileNetV3Large };
  Body body = Body::Vgg16;
  bool highres = false;  // ssd512: the fifth extra block
  bool lite_head = false;  // SSDLiteHead (depthwise 3x3 + BN + ReLU6, then 1x1) instead of 3x3 convs
  int num_classes = 91;    // COCO's ids with background 0
  float bn_eps = 0.001f;   // SSDlite's BatchNorm2d
  // GeneralizedRCNNTransform(fixed_size): every image is stretched to height x width.
  int height = 300, width = 300;
  std::array<float, 3> image_mean{0.48235f, 0.45882f, 0.40784f};
  std::array<float, 3> image_std{1.0f / 255, 1.0f / 255, 1.0f / 255};
  // DefaultBoxGenerator: aspect ratios per map; scales (maps + 1) or, when empty, min_ratio
  // and max_ratio; steps per map (empty: the map's own size); clip.
  std::vector<std::vector<double>> aspect_ratios;
  std::vector<double> scales;
  double min_ratio = 0.15, max_ratio = 0.9;
  std::vector<double> steps;
  bool clip = true;
  std::array<float, 4> box_weights{10, 10, 5, 5};
  // SSD.postprocess_detections
  float score_thresh = 0.01f;
  double nms_thresh = 0.45;
  int detections_per_img = 200;
  int topk_candidates = 400;

  // The feature maps the network has (and so the number of aspect-ratio lists).
  size_t maps() const { return highres ? 7 : 6; }
  std::vector<int> boxes_per_location() const;
};

bool is_ssd_family(const std::string& family);

// torchvision's settings of a family (ssd512_vgg16: the paper's boxes, see ssd.cpp); throws
// std::invalid_argument for other families.
SsdArch ssd_defaults(const std::string& family);

// The settings of a config file whose family is an SSD one: the architecture object's
// num_classes and bn_eps, the "detector" object's keys (each optional).
SsdArch ssd_arch_of_config(const std::string& config_path);

FamilyModel build_ssd300_vgg16(ObjectReader& arch);
FamilyModel build_ssd512_vgg16(ObjectReader& arch);
FamilyModel build_ssdlite320_mobilenet_v3_large(ObjectReader& arch);

}  // namespace osprey
