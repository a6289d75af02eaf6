// ISNet (Qin et al. 2022, "Highly Accurate Dichotomous Image Segmentation"; imgly's fp16
// "medium" ONNX export) on darknet's dog.jpg, end to end through the semantic segmenter and
// configs/isnet_salient.json (stretch to 1024x1024, (p - 128) / 256, the alpha resized back
// to the photo), against ONNX Runtime on the same 1024x1024 input with the same resize back
// (done by the fixture).
//
// The file computes in fp16: Casts at the graph input and output and around every Resize.
// Osprey reads the fp16 weights exactly and computes in fp32 (Casts are no-ops), so it is
// the more accurate of the two; the differences are ORT's fp16 roundings (plus the JPEG
// decoders: OpenCV here, PIL in the fixture). Tolerance on the alpha (values in [0, 1]):
// mean |diff| <= 1e-4 and max |diff| <= 5e-3 (measured 3.8e-6 and 6.9e-4); the masks
// alpha > 0.5 agree with IoU >= 0.99 (measured 0.99995).
#include <doctest/doctest.h>

#include <chrono>

#include "io/image.hpp"
#include "real_models.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;
using namespace osprey::real_models;

TEST_CASE("ISNet salient-object alpha on dog.jpg matches ONNX Runtime") {
  const auto c = reference_case("isnet_dog");
  Tensor want = read_npy(c["expected"][1].get<std::string>());  // [1, H, W] at the photo's size
  const Tensor image = rgb_image(c["image"].get<std::string>());
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<segment::Segmenter> segmenter = segment::Segmenter::load(config_path("isnet_salient.json"));
  const segment::SemanticSegmentation s = segmenter->segment(image);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Tensor& alpha = s.logits;  // C == 1 with "sigmoid": false: the network's alpha itself
  REQUIRE(alpha.shape == Shape{1, image.shape[1], image.shape[2]});
  const Difference d = difference(alpha, want);
  const double iou = mask_iou(alpha, want, 0.5f);
  const double salient = fraction_above(want, 0.5f);
  int64_t mask_agrees = 0;
  for (size_t i = 0; i < s.classes.size(); ++i) mask_agrees += s.classes[i] == (alpha.data[i] > 0.5f ? 1 : 0);
  MESSAGE("ISNet dog.jpg: max |diff| ", d.max_abs, ", mean |diff| ", d.mean_abs, ", mask IoU ", iou, ", salient fraction ", salient,
          ", load + segment ", seconds, " s");
  CHECK(d.mean_abs <= 1e-4);
  CHECK(d.max_abs <= 5e-3);
  CHECK(iou >= 0.99);
  CHECK(mask_agrees == static_cast<int64_t>(s.classes.size()));  // class 1 = alpha above the config's threshold 0.5
  // The dog and the bicycle stand out: a real mask, neither empty nor everything.
  CHECK(salient > 0.05);
  CHECK(salient < 0.5);
}
