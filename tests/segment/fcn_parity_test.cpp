// FCN parity against PyTorch (tests/segment/make_segment_references.py): torchvision's
// fcn_resnet50 on a real photo (fcn_resnet101 on a smaller one), at its own size and through the resize -> network ->
// upsample-to-the-image pipeline, and the paper's FCN-32s / 16s / 8s (tools/reference_models.py)
// on an image whose sides are not multiples of 32 (padded and cropped back).
// Tolerances: logits within 1e-4 x max |logit| of PyTorch's; argmax maps agree on >= 99.9 %
// of the pixels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "model/npy.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;

namespace {

std::string ref_file(const std::string& file) { return std::string(OSPREY_SEGMENT_REFS) + "/" + file; }

void check_case(const std::string& name, const std::string& photo) {
  const Tensor image = read_npy(ref_file(photo));
  const Tensor want = read_npy(ref_file(name + ".logits.npy"));
  auto segmenter = segment::Segmenter::load(ref_file(name + ".json"));
  const segment::SemanticSegmentation got = segmenter->segment(image);
  REQUIRE(got.height == image.shape[1]);
  REQUIRE(got.width == image.shape[2]);
  REQUIRE(got.logits.shape == want.shape);
  double scale = 0, worst = 0;
  for (float v : want.data) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  for (size_t i = 0; i < want.data.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(got.logits.data[i]) - want.data[i]));
  const int64_t classes = want.shape[0];
  const size_t plane = static_cast<size_t>(got.height * got.width);
  size_t agree = 0;
  for (size_t p = 0; p < plane; ++p) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (want.data[c * plane + p] > want.data[best * plane + p]) best = c;
    agree += got.classes[p] == best;
  }
  const double agreement = static_cast<double>(agree) / static_cast<double>(plane);
  MESSAGE(name, ": max |logit diff| ", worst, " (max |logit| ", scale, "), argmax agreement ", agreement * 100, " %");
  CHECK(worst <= 1e-4 * scale);
  CHECK(agreement >= 0.999);
}

}  // namespace

TEST_CASE("fcn_resnet50 matches torchvision at the image size") { check_case("fcn_resnet50_native", "photo.npy"); }
TEST_CASE("fcn_resnet50 resize then upsample to the image matches torchvision") { check_case("fcn_resnet50_resized", "photo.npy"); }
TEST_CASE("fcn_resnet101 matches torchvision") { check_case("fcn_resnet101", "photo_tiny.npy"); }
TEST_CASE("fcn32s_vgg16 matches the reference") { check_case("fcn32s", "photo_small.npy"); }
TEST_CASE("fcn16s_vgg16 matches the reference") { check_case("fcn16s", "photo_small.npy"); }
TEST_CASE("fcn8s_vgg16 matches the reference") { check_case("fcn8s", "photo_small.npy"); }
