// osprey-classify as a user runs it: real Fashion-MNIST images through the shipped model,
// every kind of input argument, and broken inputs, configs and weights files. Each bad
// input must give one clear line naming the file, the right exit code, and must not stop
// the other inputs.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kSource = OSPREY_SOURCE_DIR;
const std::string kClassify = OSPREY_CLASSIFY;
const std::string kInspect = OSPREY_INSPECT;
const std::string kLenet = kSource + "/configs/lenet5_fashion_mnist.json";
const std::string kPhotos = kSource + "/photos/fashion";

struct Result {
  int code = -1;
  std::string out, err;
  std::vector<json> lines() const {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) v.push_back(json::parse(line));
    return v;
  }
  int stderr_lines() const {
    int n = 0;
    for (char c : err) n += c == '\n';
    return n;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scratch folder per test case.
fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(OSPREY_BINARY_DIR) / "cli_scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Result run_tool(const std::string& tool, const std::string& args, const std::string& stdin_text = "");
Result run(const std::string& args, const std::string& stdin_text = "") { return run_tool(kClassify, args, stdin_text); }

Result run_tool(const std::string& tool, const std::string& args, const std::string& stdin_text) {
  static int counter = 0;
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "cli_scratch";
  fs::create_directories(dir);
  const std::string base = (dir / ("run" + std::to_string(::getpid()) + "_" + std::to_string(counter++))).string();
  std::ofstream(base + ".in") << stdin_text;
  const std::string cmd = tool + " " + args + " <" + base + ".in >" + base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("LeNet-5 on the 10k Fashion-MNIST test images reproduces PyTorch's accuracy") {
  const std::string dir = OSPREY_FASHION_DIR;
  const json torch = json::parse(slurp(dir + "/torch_predictions.json"));
  std::map<std::string, int> labels;
  {
    std::ifstream in(dir + "/images/labels.txt");
    std::string name;
    int label;
    while (in >> name >> label) labels[name] = label;
  }
  REQUIRE(labels.size() == 10000);
  const fs::path out = scratch("fashion") / "predictions.jsonl";
  const Result r = run("--model " + q(kLenet) + " " + q(dir + "/images") + " --batch 64 --top-k 1 --threads 2 --output " + q(out.string()));
  REQUIRE(r.code == 0);
  CHECK(r.out.empty());
  int correct = 0, agree = 0, total = 0;
  std::istringstream in(slurp(out.string()));
  for (std::string line; std::getline(in, line); ++total) {
    const json j = json::parse(line);
    const std::string name = fs::path(j["image"].get<std::string>()).filename().string();
    const int predicted = j["classes"][0]["class_id"];
    correct += predicted == labels.at(name);
    agree += predicted == torch["predictions"][name].get<int>();
  }
  REQUIRE(total == 10000);
  const double accuracy = correct / 10000.0, torch_accuracy = torch["accuracy"];
  MESSAGE("Osprey accuracy ", accuracy * 100, "%, PyTorch ", torch_accuracy * 100, "%, top-1 agreement ", agree / 100.0, "%");
  CHECK(std::abs(accuracy - torch_accuracy) <= 0.001);
  CHECK(agree >= 9990);
  CHECK(accuracy >= 0.88);
}

TEST_CASE("the shipped sample images are classified correctly") {
  const Result r = run("-m " + q(kLenet) + " " + q(kPhotos));
  REQUIRE(r.code == 0);
  const auto lines = r.lines();
  REQUIRE(lines.size() == 8);
  for (const auto& j : lines) {
    // photos/fashion/<index>_<class>.png: the class slug is the truth
    std::string slug = fs::path(j["image"].get<std::string>()).stem().string().substr(6);
    std::string label = j["classes"][0]["label"];
    std::string label_slug;
    for (char c : label) label_slug += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    CHECK_MESSAGE(label_slug == slug, j.dump());
    CHECK(j["classes"].size() == 5);
    CHECK(j["width"] == 28);
    CHECK(j["task"] == "classify");
    CHECK(j["model"] == "lenet5_fashion_mnist");
    CHECK(j["ms"].contains("infer"));
  }
}

TEST_CASE("a bare ONNX file with preprocessing flags gives the config's answers") {
  const std::string onnx = std::string(OSPREY_FASHION_DIR) + "/lenet5_fashion_mnist.onnx";
  const auto from_config = run("-m " + q(kLenet) + " " + q(kPhotos)).lines();
  const Result r = run("-m " + q(onnx) + " --channels gray --mean 0.2860 --std 0.3530 --resize stretch --input-size 28 --labels " +
                       q(kSource + "/configs/labels/fashion_mnist.txt") + " " + q(kPhotos));
  REQUIRE(r.code == 0);
  const auto from_onnx = r.lines();
  REQUIRE(from_onnx.size() == from_config.size());
  for (size_t i = 0; i < from_onnx.size(); ++i) {
    CHECK(from_onnx[i]["classes"][0]["label"] == from_config[i]["classes"][0]["label"]);
    CHECK(std::abs(from_onnx[i]["classes"][0]["score"].get<double>() - from_config[i]["classes"][0]["score"].get<double>()) <= 1e-5);
    CHECK(from_onnx[i]["model"] == "lenet5_fashion_mnist");
  }
  // A flag with a wrong value is a one-line error naming it.
  const Result bad = run("-m " + q(onnx) + " --channels grey " + q(kPhotos));
  CHECK(bad.code == 2);
  CHECK(bad.err.find("input.channels") != std::string::npos);
  // A list flag takes one comma-separated token: the path after it stays an input.
  const Result list_then_path = run("-m " + q(onnx) + " --channels gray --resize stretch --std 0.3530 --mean 0.2860 --input-size 28,28 " +
                                    q(kPhotos));
  REQUIRE(list_then_path.code == 0);
  CHECK(list_then_path.lines().size() == from_config.size());
  const Result malformed = run("-m " + q(onnx) + " --input-size 28x28 " + q(kPhotos));
  CHECK(malformed.code == 2);
  CHECK(malformed.err.find("--input-size: expected comma-separated numbers, got '28x28'") != std::string::npos);
}

TEST_CASE("inputs: files + directories + globs + list files and stdin - duplicates once") {
  const fs::path dir = scratch("inputs");
  fs::create_directories(dir / "sub" / "deeper");
  fs::copy_file(kPhotos + "/00000_ankle_boot.png", dir / "a.png");
  fs::copy_file(kPhotos + "/00001_pullover.png", dir / "sub" / "b.png");
  fs::copy_file(kPhotos + "/00002_trouser.png", dir / "sub" / "deeper" / "c.png");
  write_file(dir / "notes.txt", "not an image");
  write_file(dir / "list.txt", "# comment\na.png\nsub/b.png\n");

  CHECK(run("-m " + q(kLenet) + " " + q(dir.string())).lines().size() == 1);                 // directory
  CHECK(run("-m " + q(kLenet) + " -r " + q(dir.string())).lines().size() == 3);              // recursive
  CHECK(run("-m " + q(kLenet) + " " + q((dir / "sub" / "*.png").string())).lines().size() == 1);  // glob
  CHECK(run("-m " + q(kLenet) + " @" + q((dir / "list.txt").string())).lines().size() == 2);  // list file
  CHECK(run("-m " + q(kLenet) + " -", (dir / "a.png").string() + "\n").lines().size() == 1);  // stdin
  const Result dup = run("-m " + q(kLenet) + " " + q((dir / "a.png").string()) + " " + q((dir / "a.png").string()));
  CHECK(dup.lines().size() == 1);
}

TEST_CASE("a missing file and a corrupt image fail alone - the batch goes on") {
  const fs::path dir = scratch("bad_images");
  write_file(dir / "corrupt.png", std::string("\x89PNG\r\n\x1a\n garbage that is not a png", 34));
  write_file(dir / "empty.jpg", "");
  const std::string good = kPhotos + "/00002_trouser.png";
  const Result r = run("-m " + q(kLenet) + " --batch 4 " + q((dir / "missing.png").string()) + " " + q((dir / "corrupt.png").string()) +
                       " " + q(good) + " " + q((dir / "empty.jpg").string()));
  CHECK(r.code == 1);
  CHECK(r.stderr_lines() == 3);
  CHECK(r.err.find("missing.png: no such file") != std::string::npos);
  CHECK(r.err.find("corrupt.png: cannot decode image") != std::string::npos);
  CHECK(r.err.find("empty.jpg: cannot decode image") != std::string::npos);
  const auto lines = r.lines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].contains("error"));
  CHECK(lines[1].contains("error"));
  CHECK(lines[2]["classes"][0]["label"] == "Trouser");
  CHECK(lines[3].contains("error"));
}

TEST_CASE("batching does not change the answers") {
  const auto one = run("-m " + q(kLenet) + " " + q(kPhotos) + " --batch 1").lines();
  const auto three = run("-m " + q(kLenet) + " " + q(kPhotos) + " --batch 3").lines();
  REQUIRE(one.size() == 8);
  REQUIRE(three.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(one[i]["image"] == three[i]["image"]);
    for (size_t k = 0; k < 5; ++k) {
      CHECK(one[i]["classes"][k]["class_id"] == three[i]["classes"][k]["class_id"]);
      CHECK(std::abs(one[i]["classes"][k]["score"].get<double>() - three[i]["classes"][k]["score"].get<double>()) <= 2e-6);
    }
  }
}

TEST_CASE("broken weights files: exit 2 with one line naming the file and the problem") {
  const fs::path dir = scratch("bad_weights");
  const std::string weights = slurp(kSource + "/weights/lenet5_fashion_mnist.safetensors");
  write_file(dir / "truncated.safetensors", weights.substr(0, weights.size() / 2));
  Result r = run("-m " + q(kLenet) + " --weights " + q((dir / "truncated.safetensors").string()) + " " + q(kPhotos));
  CHECK(r.code == 2);
  CHECK(r.stderr_lines() == 1);
  CHECK(r.err.find("truncated.safetensors") != std::string::npos);
  CHECK(r.err.find("truncated file") != std::string::npos);
  CHECK(r.out.empty());

  // Weights of another architecture: a 1-layer file with unrelated names.
  const std::string lenet_weights = kSource + "/weights/lenet5_fashion_mnist.safetensors";  // absolute: the build may be anywhere
  write_file(dir / "config.json", R"({"architecture": {"family": "resnet", "depth": 18}, "weights": ")" + lenet_weights + R"("})");
  r = run("-m " + q((dir / "config.json").string()) + " " + q(kPhotos));
  CHECK(r.code == 2);
  CHECK(r.stderr_lines() == 1);
  CHECK(r.err.find("lenet5_fashion_mnist.safetensors: missing") != std::string::npos);

  // Right names, wrong shapes: LeNet with 12 classes.
  write_file(dir / "lenet12.json", R"({"architecture": {"family": "lenet5", "num_classes": 12}, "weights": ")" + lenet_weights + R"("})");
  r = run("-m " + q((dir / "lenet12.json").string()) + " " + q(kPhotos));
  CHECK(r.code == 2);
  CHECK(r.err.find("'classifier.2.weight' has shape [10, 84] but the architecture expects [12, 84]") != std::string::npos);

  r = run("-m " + q(kLenet) + " --weights " + q((dir / "nope.safetensors").string()) + " " + q(kPhotos));
  CHECK(r.code == 2);
  CHECK(r.err.find("nope.safetensors: cannot open weights file") != std::string::npos);
}

TEST_CASE("broken configs: exit 2 with one line naming the file and the key") {
  const fs::path dir = scratch("bad_configs");
  const std::string w = R"("weights": ")" + kSource + R"(/weights/lenet5_fashion_mnist.safetensors")";
  auto check_config = [&](const std::string& name, const std::string& text, const std::string& expected) {
    write_file(dir / name, text);
    const Result r = run("-m " + q((dir / name).string()) + " " + q(kPhotos));
    CHECK_MESSAGE(r.code == 2, name);
    CHECK_MESSAGE(r.stderr_lines() == 1, r.err);
    CHECK_MESSAGE(r.err.find(name) != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(expected) != std::string::npos, r.err);
  };
  check_config("unknown_key.json", R"({"architecture": {"family": "lenet5"}, "colour": 1, )" + w + "}", "colour: unknown key");
  check_config("nested_unknown.json", R"({"architecture": {"family": "lenet5"}, "input": {"sise": 28}, )" + w + "}", "input.sise: unknown key");
  check_config("wrong_type.json", R"({"architecture": {"family": "lenet5", "num_classes": "ten"}, )" + w + "}",
               "architecture.num_classes: expected an integer, got a string");
  check_config("bad_family.json", R"({"architecture": {"family": "lenet6"}, )" + w + "}", "unknown family 'lenet6'");
  check_config("syntax.json", R"({"architecture": {"family": "lenet5"},, })", "invalid JSON");
  check_config("bad_mean.json", R"({"architecture": {"family": "lenet5"}, "input": {"mean": [0.1, 0.2]}, )" + w + "}",
               "input.mean: has 2 values for 1 channels");
  const Result r = run("-m " + q((dir / "absent.json").string()) + " " + q(kPhotos));
  CHECK(r.code == 2);
  CHECK(r.err.find("absent.json: cannot open file") != std::string::npos);
}

TEST_CASE("--output is written atomically - usage errors exit 2") {
  const fs::path dir = scratch("output");
  const fs::path out = dir / "result.jsonl";
  Result r = run("-m " + q(kLenet) + " " + q(kPhotos) + " --output " + q(out.string()));
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  int lines = 0;
  std::istringstream in(slurp(out.string()));
  for (std::string line; std::getline(in, line);) lines += !line.empty();
  CHECK(lines == 8);

  // A model error leaves no output file and no temporary file behind.
  const fs::path out2 = dir / "never.jsonl";
  r = run("-m " + q((dir / "absent.json").string()) + " " + q(kPhotos) + " --output " + q(out2.string()));
  CHECK(r.code == 2);
  CHECK_FALSE(fs::exists(out2));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);

  CHECK(run("-m " + q(kLenet)).code == 2);                             // no inputs
  CHECK(run(q(kPhotos)).code == 2);                                    // no model
  CHECK(run("-m " + q(kLenet) + " --batch 0 " + q(kPhotos)).code == 2);  // bad flag value
  CHECK(run("-m " + q(kLenet) + " " + q((dir / "*.nothing").string())).code == 1);  // a pattern matching nothing
}

TEST_CASE("osprey-inspect counts parameters and FLOPs of configs and ONNX files") {
  // ResNet-50: 4.1 G multiply-adds; 25.56 M weights plus 53k batch-norm statistics.
  Result r = run_tool(kInspect, q(kSource + "/configs/resnet50.json") + " --json");
  REQUIRE(r.code == 0);
  json j = json::parse(r.out);
  CHECK(j["flops"].get<double>() == doctest::Approx(8.21e9).epsilon(0.01));
  CHECK(j["params"].get<int64_t>() == 25610152);
  CHECK(j["input"] == json::array({1, 3, 224, 224}));
  // The same LeNet-5 as an ONNX file: 61,706 parameters.
  r = run_tool(kInspect, q(std::string(OSPREY_FASHION_DIR) + "/lenet5_fashion_mnist.onnx") + " --json --batch 4");
  REQUIRE(r.code == 0);
  j = json::parse(r.out);
  CHECK(j["params"].get<int64_t>() == 61706);
  CHECK(j["input"] == json::array({4, 1, 28, 28}));
  CHECK(run_tool(kInspect, q(kSource + "/configs/nothing.json")).code == 2);
}
