// COCO run-length encoding of binary masks, bit-exact with cocoapi's common/maskApi.c
// (rleEncode, rleDecode, rleArea, rleToBbox, rleToString, rleFrString), the "segmentation"
// format of COCO annotations and results: {"size": [h, w], "counts": "<string>"}.
//
// Runs walk the mask in column-major (Fortran) order and alternate 0-run, 1-run, ...,
// starting with a 0-run (of length 0 when the first pixel is set). The string packs each
// count (from the third on, minus the count two before it) into 5-bit groups, low first,
// each group a character 48 + (group | 0x20 when more follow), the last group's bit 0x10
// carrying the sign.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace osprey::segment {

struct Rle {
  int64_t height = 0, width = 0;
  std::vector<uint32_t> counts;
};

// `mask`: row-major height x width bytes, nonzero = set.
Rle rle_encode(std::span<const uint8_t> mask, int64_t height, int64_t width);
// Row-major height x width bytes, 0 or 1.
std::vector<uint8_t> rle_decode(const Rle& rle);

// Pixels set.
uint64_t rle_area(const Rle& rle);
// [x, y, width, height] of the set pixels, as maskApi's rleToBbox (all zeros when empty).
std::array<double, 4> rle_to_bbox(const Rle& rle);

// The compressed string of the counts, as rleToString.
std::string rle_to_string(const Rle& rle);
// The counts of a compressed string, as rleFrString; throws std::invalid_argument when the
// string is malformed (a character outside '0'..'o', or the last group flagged "more").
Rle rle_from_string(const std::string& counts, int64_t height, int64_t width);

// {"size": [h, w], "counts": "<string>"}: the "segmentation" of COCO annotations and results.
nlohmann::ordered_json rle_json(const Rle& rle);

}  // namespace osprey::segment
