// osprey-segment on a Mask R-CNN config as a user runs it (seeded weights from the
// reference fixture, darknet's dog.jpg at min_size 320): the JSON line's detections carry
// COCO RLE masks that decode to exactly the masks MaskRcnn computes in process on the same
// decoded photo (and, where the photo decodes to the fixture's tensor, match torchvision's
// with IoU >= 0.99); --coco-out holds the same RLE with "segmentation"; --masks writes an
// instance-id PNG of the photo's size; --overlay writes a picture; a corrupt file is one
// error line while the photo is still answered.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "../cli_run.hpp"
#include "core/error.hpp"
#include "detect/mask_rcnn.hpp"
#include "engine/executor.hpp"
#include "io/image.hpp"
#include "references.hpp"
#include "segment/rle.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;
using osprey::test::slurp;
namespace fs = std::filesystem;

TEST_CASE("osprey-segment writes Mask R-CNN masks as COCO RLE and PNGs") {
  const MaskCase c = mask_cases_of("mask_rcnn").front();  // maskrcnn_resnet50_fpn
  REQUIRE(c.name == "maskrcnn_resnet50_fpn");
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "maskrcnn_cli" / std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The test config: the shipped one at the fixture's sizes.
  const fs::path config = dir / "maskrcnn.json";
  std::ofstream(config) << nlohmann::json{
      {"name", "maskrcnn_cli"},
      {"task", "segment"},
      {"architecture",
       {{"family", "maskrcnn_resnet50_fpn"}, {"num_classes", 91}, {"bn_eps", 0.0}, {"min_size", 320}, {"max_size", 533}}},
      {"detector", {{"kind", "mask_rcnn"}}},
      {"labels", std::string(OSPREY_SOURCE_DIR) + "/configs/labels/coco91.txt"}}.dump();
  const std::string photo = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/darknet/dog.jpg";
  const fs::path broken = dir / "000000000002.jpg";
  std::ofstream(broken) << "not a jpeg";
  const fs::path named = dir / "000000000001.jpg";  // numeric names give COCO image ids
  fs::copy_file(photo, named);
  const std::string cmd = std::string(OSPREY_SEGMENT) + " -m '" + config.string() + "' --weights '" + c.path("weights") +
                          "' --threads 2 --max-det 20 '" + named.string() + "' '" + broken.string() + "' --masks '" +
                          (dir / "masks").string() + "' --overlay '" + (dir / "overlay").string() + "' --coco-out '" +
                          (dir / "coco.json").string() + "' >" + (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);  // one input failed
  const std::string err = slurp(dir / "err");
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK(err.find("000000000002.jpg") != std::string::npos);

  std::istringstream lines(slurp(dir / "out"));
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const auto line = nlohmann::json::parse(first);
  CHECK(nlohmann::json::parse(second).contains("error"));
  CHECK(line["task"] == "instance");
  const auto& dets = line["detections"];
  REQUIRE(dets.size() == 20);

  // The same detector in process on the same decoded photo, with the CLI's thread count.
  set_num_threads(2);
  auto detector = MaskRcnn::load(config.string(), c.path("weights"));
  const Tensor image = rgb_tensor(load_image(photo, ChannelOrder::BGR));
  const Tensor reference = c.array("image0");
  const bool same_pixels = image.shape == reference.shape && image.data == reference.data;
  MESSAGE("OpenCV's decode of dog.jpg equals the fixture's (PIL) tensor: ", same_pixels);
  const Detections d = detector->detect(std::span<const Tensor>(&image, 1)).at(0);
  REQUIRE(d.size() >= 20);
  const Tensor want_masks = c.array("masks0");
  const int64_t h = image.shape[1], w = image.shape[2];
  for (size_t i = 0; i < dets.size(); ++i) {
    const auto& seg = dets[i]["segmentation"];
    REQUIRE(seg["size"] == nlohmann::json({h, w}));
    const segment::Rle rle = segment::rle_from_string(seg["counts"].get<std::string>(), h, w);
    const std::vector<uint8_t> decoded = segment::rle_decode(rle);
    CHECK(decoded == d.masks[i].data);
    CHECK(dets[i]["area"].get<uint64_t>() == segment::rle_area(rle));
    if (same_pixels) {  // torchvision's pasted mask (> 0.5) of the same detection
      int64_t inter = 0, uni = 0;
      for (int64_t j = 0; j < h * w; ++j) {
        const bool a = decoded[size_t(j)] != 0, b = want_masks.data[size_t(i * h * w + j)] > 0.5f;
        inter += a && b;
        uni += a || b;
      }
      CHECK((uni ? double(inter) / double(uni) : 1.0) >= 0.99);
    }
  }

  const auto coco = nlohmann::json::parse(slurp(dir / "coco.json"));
  REQUIRE(coco.size() == dets.size());
  CHECK(coco[0]["image_id"] == 1);
  CHECK(coco[0]["segmentation"] == dets[0]["segmentation"]);
  const cv::Mat ids = cv::imread((dir / "masks" / "000000000001.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(!ids.empty());
  CHECK(ids.rows == h);
  CHECK(ids.cols == w);
  CHECK(cv::countNonZero(ids) > 0);
  CHECK(!cv::imread((dir / "overlay" / "000000000001.jpg").string()).empty());
  CHECK_FALSE(fs::exists(dir / "masks" / "000000000002.png"));
}
