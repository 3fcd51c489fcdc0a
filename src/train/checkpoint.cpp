#include "train/checkpoint.h"

namespace kiln {

// Layout (little-endian), after the magic "KILNCKP1" and u32 version 1:
//   the model's tensors (as in a weights file), the optimizer's state,
//   i64 epoch, batch, step; f64 loss_sum, correct, seen, window_loss, window_correct,
//   window_seen; i64 window_batches; f64 epoch_seconds;
//   u32 count + EpochRow records; u32 count + BatchRow records; u32 CRC-32.
void save_checkpoint(const std::string& path, const Model& model, const Optimizer& opt, const TrainState& s) {
  BinWriter w;
  w.bytes("KILNCKP1", 8);
  w.pod(uint32_t{1});
  model.write_tensors(w);
  opt.save_state(w);
  for (int64_t v : {s.epoch, s.batch, s.step}) w.pod(v);
  for (double v : {s.loss_sum, s.correct, s.seen, s.window_loss, s.window_correct, s.window_seen}) w.pod(v);
  w.pod(s.window_batches);
  w.pod(s.epoch_seconds);
  w.pod(static_cast<uint32_t>(s.epochs.size()));
  for (const auto& e : s.epochs) {
    w.pod(e.epoch);
    for (double v : {e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr, e.seconds}) w.pod(v);
  }
  w.pod(static_cast<uint32_t>(s.batches.size()));
  for (const auto& b : s.batches) {
    w.pod(b.step);
    for (double v : {b.epoch, b.loss, b.acc, b.lr}) w.pod(v);
  }
  w.commit(path);
}

void load_checkpoint(const std::string& path, Model& model, Optimizer& opt, TrainState& s) {
  BinReader r(path, "checkpoint");
  r.expect_magic("KILNCKP1");
  auto version = r.pod<uint32_t>();
  if (version != 1) r.fail("unsupported version " + std::to_string(version));
  model.read_tensors(r);
  opt.load_state(r);
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
  if (!r.at_end()) r.fail("trailing bytes");
}

}  // namespace kiln
