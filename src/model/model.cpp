#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <iomanip>
#include <sstream>

#include "tensor/binio.h"

namespace kiln {

namespace {

// Visits every layer depth-first with its path ("3", "3.0.1").
template <class F>
void walk(Layer& layer, const std::string& path, int depth, F&& f) {
  f(layer, path, depth);
  auto kids = layer.children();
  for (size_t i = 0; i < kids.size(); ++i)
    walk(*kids[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), depth + 1, f);
}

}  // namespace

Model::Model(Shape input, Sequential net, uint64_t init_seed) : input_(std::move(input)), net_(std::move(net)) {
  output_shape();  // validates every layer against the input shape
  Rng rng(init_seed);
  net_.init(rng);
  net_.fuse();
  bind(Device::cpu);
}

void Model::to(Device device) {
  if (device != device_) bind(device);
}

// Gathers the parameters into one flat buffer on `device` (values copied, then the layers'
// tensors rebound to views of it), the gradients into a second with the same layout (zeroed),
// the running statistics into a third (running_stats()), and moves the other buffers (the
// whitening filters) there too.
void Model::bind(Device device) {
  struct Found {
    std::string name;
    Param p;
  };
  std::vector<Found> found, bufs;
  walk(net_, "", 0, [&](Layer& l, const std::string& path, int) {
    for (auto& p : l.params()) found.push_back({path + "." + p.name, p});
    for (auto& p : l.buffers()) bufs.push_back({path + "." + p.name, p});
  });
  int64_t total = 0;
  for (auto& f : found) total += f.p.value->numel();
  params_ = Tensor({total}, device);
  grads_ = Tensor({total}, device);
  decay_mask_ = Tensor({total}, device);
  named_.clear();
  buffers_.clear();
  int64_t off = 0;
  layer_start_.assign(net_.size() + 1, total);
  for (auto& f : found) {
    const auto top = static_cast<size_t>(std::stoll(f.name.substr(0, f.name.find('.'))));
    for (size_t i = 0; i <= top && i < layer_start_.size(); ++i) layer_start_[i] = std::min(layer_start_[i], off);
    Tensor& v = *f.p.value;
    Tensor view = params_.slice(off, v.shape());
    view.copy_from(v);
    v = view;
    *f.p.grad = grads_.slice(off, v.shape());
    if (f.p.decay) decay_mask_.slice(off, v.shape()).fill(Real(1));
    named_.push_back({f.name, v, *f.p.grad, f.p.decay, f.p.norm});
    off += v.numel();
  }
  int64_t running = 0;
  for (auto& b : bufs)
    if (b.p.running) running += b.p.value->numel();
  stats_ = Tensor({running}, device);
  int64_t at = 0;
  for (auto& b : bufs) {
    Tensor& v = *b.p.value;
    if (b.p.running) {
      Tensor view = stats_.slice(at, v.shape());
      view.copy_from(v);
      v = view;
      at += v.numel();
    } else {
      v = v.to(device);
    }
    buffers_.push_back({b.name, v, Tensor(), false, false, b.p.running});
  }
  device_ = device;
  has_forward_ = false;
}

void Model::set_backward_hook(std::function<void(int64_t)> hook) {
  if (!hook) {
    net_.set_backward_hook(nullptr);
    return;
  }
  net_.set_backward_hook([this, hook = std::move(hook)](size_t i) { hook(layer_start_[i]); });
}

Shape Model::output_shape() const { return net_.output_shape(input_.batched(1)).unbatched(); }

const Tensor& Model::forward(const Tensor& x, const Pass& pass) {
  if (x.rank() < 1 || x.shape().unbatched() != input_)
    throw Error("model input: expected (N, " + input_.str().substr(1) + " but got " + x.shape().str());
  if (x.device() != device_)
    throw Error(std::string("model input is on ") + device_name(x.device()) + ", the model on " + device_name(device_));
  out_.ensure(net_.output_shape(x.shape()), x.device());
  net_.forward(x, out_, pass);
  x_cache_ = x;
  has_forward_ = pass.backward;
  return out_;
}

bool Model::wants_data() const {
  for (size_t i = 0; i < net_.size(); ++i)
    if (net_[i].wants_data()) return true;
  return false;
}

void Model::init_from_data(const Tensor& x) {
  if (x.rank() < 1 || x.shape().unbatched() != input_ || x.device() != Device::cpu)
    throw Error("data-dependent initialisation: expected host samples (N, " + input_.str().substr(1) + " but got " +
                x.shape().str());
  const Pass pass{Mode::eval, 0, 0, /*backward=*/false};
  Tensor in = x, out;
  size_t last = 0;
  for (size_t i = 0; i < net_.size(); ++i)
    if (net_[i].wants_data()) last = i + 1;
  for (size_t i = 0; i < last; ++i) {
    Layer& l = net_[i];
    if (l.wants_data()) l.init_from_data(in);
    if (i + 1 == last) break;
    out = Tensor(l.output_shape(in.shape()));
    l.forward(in, out, pass);
    in = out;
  }
}

void Model::backward(const Tensor& dout) {
  KILN_CHECK(has_forward_, "backward without a forward (or after one that said no backward follows)");
  check_same_shape(dout, out_, "model backward: dL/d(output) vs output");
  net_.backward(x_cache_, out_, dout, nullptr);
}

std::vector<LayerSummary> Model::summary() const {
  std::vector<LayerSummary> rows;
  auto& net = const_cast<Sequential&>(net_);
  // Shapes flow along each Sequential; a residual's children see the block's input. Chains
  // themselves get no row: their layers do, indented under the block that holds them.
  // level: how many non-chain blocks enclose the layer (its indentation in the table).
  std::function<void(Layer&, const std::string&, int, int, const Shape&)> visit =
      [&](Layer& l, const std::string& path, int depth, int level, const Shape& in) {
        int64_t np = 0;
        for (auto& p : l.params()) np += p.value->numel();
        const bool chain = dynamic_cast<Sequential*>(&l) != nullptr;
        if (depth > 0 && !chain) rows.push_back({path, l.spec(), l.output_shape(in).unbatched(), np, l.forward_flops(in), level});
        auto kids = l.children();
        Shape s = in;
        for (size_t i = 0; i < kids.size(); ++i) {
          std::string kp = path.empty() ? std::to_string(i) : path + "." + std::to_string(i);
          visit(*kids[i], kp, depth + 1, level + (chain || depth == 0 ? 0 : 1), chain ? s : in);
          if (chain) s = kids[i]->output_shape(s);
        }
      };
  visit(net, "", 0, 0, input_.batched(1));
  return rows;
}

std::string Model::summary_table() const {
  auto rows = summary();
  std::ostringstream os;
  auto fmt = [](int64_t v) {
    std::string s = std::to_string(v), out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) out += ',';
      out += s[i];
    }
    return out;
  };
  os << std::left << std::setw(34) << "layer" << std::setw(18) << "output shape" << std::right << std::setw(12)
     << "params" << std::setw(16) << "FLOPs" << "\n";
  os << std::string(80, '-') << "\n";
  os << std::left << std::setw(34) << "input" << std::setw(18) << input_.str() << "\n";
  int64_t flops = 0;
  for (auto& r : rows) {
    std::string name = std::string(static_cast<size_t>(2 * r.depth), ' ') + r.spec;
    if (name.size() > 33) name = name.substr(0, 30) + "...";
    os << std::left << std::setw(34) << name << std::setw(18) << r.output.str() << std::right << std::setw(12)
       << fmt(r.params) << std::setw(16) << fmt(r.flops) << "\n";
    if (r.depth == 0) flops += r.flops;
  }
  os << std::string(80, '-') << "\n";
  os << "total parameters: " << fmt(param_count()) << "\n";
  os << "forward FLOPs per sample: " << fmt(flops) << "\n";
  return os.str();
}

void Model::set_preprocessing(Preprocessing p) {
  if (p.known()) {
    const int64_t C = input_.rank() >= 1 ? input_[0] : 1;
    if (static_cast<int64_t>(p.mean.size()) != C || static_cast<int64_t>(p.std.size()) != C)
      throw Error("preprocessing: " + std::to_string(p.mean.size()) + " means and " + std::to_string(p.std.size()) +
                  " standard deviations for " + std::to_string(C) + " input channels");
    for (float v : p.std)
      if (!(v > 0)) throw Error("preprocessing: standard deviations must be positive");
  }
  if (p.target_mean.size() != p.target_std.size() || p.target_mean.size() > 1)
    throw Error("preprocessing: " + std::to_string(p.target_mean.size()) + " target means and " +
                std::to_string(p.target_std.size()) + " standard deviations (a regression has one of each)");
  for (size_t t = 0; t < p.target_std.size(); ++t)
    if (!(p.target_std[t] > 0) || !std::isfinite(p.target_mean[t]))
      throw Error("preprocessing: the target's std must be positive and its mean finite");
  prep_ = std::move(p);
}

// Weights file, little-endian:
//   "KILNWTS1"  u32 version (2)  str architecture  u32 input rank, i64 dims
//   version 2: u32 C, f32 mean[C], f32 std[C], u32 K, K × str class name, str dataset
//   version 3: then u32 F, F × str feature (column) name, str label column (0 and "" for images)
//   version 4: then u32 T, f32 target mean[T], f32 target std[T] (regression; 0 for classification)
//   u32 count, then per tensor: str name, u32 rank, i64 dims, f32 data
//   (parameters, then buffers such as batch-norm running statistics)
//   u32 CRC-32 of all preceding bytes
void Model::write_tensors(BinWriter& w) const {
  w.str(net_.spec());
  w.pod(static_cast<uint32_t>(input_.rank()));
  for (int64_t d : input_.dims()) w.pod(d);
  w.pod(static_cast<uint32_t>(prep_.mean.size()));
  for (float v : prep_.mean) w.pod(v);
  for (float v : prep_.std) w.pod(v);
  w.pod(static_cast<uint32_t>(prep_.class_names.size()));
  for (const auto& n : prep_.class_names) w.str(n);
  w.str(prep_.dataset);
  w.pod(static_cast<uint32_t>(prep_.features.size()));
  for (const auto& n : prep_.features) w.str(n);
  w.str(prep_.label);
  w.pod(static_cast<uint32_t>(prep_.target_mean.size()));
  for (float v : prep_.target_mean) w.pod(v);
  for (float v : prep_.target_std) w.pod(v);
  w.pod(static_cast<uint32_t>(named_.size() + buffers_.size()));
  for (const auto* list : {&named_, &buffers_})
    for (auto& t : *list) {
      w.str(t.name);
      w.tensor(t.value);
    }
}

ModelHeader Model::read_header(BinReader& r) {
  ModelHeader h;
  h.architecture = r.str();
  auto rank = r.pod<uint32_t>();
  if (rank < 1 || rank > 8) r.fail("input rank " + std::to_string(rank) + " out of range");
  std::vector<int64_t> dims(rank);
  for (auto& d : dims) {
    d = r.pod<int64_t>();
    if (d < 1 || d > (int64_t{1} << 24)) r.fail("input dimension " + std::to_string(d) + " out of range");
  }
  h.input = Shape(dims);
  return h;
}

void Model::read_tensors(BinReader& r, uint32_t version) {
  const ModelHeader h = read_header(r);
  if (h.architecture != net_.spec()) r.fail("architecture differs:\n  file:  " + h.architecture + "\n  model: " + net_.spec());
  if (h.input != input_) r.fail("input shape " + h.input.str() + " differs from the model's " + input_.str());
  Preprocessing p;
  if (version >= 2) {
    const auto C = r.pod<uint32_t>();
    if (C > 4096) r.fail("preprocessing for " + std::to_string(C) + " channels");
    p.mean.resize(C);
    p.std.resize(C);
    for (float& v : p.mean) v = r.pod<float>();
    for (float& v : p.std) v = r.pod<float>();
    const auto K = r.pod<uint32_t>();
    if (K > (1u << 20)) r.fail(std::to_string(K) + " class names");
    for (uint32_t k = 0; k < K; ++k) p.class_names.push_back(r.str(4096));
    p.dataset = r.str(256);
  }
  if (version >= 3) {
    const auto F = r.pod<uint32_t>();
    if (F > (1u << 24)) r.fail(std::to_string(F) + " feature names");
    for (uint32_t k = 0; k < F; ++k) p.features.push_back(r.str(4096));
    p.label = r.str(4096);
  }
  if (version >= 4) {
    const auto T = r.pod<uint32_t>();
    if (T > 1) r.fail(std::to_string(T) + " regression targets (at most 1)");
    p.target_mean.resize(T);
    p.target_std.resize(T);
    for (float& v : p.target_mean) v = r.pod<float>();
    for (float& v : p.target_std) v = r.pod<float>();
  }
  auto count = r.pod<uint32_t>();
  const size_t expected = named_.size() + buffers_.size();
  if (count != expected)
    r.fail("holds " + std::to_string(count) + " tensors, the model has " + std::to_string(expected));
  for (auto* list : {&named_, &buffers_})
    for (auto& t : *list) {
      std::string name = r.str();
      if (name != t.name) r.fail("expected tensor '" + t.name + "', found '" + name + "'");
      r.tensor_into(t.value, name);
    }
  try {
    set_preprocessing(std::move(p));
  } catch (const Error& e) {
    r.fail(e.what());
  }
}

void Model::save_weights(const std::string& path) const {
  BinWriter w;
  w.bytes("KILNWTS1", 8);
  w.pod(kFormatVersion);
  write_tensors(w);
  w.commit(path);
}

void Model::load_weights(const std::string& path) {
  BinReader r(path, "weights file");
  r.expect_magic("KILNWTS1");
  auto version = r.pod<uint32_t>();
  if (version < 1 || version > kFormatVersion) r.fail("unsupported version " + std::to_string(version));
  read_tensors(r, version);
  if (!r.at_end()) r.fail("trailing bytes after the last tensor");
}

void Model::copy_weights_from(const Model& other, const std::string& what) {
  const size_t here = named_.size() + buffers_.size(), there = other.named_.size() + other.buffers_.size();
  if (here != there || input_ != other.input_)
    throw Error(what + ": " + std::to_string(there) + " tensors for inputs of " + other.input_.str() + ", the model has " +
                std::to_string(here) + " for " + input_.str());
  for (int pass = 0; pass < 2; ++pass) {
    const auto& mine = pass == 0 ? named_ : buffers_;
    const auto& theirs = pass == 0 ? other.named_ : other.buffers_;
    for (size_t i = 0; i < mine.size(); ++i) {
      if (mine[i].value.shape() != theirs[i].value.shape())
        throw Error(what + ": tensor " + theirs[i].name + " is " + theirs[i].value.shape().str() + " but the model's " +
                    mine[i].name + " is " + mine[i].value.shape().str());
      Tensor dst = mine[i].value;
      dst.copy_from(theirs[i].value);
    }
  }
}

}  // namespace kiln
