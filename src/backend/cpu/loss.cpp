#include "backend/cpu/loss.h"

#include <algorithm>
#include <cmath>

namespace kiln::cpu {

double softmax_xent(const Real* z, const int32_t* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                    Real* dz) {
  double total = 0;
  const double off = static_cast<double>(smoothing) / static_cast<double>(K);
  const double on = 1.0 - static_cast<double>(smoothing) + off;
#pragma omp parallel for reduction(+ : total) if (N * K > (1 << 15))
  for (int64_t n = 0; n < N; ++n) {
    const Real* zn = z + n * K;
    const int64_t y = labels[n];
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
    total += loss;
  }
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
