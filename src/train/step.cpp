#include "train/step.h"

#include "train/evaluate.h"

namespace kiln {

TrainStep::TrainStep(Model& model, Loss& loss, Optimizer& optimizer, uint64_t seed)
    : model_(model), loss_(loss), optimizer_(optimizer), seed_(seed) {}

TrainStep::Result TrainStep::run(const Batch& batch, int64_t step, double lr) {
  model_.zero_grad();
  const Tensor& out = model_.forward(on_device(batch.x, x_device_, model_.device()), Pass{Mode::train, seed_, step});
  dout_.ensure(out.shape(), out.device());
  Result r;
  r.loss = loss_.forward_backward(out, Targets{batch.y, nullptr}, &dout_);
  model_.backward(dout_);
  optimizer_.step(model_.params(), model_.grads(), model_.decay_mask(), lr);
  argmax_rows(out, pred_);
  for (size_t i = 0; i < batch.y.size(); ++i) r.correct += (pred_[i] == batch.y[i]);
  return r;
}

}  // namespace kiln
