// Embedding kiln: train the seed MNIST CNN with the library's own loop, written out, in a few
// lines. Usage: train_mnist [MNIST_DIR] (default: ../shared/datasets/mnist)
#include <cstdio>
#include <kiln/kiln.h>

int main(int argc, char** argv) try {
  kiln::Experiment e;
  e.name = "mnist-example";
  e.data.dataset = "mnist";
  e.data.dir = argc > 1 ? argv[1] : "../shared/datasets/mnist";
  e.layers = {"conv 16 5x5 pad=2", "relu", "maxpool 2", "conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"};
  e.optimizer.momentum = 0.9;
  e.schedule.lr = 0.05;

  kiln::set_threads(0);
  kiln::Data data = kiln::load_data(e.data, e.seed);
  kiln::Model model = kiln::build_model(data.train.sample_shape(), e.layers, e.seed);
  auto loss = kiln::make_loss("softmax_xent");
  auto opt = kiln::make_optimizer(e.optimizer, model.param_count());
  std::printf("%s", model.summary_table().c_str());

  kiln::Loader loader(data.train, 64, /*shuffle=*/true, e.seed, data.norm, kiln::Augment{});
  kiln::Batch batch;
  kiln::Tensor grad;
  int64_t step = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    while (loader.next(batch)) {
      model.zero_grad();
      const kiln::Tensor& logits = model.forward(batch.x, kiln::Pass{kiln::Mode::train, e.seed, step++});
      grad.ensure(logits.shape());
      loss->forward_backward(logits, kiln::Targets{batch.y, nullptr}, &grad);
      model.backward(grad);
      opt->step(model.params(), model.grads(), model.decay_mask(), e.schedule.lr);
    }
    kiln::Evaluation ev = kiln::evaluate(model, *loss, data.test, data.norm, 1000, false);
    std::printf("epoch %d: test accuracy %.2f%%\n", epoch + 1, 100 * ev.accuracy);
  }
  model.save_weights("mnist-example.kiln");
  return 0;
} catch (const std::exception& ex) {
  std::fprintf(stderr, "train_mnist: %s\n", ex.what());
  return 1;
}
