#include "train/checkpoint.h"

namespace kiln {

constexpr uint32_t kCheckpointVersion = 4;

// Layout (little-endian), after the magic "KILNCKP1" and u32 version (4):
//   the model's body (as in a weights file of the same version: version 3 adds the feature
//   names of a table's columns, version 4 a regression's target statistics), the optimizer's
//   state (Optimizer::save_state),
//   i64 epoch, batch, step; f64 loss_sum, correct, seen, window_loss, window_correct,
//   window_seen; i64 window_batches; f64 epoch_seconds;
//   u32 count + EpochRow records (version 2: with val_loss, val_acc; version 4: then train_rmse,
//   test_mae, test_rmse, val_mae, val_rmse, NaN for a classification); u32 count + BatchRow
//   records; version 2: u32 L + L layer names, u32 count + gradient-norm rows (i64 step,
//   f64 epoch, L × f64), u32 count + histograms (i64 epoch, str layer, f64 lo, hi, u32 bins,
//   bins × i64), f64 best_val_acc (a regression's: minus the best
//   validation RMSE), i64 epochs_since_best; u32 CRC-32.
void save_checkpoint(const std::string& path, const Model& model, const Optimizer& opt, const TrainState& s) {
  BinWriter w;
  w.bytes("KILNCKP1", 8);
  w.pod(kCheckpointVersion);
  model.write_tensors(w);
  opt.save_state(w);
  for (int64_t v : {s.epoch, s.batch, s.step}) w.pod(v);
  for (double v : {s.loss_sum, s.correct, s.seen, s.window_loss, s.window_correct, s.window_seen}) w.pod(v);
  w.pod(s.window_batches);
  w.pod(s.epoch_seconds);
  w.pod(static_cast<uint32_t>(s.epochs.size()));
  for (const auto& e : s.epochs) {
    w.pod(e.epoch);
    for (double v : {e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr, e.seconds, e.val_loss, e.val_acc}) w.pod(v);
    for (double v : {e.train_rmse, e.test_mae, e.test_rmse, e.val_mae, e.val_rmse}) w.pod(v);
  }
  w.pod(static_cast<uint32_t>(s.batches.size()));
  for (const auto& b : s.batches) {
    w.pod(b.step);
    for (double v : {b.epoch, b.loss, b.acc, b.lr}) w.pod(v);
  }
  w.pod(static_cast<uint32_t>(s.grad_norm_layers.size()));
  for (const auto& n : s.grad_norm_layers) w.str(n);
  w.pod(static_cast<uint32_t>(s.grad_norms.size()));
  for (const auto& g : s.grad_norms) {
    w.pod(g.step);
    w.pod(g.epoch);
    for (double v : g.norms) w.pod(v);
  }
  w.pod(static_cast<uint32_t>(s.histograms.size()));
  for (const auto& h : s.histograms) {
    w.pod(h.epoch);
    w.str(h.layer);
    w.pod(h.lo);
    w.pod(h.hi);
    w.pod(static_cast<uint32_t>(h.counts.size()));
    for (int64_t c : h.counts) w.pod(c);
  }
  w.pod(s.best_val_acc);
  w.pod(s.epochs_since_best);
  w.commit(path);
}

void load_checkpoint(const std::string& path, Model& model, Optimizer& opt, TrainState& s) {
  BinReader r(path, "checkpoint");
  r.expect_magic("KILNCKP1");
  auto version = r.pod<uint32_t>();
  if (version < 1 || version > kCheckpointVersion) r.fail("unsupported version " + std::to_string(version));
  model.read_tensors(r, version);  // the model body's version moves with the checkpoint's
  opt.load_state(r, &model.running_stats());
  s = TrainState{};
  for (int64_t* v : {&s.epoch, &s.batch, &s.step}) *v = r.pod<int64_t>();
  for (double* v : {&s.loss_sum, &s.correct, &s.seen, &s.window_loss, &s.window_correct, &s.window_seen})
    *v = r.pod<double>();
  s.window_batches = r.pod<int64_t>();
  s.epoch_seconds = r.pod<double>();
  auto ne = r.pod<uint32_t>();
  if (ne > 1000000) r.fail("epoch count out of range");
  for (uint32_t i = 0; i < ne; ++i) {
    EpochRow e{};
    e.epoch = r.pod<int64_t>();
    for (double* v : {&e.train_loss, &e.train_acc, &e.test_loss, &e.test_acc, &e.lr, &e.seconds}) *v = r.pod<double>();
    if (version >= 2)
      for (double* v : {&e.val_loss, &e.val_acc}) *v = r.pod<double>();
    if (version >= 4)
      for (double* v : {&e.train_rmse, &e.test_mae, &e.test_rmse, &e.val_mae, &e.val_rmse}) *v = r.pod<double>();
    s.epochs.push_back(e);
  }
  auto nb = r.pod<uint32_t>();
  if (nb > 100000000) r.fail("batch-curve count out of range");
  for (uint32_t i = 0; i < nb; ++i) {
    BatchRow b{};
    b.step = r.pod<int64_t>();
    for (double* v : {&b.epoch, &b.loss, &b.acc, &b.lr}) *v = r.pod<double>();
    s.batches.push_back(b);
  }
  if (version >= 2) {
    const auto nl = r.pod<uint32_t>();
    if (nl > 100000) r.fail("layer count out of range");
    for (uint32_t i = 0; i < nl; ++i) s.grad_norm_layers.push_back(r.str(4096));
    const auto ng = r.pod<uint32_t>();
    if (ng > 100000000) r.fail("gradient-norm count out of range");
    for (uint32_t i = 0; i < ng; ++i) {
      GradNormRow g;
      g.step = r.pod<int64_t>();
      g.epoch = r.pod<double>();
      for (uint32_t l = 0; l < nl; ++l) g.norms.push_back(r.pod<double>());
      s.grad_norms.push_back(std::move(g));
    }
    const auto nh = r.pod<uint32_t>();
    if (nh > 10000000) r.fail("histogram count out of range");
    for (uint32_t i = 0; i < nh; ++i) {
      WeightHistogram h;
      h.epoch = r.pod<int64_t>();
      h.layer = r.str(4096);
      h.lo = r.pod<double>();
      h.hi = r.pod<double>();
      const auto bins = r.pod<uint32_t>();
      if (bins > 4096) r.fail("histogram bin count out of range");
      for (uint32_t b = 0; b < bins; ++b) h.counts.push_back(r.pod<int64_t>());
      s.histograms.push_back(std::move(h));
    }
    s.best_val_acc = r.pod<double>();
    s.epochs_since_best = r.pod<int64_t>();
  }
  if (!r.at_end()) r.fail("trailing bytes");
}

}  // namespace kiln
