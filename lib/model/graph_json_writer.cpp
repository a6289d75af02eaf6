// Graph -> explicit-graph JSON (graph_json.hpp), and the ONNX conversion built on it
// (convert.hpp). The parser in graph_json.cpp reads back exactly what is written here.
#include <unistd.h>

#include <cctype>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "engine/shapes.hpp"
#include "model/convert.hpp"
#include "model/graph_json.hpp"
#include "model/onnx/onnx_model.hpp"
#include "model/safetensors.hpp"

namespace osprey {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

bool file_safe_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; }

// A file-safe name: other characters become '_', no leading '.' or '-'.
std::string file_safe(const std::string& raw) {
  std::string s;
  for (char c : raw) s += file_safe_char(c) ? c : '_';
  const size_t start = s.find_first_not_of(".-");
  return start == std::string::npos ? "" : s.substr(start);
}

// A layer name from a node name. PyTorch's exporter names nodes by module scope,
// "/features/features.1/conv/conv.0/conv.0.0/Conv", where a component repeats its parent
// as a prefix: those collapse, giving "features.1.conv.0.0.Conv".
std::string layer_name(const std::string& node_name) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= node_name.size()) {
    const size_t slash = std::min(node_name.find('/', pos), node_name.size());
    const std::string c = node_name.substr(pos, slash - pos);
    pos = slash + 1;
    if (c.empty()) continue;
    if (!parts.empty() && c.rfind(parts.back() + ".", 0) == 0) parts.back() = c;
    else parts.push_back(c);
  }
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ".") + p;
  return file_safe(joined);
}

// A float as JSON: the shortest decimal that reads back as the same float; non-finite
// values as the strings the parser accepts.
ordered_json real(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, res.ptr).c_str(), nullptr);
}

ordered_json pair_json(const std::array<int, 2>& p) { return p[0] == p[1] ? ordered_json(p[0]) : ordered_json{p[0], p[1]}; }

ordered_json padding_json(const std::array<int, 4>& p) {
  if (p[0] == p[2] && p[1] == p[3]) return pair_json({p[0], p[1]});
  return ordered_json{p[0], p[1], p[2], p[3]};
}

bool all_zero(const std::array<int, 4>& p) { return p == std::array<int, 4>{0, 0, 0, 0}; }

const char* resize_coord(ResizeParams::Coord c) {
  switch (c) {
    case ResizeParams::HalfPixel: return "half_pixel";
    case ResizeParams::PytorchHalfPixel: return "pytorch_half_pixel";
    case ResizeParams::AlignCorners: return "align_corners";
    case ResizeParams::Asymmetric: return "asymmetric";
    case ResizeParams::TfHalfPixelForNn: return "tf_half_pixel_for_nn";
  }
  return "?";
}

const char* resize_rounding(ResizeParams::Rounding r) {
  switch (r) {
    case ResizeParams::RoundPreferFloor: return "round_prefer_floor";
    case ResizeParams::RoundPreferCeil: return "round_prefer_ceil";
    case ResizeParams::Floor: return "floor";
    case ResizeParams::Ceil: return "ceil";
  }
  return "?";
}

const char* pad_mode(PadParams::Mode m) {
  switch (m) {
    case PadParams::Constant: return "constant";
    case PadParams::Reflect: return "reflect";
    case PadParams::Edge: return "edge";
  }
  return "?";
}

void activation_json(ordered_json& j, const Activation& a) {
  j["op"] = act_name(a.kind);
  switch (a.kind) {
    case ActKind::LeakyRelu: j["negative_slope"] = real(a.alpha); break;
    case ActKind::Clip:
      if (a.alpha > -FLT_MAX) j["min"] = real(a.alpha);
      if (a.beta < FLT_MAX) j["max"] = real(a.beta);
      break;
    case ActKind::HardSigmoid:
    case ActKind::Affine:
      j["alpha"] = real(a.alpha);
      j["beta"] = real(a.beta);
      break;
    case ActKind::Pow: j["exponent"] = real(a.alpha); break;
    case ActKind::Elu: j["alpha"] = real(a.alpha); break;
    default: break;
  }
}

[[noreturn]] void node_error(const Node& node, const std::string& what) {
  throw ModelError(cat("layer '", node.name, "' (", op_name(node.op), "): ", what));
}

// Whether axis 0 of every node's value is the batch axis of the graph input, i.e. whether
// the node treats samples independently and keeps them on axis 0. `relative` receives the
// reshapes and slices that do so only when written relative to their input (0 / -1).
std::vector<bool> batch_axes(const Graph& g, const std::vector<Shape>& shapes, const std::vector<bool>& live) {
  std::vector<bool> batch(g.nodes.size(), false);
  for (size_t id = 0; id < g.nodes.size(); ++id) {
    if (!live[id]) continue;
    const Node& n = g.nodes[id];
    const bool in0 = !n.inputs.empty() && batch[n.inputs[0]];
    const Shape& out = shapes[id];
    bool b = false;
    switch (n.op) {
      case Op::Input: b = !out.empty(); break;
      case Op::Constant: b = false; break;
      case Op::Softmax: b = in0 && n.get<AxisParams>().axis != 0; break;
      case Op::Concat: {
        b = n.get<AxisParams>().axis != 0;
        for (int in : n.inputs) b = b && batch[in];
        break;
      }
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Max:
      case Op::Min:
      case Op::MatMul:
        for (int in : n.inputs) b = b || (batch[in] && shapes[in].size() == out.size());
        break;
      case Op::Reshape: {
        const Shape& in = shapes[n.inputs[0]];
        b = in0 && !out.empty() && !in.empty() && out[0] == in[0];
        break;
      }
      case Op::Transpose: b = in0 && n.get<TransposeParams>().perm.at(0) == 0; break;
      case Op::Slice: {
        const auto& p = n.get<SliceParams>();
        b = in0 && p.starts.at(0) == 0 && p.steps.at(0) == 1 && out.at(0) == shapes[n.inputs[0]].at(0);
        break;
      }
      case Op::Pad: {
        const auto& p = n.get<PadParams>();
        b = in0 && p.begin.at(0) == 0 && p.end.at(0) == 0;
        break;
      }
      default: b = in0; break;  // convolutions, pooling, activations, linear, flatten, resize ...
    }
    batch[id] = b;
  }
  return batch;
}

// The shape the parser declares for a node's tensor (the writer reshapes to it).
Shape declared_shape(const Node& n, const std::string& role, const std::vector<Shape>& shapes) {
  const auto in_shape = [&]() -> const Shape& { return shapes[n.inputs.at(0)]; };
  switch (n.op) {
    case Op::Conv:
    case Op::Deconv: {
      const auto& p = n.get<ConvParams>();
      if (role == "weight") return {p.out_channels, in_shape()[1] / p.groups, p.kernel[0], p.kernel[1]};
      if (role == "bias") return {p.out_channels};
      break;
    }
    case Op::InnerProduct: {
      const auto& p = n.get<InnerProductParams>();
      if (role == "weight") return {p.out_features, in_shape()[1]};
      if (role == "bias") return {p.out_features};
      break;
    }
    case Op::BatchNorm:
      if (role == "weight" || role == "bias" || role == "running_mean" || role == "running_var") return {in_shape()[1]};
      break;
    case Op::Constant:
      if (role == "value") return n.tensor("value").shape;
      break;
    default: break;
  }
  node_error(n, cat("has a tensor '", role, "' that the config format cannot hold"));
}

}  // namespace

GraphJson graph_to_json(const Graph& g, const Shape& input_shape, bool with_tensors) {
  if (g.inputs.size() != 1) throw ModelError(cat("the graph has ", g.inputs.size(), " inputs; configs describe one-input models"));
  const int n = static_cast<int>(g.nodes.size());
  const std::vector<Shape> shapes = infer_shapes(g, {input_shape});
  const int input = g.inputs[0];
  if (input_shape.size() < 2) throw ModelError(cat("input shape ", to_string(input_shape), " has no channel axis"));

  // The nodes the outputs depend on.
  std::vector<bool> live(n, false);
  for (int out : g.outputs) live.at(out) = true;
  for (int id = n - 1; id >= 0; --id) {
    if (!live[id]) continue;
    const Node& node = g.nodes[id];
    if (node.dead) node_error(node, "was removed by a graph pass but is still used");
    if (!node.post_ops.empty()) node_error(node, "has fused post-ops; write the graph before optimize()");
    if (node.op == Op::Input && id != input) node_error(node, "is a second graph input");
    for (int in : node.inputs) live[in] = true;
  }
  const std::vector<bool> batch = batch_axes(g, shapes, live);

  // Names: graph outputs take the output's name where they can, the rest their node's.
  std::vector<std::string> names(n);
  std::set<std::string> used{"input"};
  names[input] = "input";
  auto unique = [&](std::string base) {
    if (base.empty()) base = "layer";
    std::string name = base;
    for (int k = 2; used.count(name); ++k) name = cat(base, "_", k);
    used.insert(name);
    return name;
  };
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const int id = g.outputs[i];
    const std::string want = i < g.output_names.size() ? file_safe(g.output_names[i]) : "";
    if (names[id].empty() && !want.empty() && !used.count(want)) names[id] = unique(want);
  }
  for (int id = 0; id < n; ++id)
    if (live[id] && names[id].empty()) names[id] = unique(layer_name(g.nodes[id].name).empty() ? op_name(g.nodes[id].op) : layer_name(g.nodes[id].name));

  GraphJson result;
  ordered_json layers = ordered_json::array();
  std::string previous = "input";
  for (int id = 0; id < n; ++id) {
    const Node& node = g.nodes[id];
    if (!live[id] || node.op == Op::Input) continue;
    ordered_json j;
    j["name"] = names[id];
    j["op"] = op_name(node.op);
    if (node.op != Op::Constant) {
      if (node.inputs.size() == 1 && names[node.inputs[0]] == previous) {
        // reads the previous layer: the default
      } else if (node.inputs.size() == 1) {
        j["input"] = names[node.inputs[0]];
      } else {
        ordered_json ins = ordered_json::array();
        for (int in : node.inputs) ins.push_back(names[in]);
        j["input"] = ins;
      }
    }
    const Shape& out = shapes[id];
    const Shape& x = node.inputs.empty() ? out : shapes[node.inputs[0]];
    switch (node.op) {
      case Op::Conv:
      case Op::Deconv: {
        const auto& p = node.get<ConvParams>();
        j["out_channels"] = p.out_channels;
        j["in_channels"] = x.at(1);
        j["kernel"] = pair_json(p.kernel);
        if (p.stride != std::array<int, 2>{1, 1}) j["stride"] = pair_json(p.stride);
        if (!all_zero(p.pad)) j["padding"] = padding_json(p.pad);
        if (p.dilation != std::array<int, 2>{1, 1}) j["dilation"] = pair_json(p.dilation);
        if (p.groups != 1) j["groups"] = p.groups;
        if (node.op == Op::Deconv && p.output_padding != std::array<int, 2>{0, 0}) j["output_padding"] = pair_json(p.output_padding);
        if (!p.bias) j["bias"] = false;
        if (p.bias != node.has_tensor("bias")) node_error(node, "bias flag and bias tensor disagree");
        break;
      }
      case Op::BatchNorm:
        j["channels"] = x.at(1);
        j["eps"] = real(node.get<BatchNormParams>().eps);
        break;
      case Op::Activation: activation_json(j, node.get<Activation>()); break;
      case Op::Pool: {
        const auto& p = node.get<PoolParams>();
        if (p.global) {
          j["op"] = p.max ? "global_max_pool" : "global_avg_pool";
          break;
        }
        j["op"] = p.max ? "max_pool" : "avg_pool";
        j["kernel"] = pair_json(p.kernel);
        if (p.stride != p.kernel) j["stride"] = pair_json(p.stride);
        if (!all_zero(p.pad)) j["padding"] = padding_json(p.pad);
        if (p.ceil_mode) j["ceil_mode"] = true;
        if (!p.max && !p.count_include_pad) j["count_include_pad"] = false;
        break;
      }
      case Op::AdaptiveAvgPool: j["output"] = pair_json(node.get<AdaptivePoolParams>().output); break;
      case Op::InnerProduct: {
        const auto& p = node.get<InnerProductParams>();
        j["in_features"] = x.at(1);
        j["out_features"] = p.out_features;
        if (!p.bias) j["bias"] = false;
        if (p.bias != node.has_tensor("bias")) node_error(node, "bias flag and bias tensor disagree");
        break;
      }
      case Op::LRN: {
        const auto& p = node.get<LRNParams>();
        j["size"] = p.size;
        j["alpha"] = real(p.alpha);
        j["beta"] = real(p.beta);
        j["k"] = real(p.k);
        break;
      }
      case Op::Softmax:
      case Op::Concat:
        if (node.get<AxisParams>().axis != 1) j["axis"] = node.get<AxisParams>().axis;
        break;
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Max:
      case Op::Min:
      case Op::MatMul:
      case Op::Flatten:
      case Op::Identity: break;
      case Op::Constant: j["shape"] = out; break;
      case Op::Reshape: {
        Shape target = out;  // resolved for this input shape
        for (auto d : target)
          if (d == 0) node_error(node, "empty tensors cannot be written (0 in a reshape target means 'copy')");
        if (batch[id]) target[0] = 0;  // copy the batch size
        j["shape"] = target;
        break;
      }
      case Op::Transpose: j["perm"] = node.get<TransposeParams>().perm; break;
      case Op::Slice: {
        const auto& p = node.get<SliceParams>();
        Shape sizes = out;
        if (batch[id]) sizes[0] = -1;  // the whole batch
        j["starts"] = p.starts;
        j["sizes"] = sizes;
        bool unit = true;
        for (auto s : p.steps) unit = unit && s == 1;
        if (!unit) j["steps"] = p.steps;
        break;
      }
      case Op::Pad: {
        const auto& p = node.get<PadParams>();
        j["begin"] = p.begin;
        j["end"] = p.end;
        if (p.mode != PadParams::Constant) j["mode"] = pad_mode(p.mode);
        if (p.mode == PadParams::Constant && p.value != 0.0f) j["value"] = real(p.value);
        break;
      }
      case Op::Resize: {
        const auto& p = node.get<ResizeParams>();
        j["mode"] = p.mode == ResizeParams::Nearest ? "nearest" : "linear";
        j["coordinate_mode"] = resize_coord(p.coord);
        if (p.mode == ResizeParams::Nearest) j["nearest_mode"] = resize_rounding(p.nearest);
        if (p.size_from_second_input) break;  // the second input gives the size
        j["size"] = {out.at(out.size() - 2), out.at(out.size() - 1)};
        if (p.scale[0] > 0 || p.scale[1] > 0) j["scales"] = {real(p.scale[0]), real(p.scale[1])};
        break;
      }
      case Op::Input: break;
      case Op::L2Norm: node_error(node, "l2_norm has no explicit-graph form");
    }
    for (const auto& t : node.tensors) {
      if (!with_tensors) continue;
      if (t.value.empty() && t.value.shape.empty()) node_error(node, cat("tensor '", t.key, "' has no data"));
      const Shape shape = declared_shape(node, t.role, shapes);
      if (element_count(shape) != t.value.size())
        node_error(node, cat("tensor '", t.key, "' has shape ", to_string(t.value.shape), ", expected ", to_string(shape)));
      result.tensors[names[id] + "." + t.role] = Tensor(shape, t.value.data);
      if (node.op != Op::Constant) result.parameters += t.value.size();
    }
    layers.push_back(std::move(j));
    previous = names[id];
    ++result.layers;
  }
  if (layers.empty()) throw ModelError("the graph has no layers (its output is its input)");

  ordered_json outputs = ordered_json::array();
  for (int out : g.outputs) outputs.push_back(names[out]);
  result.spec["input_channels"] = input_shape[1];
  result.spec["layers"] = std::move(layers);
  result.spec["outputs"] = std::move(outputs);
  return result;
}

namespace {

std::string compact(const ordered_json& j) {
  if (j.is_object()) {
    std::string s = "{";
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      s += (first ? "" : ", ") + ordered_json(k).dump() + ": " + compact(v);
      first = false;
    }
    return s + "}";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + compact(j[i]);
    return s + "]";
  }
  return j.dump();
}

void pretty(std::string& s, const ordered_json& j, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' '), inner(static_cast<size_t>(indent + 2), ' ');
  if (j.is_object() && !j.empty()) {
    s += "{\n";
    size_t i = 0;
    for (const auto& [k, v] : j.items()) {
      s += inner + ordered_json(k).dump() + ": ";
      pretty(s, v, indent + 2);
      s += ++i < j.size() ? ",\n" : "\n";
    }
    s += pad + "}";
  } else if (j.is_array() && !j.empty() && j[0].is_object()) {
    s += "[\n";
    for (size_t i = 0; i < j.size(); ++i) s += inner + compact(j[i]) + (i + 1 < j.size() ? ",\n" : "\n");
    s += pad + "]";
  } else {
    s += compact(j);
  }
}

}  // namespace

std::string format_config(const ordered_json& config) {
  std::string s;
  pretty(s, config, 0);
  return s + "\n";
}

// ---------------------------------------------------------------- ONNX conversion

ConvertedModel convert_onnx(const std::string& path, const ConvertOptions& options) {
  ConvertedModel m;
  m.name = options.name.empty() ? file_safe(fs::path(path).stem().string()) : options.name;
  if (m.name.empty() || m.name != file_safe(m.name))
    throw ModelError(cat("model name '", m.name, "' is not usable as a file name (letters, digits, '.', '_', '-')"));

  const OnnxModel onnx(path);
  if (onnx.inputs().size() != 1)
    throw ModelError(cat(path, ": Osprey configs describe models with one input, this one has ", onnx.inputs().size()));
  const OnnxInput& in = onnx.inputs()[0];
  if (!in.is_float) throw ModelError(cat(path, ": input '", in.name, "' is not a float tensor"));
  if (in.dims.size() != 4)
    throw ModelError(cat(path, ": input '", in.name, "' has ", in.dims.size(), " dimensions; Osprey models take image batches [N, C, H, W]"));
  if (in.dims[0] > 1)
    throw ModelError(cat(path, ": input '", in.name, "' fixes the batch size to ", in.dims[0], "; export the model with batch 1 or a free batch size"));
  if (in.dims[1] != 1 && in.dims[1] != 3)
    throw ModelError(cat(path, ": input '", in.name, "' has ", in.dims[1] < 0 ? std::string("an open number of") : std::to_string(in.dims[1]),
                         " channels; Osprey image models take 1 (gray) or 3 (rgb/bgr)"));
  std::array<int64_t, 2> size{in.dims[2], in.dims[3]};
  const bool given = options.input_size[0] > 0 && options.input_size[1] > 0;
  for (int i = 0; i < 2; ++i) {
    if (size[i] > 0 && given && size[i] != options.input_size[i])
      throw ModelError(cat(path, ": the file fixes the input size to ", in.dims[2] < 0 ? "?" : std::to_string(in.dims[2]), "x",
                           in.dims[3] < 0 ? "?" : std::to_string(in.dims[3]), ", not ", options.input_size[0], "x", options.input_size[1]));
    if (size[i] <= 0) {
      if (!given) throw ModelError(cat(path, ": the file leaves the input height and width open; pass --input-size H,W"));
      size[i] = options.input_size[i];
    }
  }
  m.input = {1, in.dims[1], size[0], size[1]};

  GraphJson gj = graph_to_json(onnx.build({m.input}), m.input);
  if (in.dims[0] < 0) {
    // A free batch size: the graph imported at batch 2 must write the same config, else
    // some layer depends on the batch size in a way the config cannot express.
    Shape two = m.input;
    two[0] = 2;
    try {
      const GraphJson check = graph_to_json(onnx.build({two}), two, false);
      const auto& a = gj.spec["layers"];
      const auto& b = check.spec["layers"];
      for (size_t i = 0; i < std::max(a.size(), b.size()) && m.batch_warning.empty(); ++i)
        if (i >= a.size() || i >= b.size() || a[i] != b[i])
          m.batch_warning = cat("layer '", a[std::min(i, a.size() - 1)]["name"].get<std::string>(), "' depends on the batch size");
      if (m.batch_warning.empty() && gj.spec != check.spec) m.batch_warning = "the graph outputs depend on the batch size";
    } catch (const ModelError& e) {
      m.batch_warning = cat("the file does not import at batch 2: ", e.what());
    }
  }
  m.tensors = std::move(gj.tensors);
  m.layers = gj.layers;
  m.parameters = gj.parameters;
  m.metadata = {{"source", fs::path(path).filename().string()}, {"producer", onnx.producer()}, {"opset", std::to_string(onnx.opset())}};

  const bool gray = m.input[1] == 1;
  m.config["name"] = m.name;
  m.config["architecture"] = {{"graph", std::move(gj.spec)}};
  m.config["input"] = {{"size", {m.input[2], m.input[3]}},
                       {"channels", gray ? "gray" : "rgb"},
                       {"resize", "stretch"},
                       {"scale", 1.0},
                       {"mean", gray ? ordered_json::array({0.0}) : ordered_json::array({0.0, 0.0, 0.0})},
                       {"std", gray ? ordered_json::array({1.0}) : ordered_json::array({1.0, 1.0, 1.0})}};
  m.config["weights"] = m.name + ".safetensors";
  return m;
}

ConvertedFiles converted_files(const std::string& dir, const std::string& name) {
  ConvertedFiles f;
  f.config = (fs::path(dir) / (name + ".json")).string();
  f.weights = (fs::path(dir) / (name + ".safetensors")).string();
  const std::string tag = cat(".partial.", ::getpid());
  // write_safetensors writes "<path>.tmp" and renames it to <path>.
  f.temporary = {f.weights + tag, f.weights + tag + ".tmp", f.config + tag};
  return f;
}

ConvertedFiles write_converted(const ConvertedModel& m, const std::string& dir) {
  ConvertedFiles f = converted_files(dir, m.name);
  std::error_code ec;
  const bool created = !fs::exists(dir, ec) && fs::create_directories(dir, ec);
  if (ec) throw ModelError(cat(dir, ": cannot create output directory: ", ec.message()));
  if (!fs::is_directory(dir)) throw ModelError(cat(dir, ": exists and is not a directory"));
  struct Cleanup {
    const ConvertedFiles& f;
    const std::string& dir;
    bool created;
    bool done = false;
    ~Cleanup() {
      if (done) return;
      std::error_code e;
      for (const auto& t : f.temporary) fs::remove(t, e);
      if (created) fs::remove(dir, e);  // only if empty
    }
  } cleanup{f, dir, created};

  const std::string& tmp_weights = f.temporary[0];
  const std::string& tmp_config = f.temporary[2];
  write_safetensors(tmp_weights, m.tensors, m.metadata);
  {
    std::ofstream out(tmp_config, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(cat(f.config, ": cannot write"));
    out << format_config(m.config);
    out.close();
    if (!out) throw ModelError(cat(f.config, ": write failed"));
  }
  if (std::rename(tmp_weights.c_str(), f.weights.c_str()) != 0) throw ModelError(cat(f.weights, ": cannot rename into place"));
  if (std::rename(tmp_config.c_str(), f.config.c_str()) != 0) {
    std::error_code e;
    fs::remove(f.weights, e);
    throw ModelError(cat(f.config, ": cannot rename into place"));
  }
  cleanup.done = true;
  return f;
}

}  // namespace osprey
