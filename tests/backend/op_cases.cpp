// The cases of the op suite (ops_test.cpp): each declares its inputs and outputs and calls one
// Backend kernel; bounds as in ops_test.cpp's header.
#include "op_harness.h"

#include <cmath>

namespace kiln::testing {

namespace {

// ---------------------------------------------------------------------------------------------
// The cases.

void add_elementwise(std::vector<OpCase>& cases) {
  for (int64_t n : {int64_t{1}, int64_t{4099}}) {
    const std::string sz = "_n" + std::to_string(n);
    cases.push_back({"relu_forward" + sz, 0, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().activation_forward(math::Relu{}, x, c.output(n), n);
                     }});
    cases.push_back({"relu_backward" + sz, 0, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().activation_backward(math::Relu{}, x, dy, c.output(n), n);
                     }});
    cases.push_back({"leaky_relu_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().activation_forward(math::LeakyRelu{0.1f}, x, c.output(n), n);
                     }});
    cases.push_back({"leaky_relu_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().activation_backward(math::LeakyRelu{0.1f}, x, dy, c.output(n), n);
                     }});
    cases.push_back({"tanh_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -5, 5);
                       c.be().activation_forward(math::Tanh{}, x, c.output(n), n);
                     }});
    cases.push_back({"tanh_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* y = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().activation_backward(math::Tanh{}, y, dy, c.output(n), n);
                     }});
    cases.push_back({"sigmoid_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -30, 30);
                       c.be().activation_forward(math::Sigmoid{}, x, c.output(n), n);
                     }});
    cases.push_back({"sigmoid_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* y = c.input(n, 0, 1);
                       const Real* dy = c.input(n);
                       c.be().activation_backward(math::Sigmoid{}, y, dy, c.output(n), n);
                     }});
    cases.push_back({"gelu_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -8, 8);
                       c.be().activation_forward(math::Gelu{}, x, c.output(n), n);
                     }});
    cases.push_back({"gelu_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -8, 8);
                       const Real* dy = c.input(n);
                       c.be().activation_backward(math::Gelu{}, x, dy, c.output(n), n);
                     }});
    cases.push_back({"axpy" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().axpy(0.37f, x, c.output(n), n);
                     }});
    cases.push_back({"scale" + sz, 0, 0, false, [n](OpContext& c) { c.be().scale(c.output(n), -0.37f, n); }});
    cases.push_back({"sum_squares" + sz, 1e-12, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.scalar(c.be().sum_squares(x, n));
                     }});
    cases.push_back({"dropout_apply" + sz, 1e-7, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* s = c.input(n, 0, 2);
                       c.be().dropout_apply(x, s, c.output(n), n);
                     }});
  }
  for (float v : {0.0f, -0.0f, 0.625f}) {
    cases.push_back({"fill_" + std::to_string(v), 0, 0, false, [v](OpContext& c) {
                       c.be().fill(c.output(1027), v, 1027);
                     }});
  }
  // Dropout masks must be the CPU's bit for bit (counter-based RNG): steps past 2^31 too.
  struct Mask {
    uint64_t seed, stream;
    int64_t step;
    float p;
    int64_t n;
  };
  for (const Mask& m : {Mask{7, 3, 5, 0.3f, 4099}, Mask{1, 0, 3000000000LL, 0.5f, 777}, Mask{9, 12, 0, 0.0f, 64},
                        Mask{2, 5, 1, 0.9f, 1}}) {
    cases.push_back({"dropout_mask_step" + std::to_string(m.step) + "_p" + std::to_string(m.p) + "_n" + std::to_string(m.n),
                     0, 0, false, [m](OpContext& c) {
                       c.be().dropout_mask(m.seed, m.stream, m.step, m.p, c.output(m.n), m.n, 0);
                     }});
  }
}

void add_dense(std::vector<OpCase>& cases) {
  struct Gemm {
    bool ta, tb;
    int64_t M, N, K, pad;  // pad: extra columns in every leading dimension
    float alpha, beta;
  };
  std::vector<Gemm> gemms;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) gemms.push_back({ta, tb, 37, 29, 53, 0, 0.7f, 0.3f});
  gemms.push_back({false, false, 16, 8, 31, 0, 1.0f, 0.0f});    // β = 0 overwrites
  gemms.push_back({true, false, 5, 7, 9, 3, 1.0f, 1.0f});       // padded leading dimensions
  gemms.push_back({false, true, 1, 1, 1000, 0, 1.0f, 0.0f});    // a dot product
  gemms.push_back({false, false, 64, 1, 130, 0, 1.0f, 0.0f});   // matrix-vector
  gemms.push_back({false, false, 6, 5, 0, 0, 1.0f, 0.5f});      // K = 0: C = βC
  for (const Gemm& g : gemms) {
    const std::string name = std::string("gemm_") + (g.ta ? "T" : "N") + (g.tb ? "T" : "N") + "_M" + std::to_string(g.M) +
                             "_N" + std::to_string(g.N) + "_K" + std::to_string(g.K) + "_pad" + std::to_string(g.pad) +
                             "_beta" + std::to_string(static_cast<int>(g.beta * 10));
    cases.push_back({name, 1e-5, 1e-2, false, [g](OpContext& c) {
                       const int64_t ar = g.ta ? g.K : g.M, ac = g.ta ? g.M : g.K;  // stored shapes
                       const int64_t br = g.tb ? g.N : g.K, bc = g.tb ? g.K : g.N;
                       const int64_t lda = ac + g.pad, ldb = bc + g.pad, ldc = g.N + g.pad;
                       const Real* A = c.input(std::max<int64_t>(ar * lda, 1));
                       const Real* B = c.input(std::max<int64_t>(br * ldb, 1));
                       Real* C = c.output(g.M * ldc);
                       c.be().gemm(g.ta, g.tb, g.M, g.N, g.K, g.alpha, A, std::max<int64_t>(lda, 1), B,
                                   std::max<int64_t>(ldb, 1), g.beta, C, ldc);
                     }});
  }
  for (auto [N, F] : {std::pair<int64_t, int64_t>{7, 13}, {1, 5}, {300, 37}, {5000, 3}}) {
    const std::string sz = "_N" + std::to_string(N) + "_F" + std::to_string(F);
    cases.push_back({"add_row_bias" + sz, 1e-7, 0, false, [N, F](OpContext& c) {
                       const Real* b = c.input(F);
                       c.be().add_row_bias(c.output(N * F), b, N, F);
                     }});
    cases.push_back({"accumulate_row_sum" + sz, 1e-5, 0, false, [N, F](OpContext& c) {
                       const Real* dy = c.input(N * F);
                       c.be().accumulate_row_sum(dy, c.output(F), N, F);
                     }});
  }
}

void add_losses(std::vector<OpCase>& cases) {
  struct Xent {
    int64_t N, K;
    float smoothing;
    bool probs, dz;
  };
  for (const Xent& x : {Xent{1, 10, 0, true, true}, Xent{67, 10, 0.1f, true, true}, Xent{5, 1000, 0, true, true},
                        Xent{33, 3, 0.2f, false, true}, Xent{4, 7, 0, true, false}}) {
    const std::string name = "softmax_xent_N" + std::to_string(x.N) + "_K" + std::to_string(x.K) + "_eps" +
                             std::to_string(static_cast<int>(x.smoothing * 10)) + (x.probs ? "" : "_noprobs") +
                             (x.dz ? "" : "_nodz");
    cases.push_back({name, 1e-6, 0, false, [x](OpContext& c) {
                       const Real* z = c.input(x.N * x.K, -4, 4);
                       std::vector<Real> labels(static_cast<size_t>(x.N));
                       for (auto& l : labels) l = static_cast<Real>(c.below(static_cast<uint64_t>(x.K)));
                       const Real* y = c.input(labels);
                       Real* probs = x.probs ? c.output(x.N * x.K) : nullptr;
                       Real* dz = x.dz ? c.output(x.N * x.K) : nullptr;
                       c.scalar(c.be().softmax_xent(z, y, x.N, x.K, x.smoothing, probs, dz));
                     }});
  }
  for (auto [N, F] : {std::pair<int64_t, int64_t>{13, 7}, {1, 1}, {64, 100}}) {
    cases.push_back({"mse_N" + std::to_string(N) + "_F" + std::to_string(F), 1e-6, 0, false, [N, F](OpContext& c) {
                       const Real* y = c.input(N * F);
                       const Real* t = c.input(N * F);
                       c.scalar(c.be().mse(y, t, N, F, c.output(N * F)));
                     }});
  }
}

void add_conv(std::vector<OpCase>& cases) {
  for (const ConvCase& k : kConvs) {
    const ConvDims d = conv_dims(k.N, k.C, k.H, k.W, k.K, k.R, k.S, k.stride, k.pad);
    const Epilogue e = k.relu ? Epilogue::relu : Epilogue::none;
    cases.push_back({"conv2d_forward_" + conv_name(k), 2e-5, 1e-2, k.small_workspace, [k, d, e](OpContext& c) {
                       const Real* x = c.input(d.N * d.C * d.H * d.W);
                       const Real* w = c.input(d.K * d.crs());
                       const Real* b = k.bias ? c.input(d.K) : nullptr;
                       c.be().conv2d_forward(x, w, b, c.output(d.N * d.K * d.pq()), d, e);
                     }});
    for (bool grads_in : {true, false}) {
      if (!grads_in && !(k.bias || k.N == 2)) continue;  // the dx/db-less variant on a few shapes
      cases.push_back({"conv2d_backward_" + conv_name(k) + (grads_in ? "" : "_no_dx_db"), 2e-5, 1e-2, k.small_workspace,
                       [k, d, e, grads_in](OpContext& c) {
                         const Real* x = c.input(d.N * d.C * d.H * d.W);
                         const Real* w = c.input(d.K * d.crs());
                         const Real* y = c.input(d.N * d.K * d.pq());  // about half positive: the ReLU mask
                         const Real* dy = c.input(d.N * d.K * d.pq());
                         Real* dx = grads_in ? c.output(d.N * d.C * d.H * d.W) : nullptr;
                         Real* dw = c.output(d.K * d.crs());
                         Real* db = grads_in && k.bias ? c.output(d.K) : nullptr;
                         c.be().conv2d_backward(x, w, y, dy, dx, dw, db, d, e);
                       }});
    }
  }
}

void add_pool(std::vector<OpCase>& cases) {
  for (const PoolCase& p : kPools) {
    const PoolDims d = pool_dims(p.N, p.C, p.H, p.W, p.k, p.stride);
    const std::string sz = "_N" + std::to_string(p.N) + "_C" + std::to_string(p.C) + "_" + std::to_string(p.H) + "x" +
                           std::to_string(p.W) + "_k" + std::to_string(p.k) + "_s" + std::to_string(p.stride) +
                           (p.nan ? "_nan" : "");
    const int64_t in = d.N * d.C * d.H * d.W, out = d.N * d.C * d.P * d.Q;
    cases.push_back({"maxpool_forward" + sz, 0, 0, false, [p, d, in, out](OpContext& c) {
                       std::vector<Real> x = c.random(in);
                       if (p.nan) x[5] = std::numeric_limits<Real>::quiet_NaN();
                       const Real* xd = c.input(x);
                       Real* y = c.output(out);
                       c.be().maxpool_forward(xd, y, c.bytes_output(out), d);
                     }});
    if (p.nan) continue;
    cases.push_back({"maxpool_backward" + sz, 1e-7, 0, false, [d, in, out](OpContext& c) {
                       const Real* dy = c.input(out);
                       std::vector<uint8_t> arg(static_cast<size_t>(out));
                       for (auto& a : arg) a = static_cast<uint8_t>(c.below(static_cast<uint64_t>(d.k * d.k)));
                       const uint8_t* am = c.bytes(arg);
                       c.be().maxpool_backward(dy, am, c.output(in), d);
                     }});
    cases.push_back({"avgpool_forward" + sz, 1e-6, 0, false, [d, in, out](OpContext& c) {
                       const Real* x = c.input(in);
                       c.be().avgpool_forward(x, c.output(out), d);
                     }});
    cases.push_back({"avgpool_backward" + sz, 1e-6, 0, false, [d, in, out](OpContext& c) {
                       const Real* dy = c.input(out);
                       c.be().avgpool_backward(dy, c.output(in), d);
                     }});
  }
  for (auto [planes, HW] : {std::pair<int64_t, int64_t>{10, 49}, {3, 1}, {5, 1000}}) {
    const std::string sz = "_planes" + std::to_string(planes) + "_HW" + std::to_string(HW);
    cases.push_back({"global_avgpool_forward" + sz, 1e-6, 0, false, [planes, HW](OpContext& c) {
                       const Real* x = c.input(planes * HW);
                       c.be().global_avgpool_forward(x, c.output(planes), planes, HW);
                     }});
    cases.push_back({"global_avgpool_backward" + sz, 1e-6, 0, false, [planes, HW](OpContext& c) {
                       const Real* dy = c.input(planes);
                       c.be().global_avgpool_backward(dy, c.output(planes * HW), planes, HW);
                     }});
  }
}

void add_norm(std::vector<OpCase>& cases) {
  struct Bn {
    int64_t N, C, S;
    double offset;  // added to the input: a mean far from 0
  };
  for (const Bn& b : {Bn{4, 3, 25, 0}, Bn{7, 13, 1, 0}, Bn{8, 3, 1024, 0}, Bn{1, 5, 7, 0}, Bn{6, 4, 9, 100},
                      Bn{2, 2, 4100, 0}}) {
    const std::string sz = "_N" + std::to_string(b.N) + "_C" + std::to_string(b.C) + "_S" + std::to_string(b.S) +
                           (b.offset != 0 ? "_offset" : "");
    const int64_t n = b.N * b.C * b.S, C = b.C;
    cases.push_back({"batchnorm_forward_train" + sz, 1e-5, 0, false, [b, n, C](OpContext& c) {
                       const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                       const Real* gamma = c.input(C, 0.5, 1.5);
                       const Real* beta = c.input(C, -0.5, 0.5);
                       Real* y = c.output(n);
                       Real* mean = c.output(C);
                       Real* var = c.output(C);
                       c.be().batchnorm_forward_train(x, gamma, beta, b.N, C, b.S, 1e-5f, y, mean, var, c.output(C));
                     }});
    cases.push_back({"batchnorm_forward_eval" + sz, 1e-6, 0, false, [b, n, C](OpContext& c) {
                       const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                       const Real* gamma = c.input(C, 0.5, 1.5);
                       const Real* beta = c.input(C, -0.5, 0.5);
                       const Real* rm = c.input(C, b.offset - 0.5, b.offset + 0.5);
                       const Real* rv = c.input(C, 0.5, 2);
                       Real* y = c.output(n);
                       c.be().batchnorm_forward_eval(x, gamma, beta, rm, rv, b.N, C, b.S, 1e-5f, y, c.output(C));
                     }});
    for (bool batch_stats : {true, false})
      for (bool with_dx : {true, false}) {
        if (!with_dx && !batch_stats) continue;
        cases.push_back({"batchnorm_backward" + sz + (batch_stats ? "_batch" : "_running") + (with_dx ? "" : "_no_dx"),
                         1e-5, 0, false, [b, n, C, batch_stats, with_dx](OpContext& c) {
                           const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                           const Real* dy = c.input(n);
                           const Real* mean = c.input(C, b.offset - 0.1, b.offset + 0.1);
                           const Real* rstd = c.input(C, 0.5, 2);
                           const Real* gamma = c.input(C, 0.5, 1.5);
                           Real* dx = with_dx ? c.output(n) : nullptr;
                           Real* dgamma = c.output(C);
                           c.be().batchnorm_backward(x, dy, mean, rstd, gamma, b.N, C, b.S, batch_stats, dx, dgamma,
                                                     c.output(C));
                         }});
      }
  }
  cases.push_back({"batchnorm_update_running_C13", 1e-6, 0, false, [](OpContext& c) {
                     const Real* mean = c.input(13);
                     const Real* var = c.input(13, 0.1, 2);
                     Real* rm = c.output(13);
                     c.be().batchnorm_update_running(mean, var, 13, 50, 0.1f, rm, c.output(13));
                   }});
}

void add_optim(std::vector<OpCase>& cases) {
  auto mask_input = [](OpContext& c, int64_t n) {
    std::vector<Real> m(static_cast<size_t>(n));
    for (auto& v : m) v = static_cast<Real>(c.below(2));
    return c.input(m);
  };
  const int64_t n = 1001;
  struct Sgd {
    const char* name;
    math::SgdRule r;
  };
  auto sgd = [](float mu, bool average, bool nesterov, float wd, bool decoupled) {
    math::SgdRule r;
    r.lr = 0.05f;
    r.momentum = mu;
    r.average = average;
    r.nesterov = nesterov;
    r.weight_decay = wd;
    r.decoupled = decoupled;
    return r;
  };
  for (const Sgd& s : {Sgd{"plain", sgd(0, false, false, 0, false)}, Sgd{"momentum", sgd(0.9f, false, false, 5e-4f, false)},
                       Sgd{"average", sgd(0.9f, true, false, 0, false)}, Sgd{"nesterov", sgd(0.9f, false, true, 5e-4f, false)},
                       Sgd{"nesterov_average_decoupled", sgd(0.8f, true, true, 0.01f, true)}}) {
    const math::SgdRule r = s.r;
    cases.push_back({std::string("sgd_update_") + s.name, 1e-6, 0, false, [r, n, mask_input](OpContext& c) {
                       const Real* g = c.input(n);
                       const Real* mask = mask_input(c, n);
                       Real* theta = c.output(n);
                       // Without momentum the velocity is never read: the optimizer passes the gradient.
                       Real* v = r.momentum != 0 ? c.output(n) : const_cast<Real*>(g);
                       c.be().optimizer_update(r, theta, g, mask, v, const_cast<Real*>(g), n);
                     }});
  }
  for (bool decoupled : {false, true}) {
    math::AdamRule r;
    r.lr = 1e-3f;
    r.weight_decay = 0.01f;
    r.decoupled = decoupled;
    r.bias1 = 1 - std::pow(0.9f, 3.0f);
    r.bias2 = 1 - std::pow(0.999f, 3.0f);
    cases.push_back({std::string("adam_update") + (decoupled ? "w" : ""), 1e-6, 0, false, [r, n, mask_input](OpContext& c) {
                       const Real* g = c.input(n);
                       const Real* mask = mask_input(c, n);
                       Real* theta = c.output(n);
                       Real* m = c.output(n);
                       Real* s = c.output(c.random(n, 0, 1e-2));  // second moments are ≥ 0
                       c.be().optimizer_update(r, theta, g, mask, m, s, n);
                     }});
  }
}

}  // namespace

const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> c;
    add_elementwise(c);
    add_dense(c);
    add_losses(c);
    add_conv(c);
    add_pool(c);
    add_norm(c);
    add_optim(c);
    return c;
  }();
  return cases;
}


}  // namespace kiln::testing
