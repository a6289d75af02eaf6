// Reading a TF.js graph model: model.json (modelTopology.node[], weightsManifest, signature)
// and its weight shards. Each manifest group's shard files are concatenated and read in
// manifest order: float32 / int32 4 bytes, bool 1 byte; quantised weights as TF.js's
// io.decodeWeights dequantises them: float16 2 bytes widened to float32, uint8 / uint16
// values q mapped to q * scale + min.
#include "model/tfjs/tfjs_model.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "core/half.hpp"
#include "model/json_reader.hpp"
#include "model/tfjs/tfjs_importer.hpp"

namespace osprey {

namespace fs = std::filesystem;

namespace {

int64_t json_int(const nlohmann::json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>(); }

std::vector<char> read_shards(const std::string& model_path, const nlohmann::json& paths, size_t expected, std::string& last) {
  std::vector<char> bytes;
  for (const auto& p : paths) {
    const std::string file = (fs::path(model_path).parent_path() / p.get<std::string>()).lexically_normal().string();
    last = file;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ModelError(cat(file, ": cannot open weights shard (named in ", model_path, ")"));
    bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (bytes.size() != expected)
    throw ModelError(cat(last, ": the weights manifest of ", model_path, " needs ", expected, " bytes, the shard", paths.size() > 1 ? "s hold " : " holds ",
                         bytes.size(), bytes.size() < expected ? " (truncated?)" : ""));
  return bytes;
}

size_t element_bytes(const std::string& dtype, const std::string& quant, const std::string& where) {
  if (quant == "float16" || quant == "uint16") return 2;
  if (quant == "uint8") return 1;
  if (!quant.empty()) throw ModelError(cat(where, ": quantization dtype '", quant, "' is not supported"));
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "bool") return 1;
  throw ModelError(cat(where, ": dtype '", dtype, "' is not supported"));
}

}  // namespace

TfjsModel::TfjsModel(const std::string& model_json) : path_(model_json) {
  const nlohmann::json doc = read_json_file(model_json);
  if (!doc.is_object() || !doc.contains("modelTopology") || !doc.contains("weightsManifest"))
    throw ModelError(cat(model_json, ": not a TF.js graph model (no modelTopology / weightsManifest)"));
  if (doc.contains("format") && doc["format"] != "graph-model")
    throw ModelError(cat(model_json, ": format '", doc["format"].dump(), "' is not a TF.js graph model (layers models are not supported)"));
  const auto& topo = doc["modelTopology"];
  if (!topo.contains("node") || !topo["node"].is_array()) throw ModelError(cat(model_json, ": modelTopology has no node list"));
  if (topo.contains("library") && topo["library"].contains("function") && !topo["library"]["function"].empty())
    throw ModelError(cat(model_json, ": graphs with functions (control flow) are not supported"));

  std::set<std::string> names;
  for (const auto& n : topo["node"]) {
    TfjsNode node;
    node.name = n.value("name", "");
    node.op = n.value("op", "");
    if (node.name.empty() || node.op.empty()) throw ModelError(cat(model_json, ": a node without name or op"));
    if (n.contains("input"))
      for (const auto& i : n["input"]) node.inputs.push_back(i.get<std::string>());
    node.attrs = n.contains("attr") ? n["attr"].dump() : "{}";
    if (!names.insert(node.name).second) throw ModelError(cat(model_json, ": node '", node.name, "' is defined twice"));
    if (node.op == "Placeholder") {
      if (!input_.name.empty()) throw ModelError(cat(model_json, ": image tools need a model with one input, '", input_.name, "' and '", node.name, "' are inputs"));
      input_.name = node.name;
      if (n.contains("attr") && n["attr"].contains("shape") && n["attr"]["shape"].contains("shape") &&
          n["attr"]["shape"]["shape"].contains("dim"))
        for (const auto& d : n["attr"]["shape"]["shape"]["dim"]) input_.dims.push_back(d.contains("size") ? json_int(d["size"]) : -1);
    }
    nodes_.push_back(std::move(node));
  }
  if (input_.name.empty()) throw ModelError(cat(model_json, ": the graph has no input (Placeholder)"));
  if (input_.dims.size() != 4) throw ModelError(cat(model_json, ": input '", input_.name, "' must be a 4-D image batch, its shape has ", input_.dims.size(), " axes"));
  // TensorFlow's [N, H, W, C], unless axis 1 looks like colour channels and axis 3 does not
  // ([N, C, H, W]: graphs converted from ONNX).
  auto colour_like = [](int64_t d) { return d >= 1 && d <= 4; };
  input_.nhwc = !(colour_like(input_.dims[1]) && !colour_like(input_.dims[3]));

  if (doc.contains("signature") && doc["signature"].contains("outputs"))
    for (const auto& [k, v] : doc["signature"]["outputs"].items()) outputs_.push_back(TfImporter::key(v.value("name", k)));
  if (outputs_.empty()) {  // the sinks: nodes nobody reads
    std::set<std::string> read;
    for (const auto& n : nodes_)
      for (const auto& i : n.inputs) read.insert(TfImporter::key(i.substr(0, i.find(':'))));
    for (const auto& n : nodes_)
      if (!read.count(n.name) && n.op != "Const") outputs_.push_back(n.name);
  }

  // Weights.
  for (const auto& group : doc["weightsManifest"]) {
    size_t expected = 0;
    for (const auto& w : group["weights"]) {
      const std::string where = cat(model_json, ": weight '", w.value("name", ""), "'");
      const std::string quant = w.contains("quantization") ? w["quantization"].value("dtype", "") : "";
      int64_t count = 1;
      for (const auto& d : w["shape"]) count *= json_int(d);
      if (count < 0) throw ModelError(cat(where, ": negative dimension"));
      expected += static_cast<size_t>(count) * element_bytes(w.value("dtype", "float32"), quant, where);
    }
    std::string last;
    const std::vector<char> bytes = read_shards(model_json, group["paths"], expected, last);
    size_t offset = 0;
    for (const auto& w : group["weights"]) {
      const std::string name = w["name"].get<std::string>();
      const std::string dtype = w.value("dtype", "float32");
      Shape shape;
      for (const auto& d : w["shape"]) shape.push_back(json_int(d));
      const auto n = static_cast<size_t>(element_count(shape));
      const char* p = bytes.data() + offset;
      if (w.contains("quantization")) {
        const auto& q = w["quantization"];
        const std::string qt = q.value("dtype", "");
        std::vector<float> v(n);
        if (qt == "float16") {
          for (size_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            v[i] = half_to_float(h);
          }
          offset += 2 * n;
        } else {
          const float scale = q.value("scale", 1.0f), min = q.value("min", 0.0f);
          for (size_t i = 0; i < n; ++i) {
            uint32_t code = 0;
            if (qt == "uint8") code = static_cast<unsigned char>(p[i]);
            else std::memcpy(&code, p + 2 * i, 2);  // little-endian uint16
            v[i] = static_cast<float>(code) * scale + min;
          }
          offset += (qt == "uint8" ? 1 : 2) * n;
        }
        if (dtype == "int32") {
          std::vector<int64_t> ints;
          for (float f : v) ints.push_back(static_cast<int64_t>(std::lround(f)));
          weights_[name] = ConstTensor::of_ints(shape, std::move(ints));
        } else {
          weights_[name] = ConstTensor::of_floats(shape, std::move(v));
        }
      } else if (dtype == "float32") {
        std::vector<float> v(n);
        std::memcpy(v.data(), p, 4 * n);
        offset += 4 * n;
        weights_[name] = ConstTensor::of_floats(shape, std::move(v));
      } else if (dtype == "int32") {
        std::vector<int64_t> v(n);
        for (size_t i = 0; i < n; ++i) {
          int32_t x;
          std::memcpy(&x, p + 4 * i, 4);
          v[i] = x;
        }
        offset += 4 * n;
        weights_[name] = ConstTensor::of_ints(shape, std::move(v));
      } else {  // bool
        std::vector<int64_t> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = p[i] != 0;
        offset += n;
        weights_[name] = ConstTensor::of_ints(shape, std::move(v));
      }
    }
  }
}

Graph TfjsModel::build(const Shape& input_shape, const std::vector<std::string>& requested) const {
  const std::vector<std::string>& outputs = requested.empty() ? outputs_ : requested;
  if (input_shape.size() != 4) throw ModelError(cat(path_, ": the input must be 4-D, got ", to_string(input_shape)));
  // The input in TensorFlow's order, checked against the declared shape.
  const Shape tf_input = input_.nhwc ? Shape{input_shape[0], input_shape[2], input_shape[3], input_shape[1]} : input_shape;
  for (size_t i = 0; i < 4; ++i)
    if (input_.dims[i] >= 0 && input_.dims[i] != tf_input[i]) {
      Shape declared(input_.dims.begin(), input_.dims.end());
      throw ModelError(cat(path_, ": input '", input_.name, "' is declared ", to_string(declared), " (-1 = any), got ", to_string(tf_input)));
    }

  std::map<std::string, const TfjsNode*> by_name;
  for (const auto& n : nodes_) by_name[n.name] = &n;
  // Only what the outputs need, in dependency order (TF.js files are not always sorted).
  std::vector<const TfjsNode*> order;
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::vector<std::pair<const TfjsNode*, size_t>> stack;
  auto node_of = [&](const std::string& ref, const std::string& who) {
    std::string k = ref;
    if (!k.empty() && k[0] == '^') k.erase(0, 1);
    k = k.substr(0, k.find(':'));
    const auto it = by_name.find(k);
    if (it == by_name.end()) throw ModelError(cat(path_, ": ", who, " refers to '", ref, "', which no node defines"));
    return it->second;
  };
  for (const auto& out : outputs) {
    const TfjsNode* root = node_of(out, "output");
    if (state[root->name] == 2) continue;
    stack.push_back({root, 0});
    state[root->name] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const TfjsNode* in = node_of(node->inputs[next++], cat("node '", node->name, "'"));
        const int s = state[in->name];
        if (s == 1) throw ModelError(cat(path_, ": the graph has a cycle through node '", in->name, "'"));
        if (s == 0) {
          state[in->name] = 1;
          stack.push_back({in, 0});
        }
        continue;
      }
      state[node->name] = 2;
      order.push_back(node);
      stack.pop_back();
    }
  }

  TfImporter im(path_);
  for (const TfjsNode* n : order) {
    if (n->op == "Placeholder") {
      im.input_node(n->name, input_shape, input_.nhwc ? nchw_layout() : identity_layout(4));
      continue;
    }
    if (n->op == "Const") {
      const auto it = weights_.find(n->name);
      if (it == weights_.end()) throw ModelError(cat(path_, ": node '", n->name, "' (Const): no weight of that name in the weights manifest"));
      im.set_constant(n->name, it->second);
      continue;
    }
    TfNodeView view{*n, nlohmann::json::parse(n->attrs)};
    convert_tf_node(im, view);
  }
  for (const auto& out : outputs) {
    const std::string k = TfImporter::key(out);
    if (!im.has(k)) throw ModelError(cat(path_, ": output '", out, "' is not produced by any node"));
    // Outputs are handed over in TensorFlow's element order.
    const std::string who = cat("output '", out, "'");
    TfjsNode def{k, "Output", {k}, "{}"};
    TfNodeView view{def, nlohmann::json::object()};
    const size_t rank = im.value(view, 0).tf_shape.size();
    if (im.value(view, 0).constant) throw ModelError(cat(path_, ": output '", out, "' is a constant"));
    const int id = im.runtime_value(k, identity_layout(rank), who);
    im.graph().outputs.push_back(id);
    im.graph().output_names.push_back(k);
  }
  return std::move(im.graph());
}

}  // namespace osprey
