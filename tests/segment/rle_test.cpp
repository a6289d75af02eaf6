// COCO RLE (lib/segment/rle.hpp) against the format's definition in cocoapi's maskApi.c:
// hand-worked vectors and round trips on random and degenerate masks.
#include <doctest/doctest.h>

#include <random>
#include <stdexcept>

#include "segment/rle.hpp"

using namespace osprey::segment;

TEST_CASE("rle of a 3x3 mask worked out by hand") {
  // rows:  0 1 0        column-major walk: col 0 = 0 1 0, col 1 = 1 1 0, col 2 = 0 0 1
  //        1 1 0        -> 0 1 0 1 1 0 0 0 1
  //        0 0 1        runs (starting with zeros): 1, 1, 1, 2, 3, 1
  // String: the first three counts as they are ('0' + 1 = '1' each); then deltas against the
  // count two before: 2 - 1 = 1 -> '1', 3 - 1 = 2 -> '2', 1 - 2 = -1 -> the 5-bit group 31
  // (sign bit 0x10 set, nothing more to say) -> '0' + 31 = 'O'.
  const std::vector<uint8_t> mask{0, 1, 0, 1, 1, 0, 0, 0, 1};
  const Rle rle = rle_encode(mask, 3, 3);
  CHECK(rle.counts == std::vector<uint32_t>{1, 1, 1, 2, 3, 1});
  CHECK(rle_to_string(rle) == "11112O");
  CHECK(rle_area(rle) == 4);
  CHECK(rle_to_bbox(rle) == std::array<double, 4>{0, 0, 3, 3});
  CHECK(rle_from_string("11112O", 3, 3).counts == rle.counts);
  CHECK(rle_decode(rle) == mask);
}

TEST_CASE("rle counts of 32 and more take several characters") {
  // A 40x1 column: 5 zeros then 35 ones -> counts 5, 35. 35 = 3 + 1 * 32: the low group 3
  // with the "more" bit 0x20 -> '0' + 35 = 'S', then 1 -> '1'.
  std::vector<uint8_t> mask(40, 1);
  for (int i = 0; i < 5; ++i) mask[i] = 0;
  const Rle rle = rle_encode(mask, 40, 1);
  CHECK(rle.counts == std::vector<uint32_t>{5, 35});
  CHECK(rle_to_string(rle) == "5S1");
  CHECK(rle_to_bbox(rle) == std::array<double, 4>{0, 5, 1, 35});
}

TEST_CASE("rle of empty and full masks") {
  const Rle full = rle_encode(std::vector<uint8_t>(4, 1), 2, 2);
  CHECK(full.counts == std::vector<uint32_t>{0, 4});  // a zero-length 0-run first
  CHECK(rle_to_string(full) == "04");
  CHECK(rle_to_bbox(full) == std::array<double, 4>{0, 0, 2, 2});
  const Rle empty = rle_encode(std::vector<uint8_t>(6, 0), 2, 3);
  CHECK(empty.counts == std::vector<uint32_t>{6});
  CHECK(rle_area(empty) == 0);
  CHECK(rle_to_bbox(empty) == std::array<double, 4>{0, 0, 0, 0});
  const Rle nothing = rle_encode({}, 0, 0);
  CHECK(nothing.counts == std::vector<uint32_t>{0});
  CHECK(rle_decode(nothing).empty());
}

TEST_CASE("rle bbox of a run that wraps into the next column spans the height") {
  // 3x3 with (row 2, col 0) and (row 0, col 1) set: one 1-run over the column boundary.
  std::vector<uint8_t> mask(9, 0);
  mask[2 * 3 + 0] = 1;
  mask[0 * 3 + 1] = 1;
  const Rle rle = rle_encode(mask, 3, 3);
  CHECK(rle.counts == std::vector<uint32_t>{2, 2, 5});
  CHECK(rle_to_bbox(rle) == std::array<double, 4>{0, 0, 2, 3});
}

TEST_CASE("rle round trips on random masks") {
  std::mt19937 rng(7);
  const std::vector<std::pair<int, int>> sizes{{1, 1}, {1, 37}, {37, 1}, {5, 7}, {64, 48}, {1, 1000}, {1000, 1}, {123, 77}};
  int checked = 0;
  for (const auto& [h, w] : sizes)
    for (double density : {0.0, 0.02, 0.5, 0.98, 1.0}) {
      std::bernoulli_distribution bit(density);
      std::vector<uint8_t> mask(static_cast<size_t>(h * w));
      // blobs and noise: long runs (large deltas, both signs) and short ones
      for (auto& m : mask) m = bit(rng);
      if (h * w > 100)
        for (int i = 0; i < h * w / 3; ++i) mask[static_cast<size_t>(i)] = density > 0.5 ? 0 : 1;
      const Rle rle = rle_encode(mask, h, w);
      const std::string s = rle_to_string(rle);
      const Rle back = rle_from_string(s, h, w);
      REQUIRE(back.counts == rle.counts);
      REQUIRE(rle_decode(back) == mask);
      uint64_t area = 0;
      for (auto m : mask) area += m;
      REQUIRE(rle_area(rle) == area);
      ++checked;
    }
  CHECK(checked == 40);
}

TEST_CASE("rle_from_string rejects malformed strings") {
  CHECK_THROWS_AS(rle_from_string("1 2", 3, 3), std::invalid_argument);   // ' ' is below '0'
  CHECK_THROWS_AS(rle_from_string("S", 40, 1), std::invalid_argument);    // ends while "more" is set
  CHECK_THROWS_AS(rle_encode(std::vector<uint8_t>(5), 2, 3), std::invalid_argument);
}
