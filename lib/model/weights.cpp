#include "model/weights.hpp"

#include <set>

#include "core/error.hpp"

namespace osprey {

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void bind_weights(Graph& graph, const SafetensorsFile& file) {
  std::set<std::string> used;
  int missing = 0, declared = 0;
  std::string first_missing;
  for (auto& node : graph.nodes) {
    for (auto& t : node.tensors) {
      if (!t.value.empty()) continue;  // already bound (e.g. imported with the graph)
      ++declared;
      auto it = file.entries().find(t.key);
      if (it == file.entries().end()) {
        if (!missing++) first_missing = cat("'", t.key, "' ", to_string(t.shape));
        continue;
      }
      if (it->second.shape != t.shape)
        throw ModelError(cat(file.path(), ": tensor '", t.key, "' has shape ", to_string(it->second.shape),
                             " but the architecture expects ", to_string(t.shape)));
      t.value = file.read(t.key);
      used.insert(t.key);
    }
  }
  if (missing)
    throw ModelError(cat(file.path(), ": missing ", missing, " of the ", declared, " tensors the architecture needs, first ",
                         first_missing, " (is this file for another model?)"));
  for (const auto& [key, entry] : file.entries()) {
    if (used.count(key) || ends_with(key, "num_batches_tracked")) continue;
    bool ignored = false;
    for (const auto& prefix : graph.ignored_key_prefixes) ignored |= key.rfind(prefix, 0) == 0;
    if (!ignored)
      throw ModelError(cat(file.path(), ": unexpected tensor '", key, "' ", to_string(entry.shape),
                           " that the architecture does not use (is this file for another model?)"));
  }
}

}  // namespace osprey
