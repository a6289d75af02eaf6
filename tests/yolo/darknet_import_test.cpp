// The Darknet importer on small cfg / weights files written here: layer semantics that are
// easy to get wrong (maxpool padding, reorg, weight order, the .weights header) against
// direct computations, and the errors for broken files (each must name the file).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/darknet/network.hpp"
#include "model/darknet/weights.hpp"
#include "model/model.hpp"

namespace osprey::darknet {

namespace {

namespace fs = std::filesystem;

fs::path scratch() {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "yolo_scratch";
  fs::create_directories(dir);
  return dir;
}

std::string write_text(const std::string& name, const std::string& text) {
  const fs::path p = scratch() / name;
  std::ofstream(p) << text;
  return p.string();
}

// A .weights file: header (version 0.2: 64-bit seen), then the floats.
std::string write_weights(const std::string& name, const std::vector<float>& floats, int major = 0, int minor = 2,
                          size_t extra_bytes = 0) {
  const fs::path p = scratch() / name;
  std::ofstream out(p, std::ios::binary);
  const int32_t head[3] = {major, minor, 0};
  out.write(reinterpret_cast<const char*>(head), sizeof head);
  if (major * 10 + minor >= 2) {
    const int64_t seen = 12345;
    out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
  } else {
    const int32_t seen = 12345;
    out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
  }
  out.write(reinterpret_cast<const char*>(floats.data()), static_cast<std::streamsize>(floats.size() * sizeof(float)));
  for (size_t i = 0; i < extra_bytes; ++i) out.put('\0');
  return p.string();
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kNet = "[net]\nwidth=4\nheight=4\nchannels=1\n\n";

// A 1x1 conv with BN (biases, scales, mean, var, weight per filter), 2 filters on 1 channel.
const char* kConvBn = "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=1\nstride=1\npad=1\nactivation=linear\n";

}  // namespace

TEST_CASE("darknet conv weights are read in Darknet's order and batch norm is exact") {
  const std::string cfg = write_text("conv.cfg", std::string(kNet) + kConvBn);
  // biases [0.5, -1], scales [2, 3], rolling_mean [0.25, 1], rolling_variance [4, 0.25], weights [1.5, -2]
  const std::string weights = write_weights("conv.weights", {0.5f, -1, 2, 3, 0.25f, 1, 4, 0.25f, 1.5f, -2});
  const std::string config = write_text("conv.json", R"({"architecture": {"darknet": "conv.cfg"}, "weights": "conv.weights"})");
  (void)cfg, (void)weights;
  auto model = Model::load(config);
  Tensor x({1, 1, 4, 4});
  for (size_t i = 0; i < 16; ++i) x.data[i] = static_cast<float>(i) - 7.5f;
  const Tensor y = model->run(x).at(0);
  REQUIRE(to_string(y.shape) == "[1, 2, 4, 4]");
  const float w[2] = {1.5f, -2}, b[2] = {0.5f, -1}, s[2] = {2, 3}, m[2] = {0.25f, 1}, v[2] = {4, 0.25f};
  double worst = 0;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 16; ++i) {
      // batchnorm_layer.c: (x - mean) / (sqrt(var) + .000001f) * scale + bias
      const double want = (w[c] * x.data[i] - m[c]) / (std::sqrt(v[c]) + 1e-6) * s[c] + b[c];
      worst = std::max(worst, std::abs(want - y.data[c * 16 + i]));
    }
  CHECK(worst < 1e-5);
}

TEST_CASE("darknet maxpool size 2 stride 1 keeps the size and pads bottom-right") {
  const std::string cfg = write_text("pool.cfg", std::string(kNet) + "[maxpool]\nsize=2\nstride=1\n");
  Network net = build_network(cfg);
  Graph& g = net.graph;
  const auto& p = g.nodes.at(1).get<PoolParams>();
  CHECK(p.pad == std::array<int, 4>{0, 0, 1, 1});
  // size 3 stride 2 (padding 2: one each side) on 4x4 -> (4 + 2 - 3) / 2 + 1 = 2
  const std::string cfg3 = write_text("pool3.cfg", std::string(kNet) + "[maxpool]\nsize=3\nstride=2\n");
  const auto& p3 = build_network(cfg3).graph.nodes.at(1).get<PoolParams>();
  CHECK(p3.pad == std::array<int, 4>{1, 1, 0, 0});
}

TEST_CASE("darknet reorg reproduces reorg_cpu") {
  // a 1x1 conv makes 8 distinct channels (channel k = (k + 1) * x), then [reorg] stride=2
  write_text("reorg.cfg", "[net]\nwidth=4\nheight=4\nchannels=1\n\n[convolutional]\nfilters=8\nsize=1\nactivation=linear\n\n[reorg]\nstride=2\n");
  std::vector<float> floats(8, 0.0f);  // biases
  for (int k = 0; k < 8; ++k) floats.push_back(static_cast<float>(k + 1));
  write_weights("reorg.weights", floats);
  const std::string config = write_text("reorg.json", R"({"architecture": {"darknet": "reorg.cfg"}, "weights": "reorg.weights"})");
  auto model = Model::load(config);
  const int c = 8, h = 4, w = 4, s = 2, out_c = c / (s * s);
  Tensor x({1, 1, h, w});
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>(i);
  std::vector<float> conv(static_cast<size_t>(c * h * w));
  for (int k = 0; k < c; ++k)
    for (int i = 0; i < h * w; ++i) conv[static_cast<size_t>(k * h * w + i)] = static_cast<float>(k + 1) * x.data[static_cast<size_t>(i)];
  const Tensor y = model->run(x).at(0);
  REQUIRE(to_string(y.shape) == "[1, 32, 2, 2]");
  int wrong = 0;
  for (int k = 0; k < c; ++k)
    for (int j = 0; j < h; ++j)
      for (int i = 0; i < w; ++i) {  // blas.c reorg_cpu, forward = 0: out[in_index] = x[out_index]
        const int in_index = i + w * (j + h * k);
        const int c2 = k % out_c, offset = k / out_c;
        const int w2 = i * s + offset % s, h2 = j * s + offset / s;
        const int out_index = w2 + w * s * (h2 + h * s * c2);
        wrong += y.data[static_cast<size_t>(in_index)] != conv[static_cast<size_t>(out_index)];
      }
  CHECK(wrong == 0);
}

TEST_CASE("darknet weights header versions: 32-bit and 64-bit seen") {
  const std::string cfg = write_text("hdr.cfg", std::string(kNet) + kConvBn);
  for (int minor : {1, 2}) {
    Network net = build_network(cfg);
    const std::string weights = write_weights("hdr.weights", std::vector<float>(10, 1.0f), 0, minor);
    CHECK_NOTHROW(bind_darknet_weights(net.graph, weights));
  }
}

TEST_CASE("darknet truncated weights name the file and the counts") {
  const std::string cfg = write_text("trunc.cfg", std::string(kNet) + kConvBn);
  Network net = build_network(cfg);
  const std::string weights = write_weights("trunc.weights", std::vector<float>(7, 1.0f));
  const std::string msg = message_of([&] { bind_darknet_weights(net.graph, weights); });
  MESSAGE(msg);
  CHECK(msg.find(weights) != std::string::npos);
  CHECK(msg.find("truncated") != std::string::npos);
  CHECK(msg.find("10 floats") != std::string::npos);
  CHECK(msg.find("has 7") != std::string::npos);
}

TEST_CASE("darknet weights with bytes left over are an error") {
  const std::string cfg = write_text("extra.cfg", std::string(kNet) + kConvBn);
  Network net = build_network(cfg);
  const std::string weights = write_weights("extra.weights", std::vector<float>(12, 1.0f));
  const std::string msg = message_of([&] { bind_darknet_weights(net.graph, weights); });
  MESSAGE(msg);
  CHECK(msg.find(weights) != std::string::npos);
  CHECK(msg.find("left over") != std::string::npos);
  const std::string odd = write_weights("odd.weights", std::vector<float>(10, 1.0f), 0, 2, 3);
  const std::string msg2 = message_of([&] { bind_darknet_weights(net.graph, odd); });
  MESSAGE(msg2);
  CHECK(msg2.find(odd) != std::string::npos);
}

TEST_CASE("darknet unknown layer type names the file line and type") {
  const std::string cfg = write_text("unknown.cfg", std::string(kNet) + kConvBn + "\n[frobnicate]\nsize=3\n");
  const std::string msg = message_of([&] { build_network(cfg); });
  MESSAGE(msg);
  CHECK(msg.find(cfg + ":14: [frobnicate]") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("darknet bad route index is an error naming the file") {
  const std::string cfg = write_text("route.cfg", std::string(kNet) + kConvBn + "\n[route]\nlayers=-1,-5\n");
  const std::string msg = message_of([&] { build_network(cfg); });
  MESSAGE(msg);
  CHECK(msg.find(cfg) != std::string::npos);
  CHECK(msg.find("[route] layers") != std::string::npos);
  CHECK(msg.find("out of range") != std::string::npos);
  const std::string fwd = write_text("route_fwd.cfg", std::string(kNet) + kConvBn + "\n[route]\nlayers=3\n");
  CHECK(message_of([&] { build_network(fwd); }).find("out of range") != std::string::npos);
}

TEST_CASE("darknet cfg errors: unsupported activation and local padding") {
  const std::string act = write_text("act.cfg", std::string(kNet) + "[convolutional]\nfilters=2\nactivation=selu\n");
  const std::string msg = message_of([&] { build_network(act); });
  MESSAGE(msg);
  CHECK(msg.find(act + ":8: [convolutional] activation") != std::string::npos);
  // pad=1 with size 5: Darknet's output size and its im2col disagree
  const std::string local = write_text("local_bad.cfg", std::string(kNet) + "[local]\nfilters=2\nsize=5\npad=1\n");
  const std::string msg2 = message_of([&] { build_network(local); });
  MESSAGE(msg2);
  CHECK(msg2.find(local + ":6: [local]") != std::string::npos);
}

}  // namespace osprey::darknet

namespace osprey::darknet {

TEST_CASE("darknet the shipped yolo configs build their graphs") {
  struct Shipped {
    const char* config;
    size_t outputs;
    int classes;
  };
  for (const Shipped& s : {Shipped{"yolov3", 3, 80}, Shipped{"yolov3-tiny", 2, 80}, Shipped{"yolov3-voc", 3, 20}, Shipped{"yolov2", 1, 80},
                           Shipped{"yolov2-tiny", 1, 80}, Shipped{"yolov2-voc", 1, 20}, Shipped{"yolov1_voc", 1, 20}}) {
    Graph graph;
    const ModelConfig config = read_config(std::string(OSPREY_SOURCE_DIR) + "/configs/" + s.config + ".json", &graph);
    INFO(s.config);
    CHECK(graph.outputs.size() == s.outputs);
    CHECK(config.num_classes == s.classes);
    CHECK(config.labels.size() == static_cast<size_t>(s.classes));
  }
  // yolov1.cfg: [local] 3x3 -> 256 at 7x7, dropout, [connected] 1715 = 7 x 7 x (20 + 3 x 5), [detection]
  const Network v1 = build_network(std::string(OSPREY_SOURCE_DIR) + "/configs/darknet/yolov1.cfg");
  REQUIRE(v1.heads.size() == 1);
  CHECK(v1.heads[0].num == 3);
  CHECK(v1.heads[0].side == 7);
  CHECK(to_string(v1.graph.nodes.at(static_cast<size_t>(v1.graph.outputs.at(0))).tensors.at(0).shape) == "[1715, 12544]");
}

}  // namespace osprey::darknet

namespace osprey::darknet {

TEST_CASE("darknet mish and shortcut and upsample follow Darknet") {
  // conv 1x1 (weight 1, bias 0) -> mish; upsample 2; shortcut needs equal shapes, so: route
  // back to the conv, upsample it, add the upsampled mish
  write_text("mish.cfg", std::string(kNet) +
                             "[convolutional]\nfilters=1\nsize=1\nactivation=mish\n\n[upsample]\nstride=2\n\n"
                             "[route]\nlayers=0\n\n[upsample]\nstride=2\n\n[shortcut]\nfrom=-3\nactivation=linear\n");
  write_weights("mish.weights", {0.0f, 1.0f});
  const std::string config = write_text("mish.json", R"({"architecture": {"darknet": "mish.cfg"}, "weights": "mish.weights"})");
  auto model = Model::load(config);
  Tensor x({1, 1, 4, 4});
  for (size_t i = 0; i < 16; ++i) x.data[i] = static_cast<float>(i) * 0.5f - 4.0f;
  const Tensor y = model->run(x).at(0);
  REQUIRE(to_string(y.shape) == "[1, 1, 8, 8]");
  double worst = 0;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) {
      const double v = x.data[static_cast<size_t>((r / 2) * 4 + c / 2)];  // upsample_cpu: in = out / stride
      const double mish = v * std::tanh(std::log1p(std::exp(v)));
      worst = std::max(worst, std::abs(2 * mish - y.data[static_cast<size_t>(r * 8 + c)]));
    }
  CHECK(worst < 1e-5);
}

}  // namespace osprey::darknet

namespace osprey::darknet {

TEST_CASE("darknet route groups take the group_id-th channel slice") {
  write_text("groups.cfg", std::string(kNet) +
                               "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n\n[route]\nlayers=-1\ngroups=2\ngroup_id=1\n");
  write_weights("groups.weights", {0, 0, 0, 0, 1, 2, 3, 4});  // biases, then channel k = (k + 1) x
  const std::string config = write_text("groups.json", R"({"architecture": {"darknet": "groups.cfg"}, "weights": "groups.weights"})");
  auto model = Model::load(config);
  Tensor x({1, 1, 4, 4});
  for (size_t i = 0; i < 16; ++i) x.data[i] = static_cast<float>(i);
  const Tensor y = model->run(x).at(0);
  REQUIRE(to_string(y.shape) == "[1, 2, 4, 4]");
  int wrong = 0;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 16; ++i) wrong += y.data[static_cast<size_t>(c * 16 + i)] != static_cast<float>(c + 3) * x.data[static_cast<size_t>(i)];
  CHECK(wrong == 0);
  const std::string bad = write_text("groups_bad.cfg", std::string(kNet) + "[convolutional]\nfilters=3\nsize=1\n\n[route]\nlayers=-1\ngroups=2\n");
  const std::string msg = message_of([&] { build_network(bad); });
  MESSAGE(msg);
  CHECK(msg.find(bad + ":") != std::string::npos);
}

}  // namespace osprey::darknet

namespace osprey::darknet {

TEST_CASE("darknet local layer matches local_layer.c") {
  for (const auto& [stride, pad] : {std::pair{1, 1}, std::pair{2, 0}}) {
    const int c = 2, h = 5, w = 5, n = 3, size = 3;
    write_text("local.cfg", cat("[net]\nwidth=", w, "\nheight=", h, "\nchannels=1\n\n[convolutional]\nfilters=", c,
                                "\nsize=1\nactivation=linear\n\n[local]\nfilters=", n, "\nsize=", size, "\nstride=", stride,
                                "\npad=", pad, "\nactivation=leaky\n"));
    const int out_h = (h - (pad ? 1 : size)) / stride + 1, out_w = (w - (pad ? 1 : size)) / stride + 1, locations = out_h * out_w;
    const int k = c * size * size;
    // the conv makes channel ch = (ch + 1) x + ch; then the local layer's biases and weights
    std::vector<float> floats{0.0f, 1.0f, 1.0f, 2.0f};
    std::vector<float> biases, weights;
    for (int i = 0; i < n * locations; ++i) biases.push_back(static_cast<float>(i % 7) * 0.25f - 0.5f);
    for (int i = 0; i < locations * n * k; ++i) weights.push_back(static_cast<float>((i * 37) % 11) * 0.1f - 0.5f);
    floats.insert(floats.end(), biases.begin(), biases.end());
    floats.insert(floats.end(), weights.begin(), weights.end());
    write_weights("local.weights", floats);
    const std::string config = write_text("local.json", R"({"architecture": {"darknet": "local.cfg"}, "weights": "local.weights"})");
    auto model = Model::load(config);
    Tensor x({1, 1, h, w});
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>(i % 6) - 2.0f;
    const Tensor y = model->run(x).at(0);
    REQUIRE(to_string(y.shape) == to_string(Shape{1, n, out_h, out_w}));
    auto in = [&](int ch, int r, int col) -> double {
      if (r < 0 || r >= h || col < 0 || col >= w) return 0.0;
      return (ch + 1) * double{x.data[static_cast<size_t>(r * w + col)]} + ch;
    };
    double worst = 0;
    for (int f = 0; f < n; ++f)
      for (int oy = 0; oy < out_h; ++oy)
        for (int ox = 0; ox < out_w; ++ox) {
          const int j = oy * out_w + ox;
          double sum = biases[static_cast<size_t>(f * locations + j)];
          for (int ch = 0; ch < c; ++ch)
            for (int kh = 0; kh < size; ++kh)
              for (int kw = 0; kw < size; ++kw)
                sum += weights[static_cast<size_t>((j * n + f) * k + ch * size * size + kh * size + kw)] *
                       in(ch, oy * stride - pad + kh, ox * stride - pad + kw);
          const double want = sum > 0 ? sum : 0.1 * sum;
          worst = std::max(worst, std::abs(want - y.data[static_cast<size_t>(f * locations + j)]));
        }
    MESSAGE("stride ", stride, " pad ", pad, ": max error ", worst);
    CHECK(worst < 1e-5);
  }
}

}  // namespace osprey::darknet
