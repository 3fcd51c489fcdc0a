#pragma once
// A handcrafted ReportData that exercises every section of the report: validation curves,
// per-batch points, a class that is never predicted, a long and an HTML-looking class name,
// colour and grey images, conv filters.
#include <cmath>
#include <string>

#include "report/report.h"
#include "tensor/rng.h"

namespace kiln::testing {

// An 8×8 image: a bright square in quadrant k on noise (grey), or a coloured one (C = 3).
inline ImageExample sample_image(int32_t label, int32_t pred, float prob, int64_t index, int64_t C, Rng& rng) {
  ImageExample ex;
  ex.C = C, ex.H = 8, ex.W = 8, ex.label = label, ex.pred = pred, ex.prob = prob, ex.index = index;
  ex.pixels.resize(static_cast<size_t>(C * 64));
  for (auto& p : ex.pixels) p = static_cast<uint8_t>(rng.below(60));
  const int r0 = (label / 2 % 2) * 4 + 1, c0 = (label % 2) * 4 + 1;
  for (int64_t c = 0; c < C; ++c)
    for (int r = 0; r < 3; ++r)
      for (int q = 0; q < 3; ++q)
        ex.pixels[static_cast<size_t>(c * 64 + (r0 + r) * 8 + c0 + q)] = static_cast<uint8_t>(c == 1 ? 90 : 200 + rng.below(56));
  return ex;
}

inline ReportData sample_report_data(int64_t epochs = 6) {
  ReportData d;
  d.title = "tiny <cnn> & \"friends\"";
  d.hyperparams = {{"name", "\"tiny\""}, {"seed", "3"}, {"optimizer.name", "\"sgd\""}, {"optimizer.lr", "0.05"},
                   {"train.log_every", "4"}, {"model.layers", "[ \"conv 8 3x3 pad=1\", \"relu\", \"gap\", \"dense 4\" ]"}};
  d.manifest = {{"seed", "3"}, {"git_revision", "abc1234"}, {"host", "test<host>"}, {"started", "2024-01-01T00:00:00+0000"}};
  for (int64_t e = 1; e <= epochs; ++e) {
    EpochRow r;
    r.epoch = e;
    r.train_loss = 1.4 * std::exp(-0.5 * static_cast<double>(e));
    r.test_loss = 1.2 * std::exp(-0.4 * static_cast<double>(e)) + 0.05;
    r.train_acc = 1 - 0.7 * std::exp(-0.6 * static_cast<double>(e));
    r.test_acc = 1 - 0.65 * std::exp(-0.5 * static_cast<double>(e)) - 0.02;
    r.val_loss = r.test_loss * 1.05;
    r.val_acc = r.test_acc - 0.01;
    r.lr = 0.05 * 0.5 * (1 + std::cos(M_PI * static_cast<double>(e - 1) / static_cast<double>(epochs)));
    r.seconds = 1.5 + 0.1 * static_cast<double>(e);
    d.epochs.push_back(r);
    for (int b = 1; b <= 4; ++b) {
      const double x = static_cast<double>(e - 1) + b / 4.0;
      d.batches.push_back({(e - 1) * 16 + b * 4, x, 1.5 * std::exp(-0.5 * x) + 0.03 * (b % 2), 1 - 0.75 * std::exp(-0.6 * x),
                           0.05 * 0.5 * (1 + std::cos(M_PI * (x - 0.25) / static_cast<double>(epochs)))});
    }
  }
  d.class_names = {"square top-left", "<b>top-right</b>", "a-very-long-class-name-that-goes-on-and-on", "bottom-right"};
  // Rows: truth. Class 2 is never predicted (its column is all zero).
  d.confusion = ConfusionMatrix(4);
  const int64_t counts[4][4] = {{14, 1, 0, 1}, {2, 12, 0, 0}, {3, 2, 0, 5}, {0, 1, 0, 15}};
  for (int t = 0; t < 4; ++t)
    for (int p = 0; p < 4; ++p)
      if (counts[t][p]) d.confusion.add(t, p, counts[t][p]);
  Rng rng(7);
  for (int i = 0; i < 9; ++i) d.mistakes.push_back(sample_image(i % 4, (i + 1) % 4, 0.95f - 0.08f * static_cast<float>(i), 100 + i, 1, rng));
  for (int i = 0; i < 8; ++i) d.correct.push_back(sample_image(i % 4, i % 4, 0.99f - 0.01f * static_cast<float>(i), 200 + i, i < 4 ? 1 : 3, rng));
  d.first_weights_shape = {8, 1, 3, 3};
  for (int64_t i = 0; i < 72; ++i) d.first_weights.push_back(static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 0.4));
  d.input_shape = {1, 8, 8};
  d.layers = {{"conv 8 3x3 pad=1", "[8, 8, 8]", 80, 9216, 0}, {"relu", "[8, 8, 8]", 0, 512, 0},
              {"residual", "[8, 8, 8]", 584, 37376, 0},      {"conv 8 3x3 pad=1", "[8, 8, 8]", 584, 36864, 1},
              {"gap", "[8]", 0, 512, 0},                     {"dense 4", "[4]", 36, 64, 0}};
  d.total_params = 700;
  d.total_flops = 47680;
  d.grad_norm_layers = {"0 conv", "2.0 conv", "4 dense"};
  for (const auto& b : d.batches)
    d.grad_norms.push_back({b.step, b.epoch, {0.5 * std::exp(-b.epoch), 0.05 * std::exp(-0.5 * b.epoch), 2.0 / (1 + b.epoch)}});
  for (int64_t e = 1; e <= epochs; ++e)
    for (const std::string& layer : d.grad_norm_layers) {
      const double spread = 0.1 * static_cast<double>(e);
      WeightHistogram h{e, layer, -spread, spread, {}};
      for (int b = 0; b < 10; ++b) h.counts.push_back(10 - std::abs(2 * b - 9) / 2);
      d.histograms.push_back(h);
    }
  return d;
}

}  // namespace kiln::testing
