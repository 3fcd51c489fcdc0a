#include "train/step.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>

#include "backend/ops.h"

#include "train/evaluate.h"

namespace kiln {

// CUDA graphs: what a graph bakes in, and how each piece is kept valid.
//  - Pointers. A graph replays its kernels on the buffers they were captured with. The step
//    is captured only after an eager step at the same batch shape (so every activation,
//    gradient, workspace and cuBLAS buffer exists), and replayed only while the backend's
//    memory generation is unchanged since the capture: any allocation or release anywhere
//    (an evaluation pass, a shape change) drops the graphs, and the next steps warm up and
//    capture again. Inside a capture the backend refuses to allocate (kiln::Error), and a
//    failed capture falls back to the eager step.
//  - Per-step scalars. The learning rate and Adam's bias corrections change every step: the
//    optimizer (one fused kernel over all parameters) runs eagerly after the backward graph.
//    The dropout step is read by the mask kernel from device memory that set_step() writes
//    before every replay.
//  - Host traffic. The batch is uploaded before the forward graph; the loss, which copies the
//    labels from the host and returns its mean (a synchronisation), runs eagerly between the
//    forward and backward graphs; the predictions are read after them.
//  - Shapes. A batch of another shape (the short last batch of an epoch) drops the graphs and
//    runs eagerly; graphs are captured again at the next stable shape.
// Replays run the same kernels with the same arguments as the eager step, so they compute the
// same values; KILN_CUDA_GRAPHS=0 turns them off.

// The model's flat parameters as runs of normalisation shifts and of the rest, adjacent
// parameters of one kind merged: what the optimizer's per-group settings act on.
std::vector<ParamSpan> param_spans(const Model& model) {
  std::vector<ParamSpan> spans;
  int64_t at = 0;
  for (const NamedTensor& p : model.named_params()) {
    const int64_t n = p.value.numel();
    if (!spans.empty() && spans.back().norm == p.norm) spans.back().size += n;
    else if (n > 0) spans.push_back({at, n, p.norm});
    at += n;
  }
  return spans;
}

TrainStep::TrainStep(Model& model, Loss& loss, Optimizer& optimizer, uint64_t seed)
    : model_(model), loss_(loss), optimizer_(optimizer), seed_(seed) {
  optimizer_.set_param_spans(param_spans(model));
  const char* env = std::getenv("KILN_CUDA_GRAPHS");
  if (env && std::strcmp(env, "0") == 0) graphs_ = false;
  stats_.enabled = graphs_;
}

void TrainStep::set_graphs(bool enabled) {
  graphs_ = enabled;
  stats_.enabled = enabled;
  if (!enabled) drop_graphs();
}

TrainStep::~TrainStep() {
  if (comm_) model_.set_backward_hook(nullptr);
}

// Gradient buckets of about 1 MiB: big enough that each sum is bandwidth-bound, small enough
// that the first starts while most of backward is still to run (PyTorch DDP uses 25 MiB for
// far larger models).
constexpr int64_t kBucketNumbers = (int64_t{1} << 20) / static_cast<int64_t>(sizeof(Real));

void TrainStep::set_comm(Comm* comm) {
  if (comm_) model_.set_backward_hook(nullptr);
  comm_ = comm && comm->size() > 1 ? comm : nullptr;
  if (!comm_) return;
  set_graphs(false);
  const int64_t n = model_.param_count();
  bounds_.clear();
  for (int64_t at = 0; at < n; at += kBucketNumbers) bounds_.push_back(at);
  bounds_.push_back(n);
  // On the CPU the sums run on the gradient itself, bucket by bucket as backward finishes
  // them; other devices go through the host after backward (reduce()).
  if (model_.device() == Device::cpu) model_.set_backward_hook([this](int64_t from) { start_buckets(from); });
}

// Backward has finished grads[from, end): start the buckets wholly inside, scaled by this
// shard's weight, and let the sums already under way advance.
void TrainStep::start_buckets(int64_t from) {
  Tensor& g = model_.grads();
  while (next_ > 0 && bounds_[next_ - 1] >= from) {
    --next_;
    const int64_t lo = bounds_[next_], len = bounds_[next_ + 1] - lo;
    Tensor part = g.slice(lo, Shape{len});
    if (weight_ != 1) ops::scale(part, static_cast<Real>(weight_));
    comm_->start_sum(g.data() + lo, len);
  }
  comm_->progress();
}

TrainStep::Result TrainStep::run(const Batch& batch, int64_t step, double lr) {
  const Device device = model_.device();
  const Tensor& x = on_device(batch.x, x_device_, device);
  // A captured graph bakes in its dropout offset: shards not at the batch's start run eagerly.
  if (graphs_ && device != Device::cpu && batch.offset == 0) {
    if (!recorder_ || recorder_device_ != device) {
      recorder_ = std::make_unique<Recorder>(device);
      recorder_device_ = device;
      drop_graphs();
    }
    if (recorder_->can_capture()) return graphed(x, batch, step, lr);
  }
  ++stats_.eager_steps;
  return eager(x, batch, step, lr);
}

TrainStep::Result TrainStep::eager(const Tensor& x, const Batch& batch, int64_t step, double lr) {
  model_.zero_grad();
  Result r;
  if (comm_) {
    const auto n = batch.size();
    weight_ = static_cast<double>(n) / static_cast<double>(std::max(batch.global, n));
    next_ = bounds_.size() - 1;  // no bucket started yet
  }
  if (batch.size() > 0) {  // a rank's shard of a short last batch can be empty (never with sync_bn)
    Pass pass{Mode::train, seed_, step};
    if (comm_ && sync_bn_) pass.sync = &sync_;
    pass.first_sample = batch.offset;
    const Tensor& out = model_.forward(x, pass);
    dout_.ensure(out.shape(), out.device());
    r.loss = loss_.forward_backward(out, targets_of(batch), &dout_);
    model_.backward(dout_);
    r.correct = count_correct(out, batch);
  }
  reduce(batch, r);
  clip_gradients();
  optimizer_.step(model_.params(), model_.grads(), model_.decay_mask(), lr, &model_.running_stats());
  return r;
}

// The loss is a mean over the batch, so rank r, holding n_r of the global batch's m samples,
// computes g_r = (1/n_r) Σ_{i in its shard} ∇ℓ_i. The global batch's gradient is
//   g = (1/m) Σ_i ∇ℓ_i = Σ_r (n_r/m) g_r,
// so each rank scales its gradient by n_r/m and the ranks sum: every rank then holds g (the
// same bits on each, so the same update keeps the replicas identical). On the CPU the buckets
// were started during backward (start_buckets); here the rest start (all of them for an empty
// shard, which contributes zeros) and the sums complete. The loss and the correct count are
// summed alike.
void TrainStep::reduce(const Batch& batch, Result& r) {
  if (!comm_) return;
  const auto n = batch.size();
  const int64_t m = std::max(batch.global, n);
  Tensor& g = model_.grads();
  if (g.device() == Device::cpu) {
    start_buckets(0);
    comm_->wait_sums();
  } else {
    if (n != m) ops::scale(g, static_cast<Real>(weight_));  // through the host until a device-side communicator (NCCL) exists
    host_grads_ = g.to(Device::cpu);
    comm_->sum(host_grads_.data(), host_grads_.numel());
    g.copy_from_host(host_grads_.data());
  }
  double sums[2] = {r.loss * static_cast<double>(n), static_cast<double>(r.correct)};
  comm_->sum(sums, 2);
  r.loss = m > 0 ? sums[0] / static_cast<double>(m) : 0;
  r.correct = static_cast<int64_t>(sums[1]);
}

// x = Σ_r w_r x_r / w: this rank's sums in its own loss's units (layers/batch_sync.h).
void TrainStep::RankSync::sum_gradients(double* x, int64_t n) {
  const double w = s_.weight_;
  KILN_REQUIRE(w > 0, "synchronised batch norm on an empty shard");
  for (int64_t i = 0; i < n; ++i) x[i] *= w;
  s_.comm_->sum(x, n);
  for (int64_t i = 0; i < n; ++i) x[i] /= w;
}

void TrainStep::clip_gradients() {
  if (clip_ <= 0) return;
  const double norm = std::sqrt(ops::sum_squares(model_.grads()));
  if (norm > clip_) ops::scale(model_.grads(), static_cast<Real>(clip_ / norm));
}

// Classification: the labels; regression: the standardised targets on the model's device.
Targets TrainStep::targets_of(const Batch& batch) {
  if (batch.y.empty() && batch.t.numel() > 0) return Targets{{}, &on_device(batch.t, t_device_, model_.device())};
  return Targets{batch.y, nullptr};
}

// Regression has no correct count (0; the loop keeps the loss, from which RMSE follows).
int64_t TrainStep::count_correct(const Tensor& out, const Batch& batch) {
  if (batch.y.empty()) return 0;
  argmax_rows(out, pred_);
  int64_t correct = 0;
  for (size_t i = 0; i < batch.y.size(); ++i) correct += (pred_[i] == batch.y[i]);
  return correct;
}

void TrainStep::drop_graphs() {
  forward_.reset();
  backward_.reset();
  graph_out_ = nullptr;
}

// Records `work` into a graph; null (and nothing run) when the capture fails, the work then
// to be done eagerly. Two failures switch graphs off for the run, with a note on stderr.
std::unique_ptr<Graph> TrainStep::capture(const std::function<void()>& work) {
  std::string why;
  if (std::unique_ptr<Graph> g = recorder_->capture(work, &why)) {
    ++stats_.captures;
    return g;
  }
  if (++failures_ >= 2) {
    graphs_ = false;
    stats_.disabled = why;
    std::fprintf(stderr, "kiln: CUDA graphs switched off, training continues without them: %s\n", why.c_str());
  }
  drop_graphs();
  return nullptr;
}

TrainStep::Result TrainStep::graphed(const Tensor& x, const Batch& batch, int64_t step, double lr) {
  Recorder& be = *recorder_;
  be.set_step(step);  // before any capture or replay: the dropout masks of this step
  if (forward_ && (graph_shape_ != x.shape() || graph_generation_ != be.memory_generation())) drop_graphs();
  if (!forward_) {
    // Capture only where an eager step at this shape has left every buffer in place.
    if (warm_shape_ != x.shape() || warm_generation_ != be.memory_generation()) {
      Result r = eager(x, batch, step, lr);
      ++stats_.eager_steps;
      warm_shape_ = x.shape();
      warm_generation_ = be.memory_generation();
      return r;
    }
    const Pass pass{Mode::train, seed_, step};
    const Tensor* out = nullptr;
    forward_ = capture([&] {
      model_.zero_grad();
      out = &model_.forward(x, pass);
    });
    if (!forward_) {
      ++stats_.eager_steps;
      return eager(x, batch, step, lr);
    }
    graph_out_ = out;
    stats_.forward_nodes = forward_->nodes();
    graph_shape_ = x.shape();
    graph_generation_ = be.memory_generation();
  }
  forward_->replay();
  const Tensor& out = *graph_out_;
  dout_.ensure(out.shape(), out.device());
  Result r;
  r.loss = loss_.forward_backward(out, targets_of(batch), &dout_);
  if (be.memory_generation() != graph_generation_) {
    // The loss allocated (a first call at this shape): no graph may be trusted now.
    drop_graphs();
    model_.backward(dout_);
  } else {
    if (!backward_) {
      backward_ = capture([&] { model_.backward(dout_); });
      if (backward_) stats_.backward_nodes = backward_->nodes();
    }
    if (backward_) backward_->replay();
    else model_.backward(dout_);
  }
  clip_gradients();
  optimizer_.step(model_.params(), model_.grads(), model_.decay_mask(), lr, &model_.running_stats());
  r.correct = count_correct(out, batch);
  if (backward_) ++stats_.replays;
  else ++stats_.eager_steps;
  return r;
}

std::string describe_graph_stats(const TrainStep::GraphStats& s) {
  const auto n = [](int64_t v) { return std::to_string(v); };
  std::string line = "cuda graphs: ";
  if (!s.enabled && s.disabled.empty()) return line + "off (KILN_CUDA_GRAPHS=0), " + n(s.eager_steps) + " eager steps";
  line += n(s.captures) + (s.captures == 1 ? " capture" : " captures");
  if (s.captures > 0)
    line += " (latest: forward " + n(s.forward_nodes) + " nodes, backward " + n(s.backward_nodes) + ")";
  line += ", " + n(s.replays) + " steps replayed, " + n(s.eager_steps) + " eager";
  if (!s.disabled.empty()) line += "; switched off: " + s.disabled;
  return line;
}

}  // namespace kiln
