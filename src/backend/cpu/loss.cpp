#include "backend/cpu/loss.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/threads.h"

namespace kiln::cpu {

double softmax_xent(const Real* z, const Real* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                    Real* dz) {
  const double off = static_cast<double>(smoothing) / static_cast<double>(K);
  const double on = 1.0 - static_cast<double>(smoothing) + off;
  // One partial sum per thread, added in thread order: the same total for the same thread count.
  double partial[64] = {};
  const int64_t chunks = std::min<int64_t>(64, N);
  parallel_for(chunks, N * K > (1 << 15), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t n = N * c / chunks; n < N * (c + 1) / chunks; ++n) {
        const Real* zn = z + n * K;
        const auto y = static_cast<int64_t>(labels[n]);
        double mx = zn[0];
        for (int64_t k = 1; k < K; ++k) mx = std::max(mx, static_cast<double>(zn[k]));
        double sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(zn[k] - mx);
        const double log_sum = std::log(sum);
        double loss = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double logp = zn[k] - mx - log_sum;
          const double q = k == y ? on : off;
          if (q != 0) loss -= q * logp;
          const double p = std::exp(logp);
          if (probs) probs[n * K + k] = static_cast<Real>(p);
          if (dz) dz[n * K + k] = static_cast<Real>((p - q) / static_cast<double>(N));
        }
        partial[c] += loss;
      }
  });
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) total += partial[c];
  return total / static_cast<double>(N);
}

double mse(const Real* y, const Real* t, int64_t N, int64_t F, Real* dy) {
  double total = 0;
  for (int64_t i = 0; i < N * F; ++i) {
    const double d = static_cast<double>(y[i]) - t[i];
    total += 0.5 * d * d;
    if (dy) dy[i] = static_cast<Real>(d / static_cast<double>(N));
  }
  return total / static_cast<double>(N);
}

}  // namespace kiln::cpu
