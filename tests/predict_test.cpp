// kiln predict's library side: an image file through a model gives the softmax of the model's
// output on the normalised pixels, the top classes are named and ordered, and the lines say so.
#include <gtest/gtest.h>

#include <cmath>

#include "image_files.h"
#include "model/build.h"
#include "train/predict.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

Model small_model() {
  Model m = build_model(Shape{3, 4, 5}, {"conv 4 3 pad=1", "relu", "flatten", "dense 3"}, 7);
  m.set_preprocessing({{0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}, {"ant", "bee", "cow"}, "folder"});
  return m;
}

}  // namespace

TEST(Predict, AnImageFileGivesTheSoftmaxOfTheNormalisedPixels) {
  TempDir dir;
  Model m = small_model();
  const report::Image img = pattern_image(5, 4, 9);
  write_png(dir / "x.png", img);
  // By hand: CHW, (p/255 - mean)/std, one forward, softmax.
  Tensor x(Shape{1, 3, 4, 5});
  const float mean[3] = {0.5f, 0.4f, 0.3f}, sd[3] = {0.2f, 0.25f, 0.3f};
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t xx = 0; xx < 5; ++xx)
        x[(c * 4 + y) * 5 + xx] = static_cast<Real>((image_pixel(9, xx, y, c) / 255.0 - mean[c]) / sd[c]);
  Pass pass;
  const Tensor& out = m.forward(x, pass);
  double sum = 0;
  for (int k = 0; k < 3; ++k) sum += std::exp(static_cast<double>(out[k]));
  std::vector<double> want(3);
  for (int k = 0; k < 3; ++k) want[static_cast<size_t>(k)] = std::exp(static_cast<double>(out[k])) / sum;

  const Prediction p = predict_image(m, dir / "x.png", Fit::resize, 3);
  ASSERT_EQ(p.top.size(), 3u);
  for (const ClassScore& s : p.top) EXPECT_NEAR(s.probability, want[static_cast<size_t>(s.index)], 1e-6);
  EXPECT_GE(p.top[0].probability, p.top[1].probability);
  EXPECT_GE(p.top[1].probability, p.top[2].probability);
  const char* names[3] = {"ant", "bee", "cow"};
  EXPECT_EQ(p.top[0].name, names[p.top[0].index]);
  EXPECT_EQ(predict_image(m, dir / "x.png", Fit::resize, 1).top.size(), 1u);
}

TEST(Predict, LinesAndJsonNameTheFileAndClasses) {
  Prediction p{"a \"b\".png", {{2, "cow", 0.75f}, {0, "ant", 0.25f}}};
  EXPECT_EQ(format_prediction(p, false), "a \"b\".png  cow 0.7500  ant 0.2500");
  EXPECT_EQ(format_prediction(p, true),
            "{\"input\": \"a \\\"b\\\".png\", \"top\": [{\"class\": \"cow\", \"index\": 2, \"probability\": 0.75}, "
            "{\"class\": \"ant\", \"index\": 0, \"probability\": 0.25}]}");
}

TEST(Predict, AModelThatTakesNoImagesSaysSo) {
  TempDir dir;
  write_png(dir / "x.png", pattern_image(5, 4, 1));
  Model m = build_model(Shape{20}, {"dense 3"}, 1);
  try {
    predict_image(m, dir / "x.png", Fit::resize, 3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not images"), std::string::npos) << e.what();
  }
}
