// dlib_mnist: the seed MNIST CNN (configs/mnist_cnn.toml) trained with dlib's dnn module, as a C++
// peer for kiln_speed and bench/torch_speed.py (bench/compare_pytorch.py builds it with
// bench/dlib/build.sh and runs the three in turn).
//
//   dlib_mnist CONFIG [--batch N] [--threads N] [--seconds S]
//
// dlib fixes a network's layers in its C++ type, so the net is written out below and CONFIG's
// [model] layers must be the seed CNN's (checked); the optimizer (SGD with momentum and weight
// decay), learning rate, batch size, data folder and seed come from CONFIG. The data are the same
// MNIST idx files, normalised by the training set's mean and standard deviation as kiln does, in
// shuffled batches. dnn_trainer::train_one_step copies each batch into a tensor on the calling
// thread and trains on its own thread, so loading overlaps training as in kiln's loader. Timing
// as kiln_speed: 5 warm-up steps, then steps until S seconds have passed, waiting for the trainer
// to finish the last one. dlib's only threads are its BLAS's (convolutions are im2col + sgemm),
// so --threads sets OpenBLAS's thread count. Prints one JSON line like kiln_speed.
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/revision.h>
#include <toml.hpp>

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads();

namespace {

using Clock = std::chrono::steady_clock;

// conv 16 5x5 pad=2, relu, maxpool 2, conv 16 5x5 pad=2, relu, maxpool 2, dense 10; softmax
// cross-entropy. dlib's con<> pads a stride-1 5x5 filter by 2 and max_pool<2,2,2,2> not at all.
using SeedCnn = dlib::loss_multiclass_log<dlib::fc<10,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::con<16, 5, 5, 1, 1,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::con<16, 5, 5, 1, 1,
    dlib::input<dlib::matrix<float>>>>>>>>>>;
const std::vector<std::string> kSeedLayers = {"conv 16 5x5 pad=2", "relu", "maxpool 2",
                                              "conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"};

// The whole of a gzip'd (or plain: gzread passes it through) idx file.
std::vector<unsigned char> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + n);
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot read " + path);
  return data;
}

std::string find_idx(const std::string& dir, const std::string& name) {
  for (const char* suffix : {"", ".gz"}) {
    const std::string p = dir + "/" + name + suffix;
    if (std::FILE* f = std::fopen(p.c_str(), "rb")) {
      std::fclose(f);
      return p;
    }
  }
  throw std::runtime_error("no " + name + "[.gz] in " + dir);
}

uint32_t be32(const std::vector<unsigned char>& d, size_t at) {
  return uint32_t{d[at]} << 24 | uint32_t{d[at + 1]} << 16 | uint32_t{d[at + 2]} << 8 | d[at + 3];
}

// MNIST's training images as normalised 28x28 float matrices, and their labels.
void load_mnist(const std::string& dir, std::vector<dlib::matrix<float>>& images, std::vector<unsigned long>& labels) {
  const auto x = read_gz(find_idx(dir, "train-images-idx3-ubyte"));
  const auto y = read_gz(find_idx(dir, "train-labels-idx1-ubyte"));
  if (x.size() < 16 || be32(x, 0) != 0x803 || y.size() < 8 || be32(y, 0) != 0x801)
    throw std::runtime_error("not MNIST idx files in " + dir);
  const size_t n = be32(x, 4), rows = be32(x, 8), cols = be32(x, 12);
  if (rows != 28 || cols != 28 || x.size() != 16 + n * rows * cols || y.size() != 8 + n || be32(y, 4) != n)
    throw std::runtime_error("unexpected MNIST sizes in " + dir);
  double sum = 0, sum2 = 0;
  for (size_t i = 16; i < x.size(); ++i) {
    const double v = x[i] / 255.0;
    sum += v;
    sum2 += v * v;
  }
  const double count = static_cast<double>(n * rows * cols), mean = sum / count;
  const float m = static_cast<float>(mean), inv_std = static_cast<float>(1 / std::sqrt(sum2 / count - mean * mean));
  images.assign(n, dlib::matrix<float>(28, 28));
  labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (long r = 0; r < 28; ++r)
      for (long c = 0; c < 28; ++c) images[i](r, c) = (x[16 + i * 784 + r * 28 + c] / 255.0f - m) * inv_std;
    labels[i] = y[8 + i];
  }
}

// CONFIG's value at table.key (or the top-level key when table is empty), or `fallback`.
template <class T>
T setting(const toml::value& cfg, const std::string& table, const std::string& key, T fallback) {
  const toml::value* v = &cfg;
  if (!table.empty()) {
    if (!cfg.contains(table)) return fallback;
    v = &cfg.at(table);
  }
  return v->contains(key) ? toml::get<T>(v->at(key)) : fallback;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dlib_mnist CONFIG [--batch N] [--threads N] [--seconds S]\n");
    return 2;
  }
  const std::string config = argv[1];
  long batch = 0;
  int threads = 0;
  double seconds = 5;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--batch") batch = std::stol(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--seconds") seconds = std::stod(v);
    else throw std::runtime_error("unknown option " + a);
  }
  const auto cfg = toml::parse(config);
  if (setting(cfg, "model", "layers", std::vector<std::string>{}) != kSeedLayers)
    throw std::runtime_error(config + ": [model] layers are not the seed MNIST CNN's, the one net dlib_mnist has");
  if (setting<std::string>(cfg, "optimizer", "name", "sgd") != "sgd" || setting(cfg, "optimizer", "nesterov", false))
    throw std::runtime_error(config + ": dlib_mnist trains with plain SGD (momentum, weight decay) only");
  if (batch <= 0) batch = setting(cfg, "train", "batch_size", 64L);
  if (threads > 0) openblas_set_num_threads(threads);

  std::vector<dlib::matrix<float>> images;
  std::vector<unsigned long> labels;
  load_mnist(setting<std::string>(cfg, "data", "dir", "../shared/datasets/mnist"), images, labels);

  SeedCnn net;
  // dlib's sgd: v = momentum * v - lr * (weight_decay * w + dL/dw); w += v (the same form as
  // kiln's and PyTorch's SGD with momentum).
  dlib::dnn_trainer<SeedCnn> trainer(net, dlib::sgd(static_cast<float>(setting(cfg, "optimizer", "weight_decay", 0.0)),
                                                   static_cast<float>(setting(cfg, "optimizer", "momentum", 0.0))));
  trainer.set_learning_rate(setting(cfg, "optimizer", "lr", 0.01));
  trainer.set_mini_batch_size(static_cast<unsigned long>(batch));
  trainer.be_quiet();

  std::mt19937_64 rng(static_cast<uint64_t>(setting(cfg, "", "seed", 1L)));
  std::vector<size_t> order(images.size());
  std::iota(order.begin(), order.end(), size_t{0});
  size_t pos = order.size();
  std::vector<dlib::matrix<float>> xb(static_cast<size_t>(batch));
  std::vector<unsigned long> yb(static_cast<size_t>(batch));
  auto step = [&] {
    if (pos + static_cast<size_t>(batch) > order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      pos = 0;
    }
    for (long i = 0; i < batch; ++i, ++pos) {
      xb[static_cast<size_t>(i)] = images[order[pos]];
      yb[static_cast<size_t>(i)] = labels[order[pos]];
    }
    trainer.train_one_step(xb, yb);
  };
  for (int i = 0; i < 5; ++i) step();  // warm-up: buffers allocated, BLAS threads started
  trainer.get_net(dlib::force_flush_to_disk::no);  // waits for the trainer thread
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const long faults0 = ru.ru_minflt;
  const auto t0 = Clock::now();
  long steps = 0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    step();
    ++steps;
  }
  trainer.get_net(dlib::force_flush_to_disk::no);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  getrusage(RUSAGE_SELF, &ru);
  std::printf("{\"framework\": \"dlib\", \"config\": \"%s\", \"mode\": \"train\", \"batch\": %ld, \"threads\": %d, "
              "\"images_per_s\": %.1f, \"peak_rss_mb\": %.1f, \"faults_per_step\": %ld, \"steps\": %ld, "
              "\"parameters\": %zu, \"dlib\": \"%d.%d\", \"loss\": %.4f}\n",
              config.c_str(), batch, openblas_get_num_threads(), static_cast<double>(steps * batch) / elapsed,
              ru.ru_maxrss / 1024.0, (ru.ru_minflt - faults0) / std::max(steps, 1L), steps,
              dlib::count_parameters(trainer.get_net(dlib::force_flush_to_disk::no)), DLIB_MAJOR_VERSION,
              DLIB_MINOR_VERSION, trainer.get_average_loss());
  return 0;
} catch (const std::exception& ex) {
  std::fprintf(stderr, "dlib_mnist: %s\n", ex.what());
  return 1;
}
