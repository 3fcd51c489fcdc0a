// Evaluation sharded over ranks (threads standing in for them, thread_ranks.h) gives exactly
// one process's numbers: the loss to the bit, the confusion matrix, every prediction and its
// confidence, on every rank, for shards of unequal size and a short last batch.
#include <gtest/gtest.h>

#include <memory>

#include "backend/runtime.h"
#include "loss/loss.h"
#include "model/build.h"
#include "thread_ranks.h"
#include "train/evaluate.h"

using namespace kiln;

namespace {

Dataset four_class_images(int64_t n) {
  Dataset d;
  d.sample = Shape{1, 4, 4};
  d.source = "generated";
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 16; ++p) d.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11 + (p * i) % 7) % 256));
    d.labels.push_back(static_cast<int32_t>((i * 5) % 4));
  }
  return d;
}

Model net() { return build_model(Shape{1, 4, 4}, {"conv 3 3x3 pad=1", "relu", "dense 4"}, 3); }

}  // namespace

TEST(ShardedEvaluation, RanksTogetherGiveOneProcessNumbersExactly) {
  set_threads(1);
  const Dataset d = four_class_images(53);  // batches of 8: six full, one of 5
  const Normalization norm{{100}, {60}};
  auto loss = make_loss("softmax_xent");
  Model one_model = net();
  const Evaluation one = evaluate(one_model, *loss, d, norm, 8, /*keep_predictions=*/true);
  ASSERT_GT(one.loss, 0.1);
  for (int ranks : {2, 3, 5}) {
    std::vector<Evaluation> got(static_cast<size_t>(ranks));
    kiln::testing::ThreadRanks group(ranks);
    group.run([&](Comm& comm) {
      Model m = net();  // the same seed: the same weights
      auto l = make_loss("softmax_xent");
      got[static_cast<size_t>(comm.rank())] = evaluate(m, *l, d, norm, 8, true, &comm);
    });
    for (int r = 0; r < ranks; ++r) {
      const Evaluation& ev = got[static_cast<size_t>(r)];
      SCOPED_TRACE(std::to_string(ranks) + " ranks, rank " + std::to_string(r));
      EXPECT_EQ(ev.loss, one.loss);
      EXPECT_EQ(ev.accuracy, one.accuracy);
      EXPECT_EQ(ev.predicted, one.predicted);
      EXPECT_EQ(ev.confidence, one.confidence);
      ASSERT_EQ(ev.confusion.classes(), 4);
      for (int y = 0; y < 4; ++y)
        for (int p = 0; p < 4; ++p) EXPECT_EQ(ev.confusion.at(y, p), one.confusion.at(y, p)) << y << "," << p;
    }
  }
  // Without predictions (validation): the same loss and accuracy.
  kiln::testing::ThreadRanks pair(2);
  pair.run([&](Comm& comm) {
    Model m = net();
    auto l = make_loss("softmax_xent");
    const Evaluation ev = evaluate(m, *l, d, norm, 8, false, &comm);
    EXPECT_EQ(ev.loss, one.loss);
    EXPECT_EQ(ev.accuracy, one.accuracy);
    EXPECT_TRUE(ev.predicted.empty());
  });
}

TEST(ShardedEvaluation, ALabelBeyondTheOutputsIsAnError) {
  Dataset d = four_class_images(10);
  d.labels[3] = 9;
  Model m = net();
  auto loss = make_loss("softmax_xent");
  try {
    evaluate(m, *loss, d, Normalization{{100}, {60}}, 4, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 9 of sample 3"), std::string::npos) << e.what();
  }
}
