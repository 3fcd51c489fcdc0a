#pragma once
// The report's figures that are not line charts, each laid out as a Scene: the confusion
// matrix as a heat map, grids of test images with their labels, and the first layer's filters.
#include <string>
#include <vector>

#include "report/report.h"
#include "report/scene.h"

namespace kiln::report {

// Cells coloured by the share of the row (of the true class's samples, how many went to each
// prediction), so that classes with different support compare; the count is written in each
// cell when it fits, and always in the cell's tooltip.
Scene confusion_scene(const ConfusionMatrix& cm, const std::vector<std::string>& names);

// The pixels of a sample as an RGB image: C == 3 as colour, otherwise channel 0 as grey.
// Throws kiln::Error if the pixel count is not C·H·W.
Image example_image(const ImageExample& ex);

// A grid of samples, each upscaled, with two caption lines: the true class and, for mistakes,
// the predicted class with its probability in red (for correct ones, the probability).
Scene examples_scene(const std::string& title, const std::vector<ImageExample>& examples,
                     const std::vector<std::string>& names, bool mistakes);

// The first learned layer's weights as images, one tile per output unit (at most max_tiles):
//  - conv (K, C, R, S): an R×S tile per filter, RGB when C == 3, else grey, with the C input
//    channels side by side when C > 1;
//  - dense (out, in): each row reshaped to the input's (C, H, W) when in == C·H·W, else to a
//    near-square grey block.
// Values map to a symmetric scale: -m → black, 0 → mid grey, +m → white (per channel for RGB), with
// m the largest |w| shown, so that sign and relative size read the same in every tile.
// *note says what is shown, or why nothing is.
Scene filters_scene(const std::vector<float>& weights, const std::vector<int64_t>& shape,
                    const std::vector<int64_t>& input_shape, int64_t max_tiles, std::string* note);

}  // namespace kiln::report
