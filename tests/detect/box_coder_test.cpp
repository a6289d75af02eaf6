// BoxCoder against torchvision's (models/detection/_utils.py): within 1e-5 relative.
#include "detect/box_coder.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

BoxCoder coder_for(const Case& c) { return BoxCoder(c.params["weights"].get<std::array<float, 4>>()); }

std::vector<BoxDelta> deltas_of(const std::vector<float>& flat) {
  std::vector<BoxDelta> out(flat.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) out[i] = {flat[4 * i], flat[4 * i + 1], flat[4 * i + 2], flat[4 * i + 3]};
  return out;
}

}  // namespace

TEST_CASE("BoxCoder encode matches torchvision") {
  for (const Case& c : cases_of("encode")) {
    CAPTURE(c.name);
    const auto deltas = coder_for(c).encode(c.boxes("boxes"), c.boxes("references"));
    std::vector<float> flat;
    for (const BoxDelta& d : deltas) flat.insert(flat.end(), {d.dx, d.dy, d.dw, d.dh});
    const double err = max_relative_error(flat, c.floats("deltas"));
    MESSAGE(c.name, ": max relative error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("BoxCoder decode matches torchvision") {
  for (const Case& c : cases_of("decode")) {
    CAPTURE(c.name);
    const auto boxes = coder_for(c).decode(deltas_of(c.floats("deltas")), c.boxes("references"));
    const double err = max_relative_error(flatten(boxes), c.floats("boxes"));
    MESSAGE(c.name, ": ", boxes.size(), " boxes, max relative error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("BoxCoder hand-computed cases") {
  const BoxCoder coder({10, 10, 5, 5});
  const Box anchor{0, 0, 10, 20};  // centre (5, 10), 10 x 20
  const Box gt{5, 10, 25, 30};     // centre (15, 20), 20 x 20
  const auto d = coder.encode(std::vector<Box>{gt}, std::vector<Box>{anchor}).at(0);
  CHECK(d.dx == doctest::Approx(10 * 10.0 / 10));
  CHECK(d.dy == doctest::Approx(10 * 10.0 / 20));
  CHECK(d.dw == doctest::Approx(5 * std::log(2.0)));
  CHECK(d.dh == doctest::Approx(0.0));
  const Box back = coder.decode(std::vector<BoxDelta>{d}, std::vector<Box>{anchor}).at(0);
  CHECK(back.x1 == doctest::Approx(5));
  CHECK(back.y2 == doctest::Approx(30));
  // dw beyond log(1000 / 16) is clamped: the width grows at most 62.5 times.
  const Box wide = coder.decode(std::vector<BoxDelta>{{0, 0, 5 * 100.0f, 0}}, std::vector<Box>{anchor}).at(0);
  CHECK(wide.x2 - wide.x1 == doctest::Approx(10 * 62.5).epsilon(1e-5));
  CHECK_THROWS_AS(coder.decode(std::vector<BoxDelta>(3), std::vector<Box>(2)), std::invalid_argument);
  CHECK(coder.decode({}, {}).empty());
}
