#include "backend/cpu/activation.h"

#include <cmath>

#include "backend/cpu/fast_math.h"
#include "backend/cpu/threads.h"

namespace kiln::cpu {

// Elementwise loops are memory bound: split them over the threads only when large enough
// to pay for waking the pool.
constexpr int64_t kParallelMin = 1 << 16;

// f(i) for i in [0, n), vectorised within each thread's range. The bodies load every operand
// before choosing between them: a load inside one arm of a ?: is conditional, and GCC then
// leaves the loop scalar.
template <class F>
static void elementwise(int64_t n, F f) {
  parallel_for(n, n > kParallelMin, [&](int64_t begin, int64_t end) {
    // A local copy: the stores through y could alias the shared closure's captures (a float
    // slope, the pointers), which would then be reloaded every element.
    const F local = f;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) local(i);
  });
}

void relu_forward(const Real* x, Real* y, int64_t n) {
  elementwise(n, [=](int64_t i) { y[i] = x[i] > 0 ? x[i] : Real(0); });
}

// The derivative at exactly 0 is taken as 0 (a subgradient); gradient checks avoid the kink.
void relu_backward(const Real* x, const Real* dy, Real* dx, int64_t n) {
  elementwise(n, [=](int64_t i) {
    const Real g = dy[i];
    dx[i] = x[i] > 0 ? g : Real(0);
  });
}

void leaky_relu_forward(const Real* x, Real* y, int64_t n, Real slope) {
  elementwise(n, [=](int64_t i) {
    const Real v = x[i];
    y[i] = v > 0 ? v : slope * v;
  });
}

void leaky_relu_backward(const Real* x, const Real* dy, Real* dx, int64_t n, Real slope) {
  elementwise(n, [=](int64_t i) {
    const Real g = dy[i];
    dx[i] = x[i] > 0 ? g : slope * g;
  });
}

void tanh_forward(const Real* x, Real* y, int64_t n) {
  if constexpr (sizeof(Real) == sizeof(float)) elementwise(n, [=](int64_t i) { y[i] = tanh_fast(x[i]); });
  else elementwise(n, [=](int64_t i) { y[i] = std::tanh(x[i]); });
}

// d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2
void tanh_backward(const Real* y, const Real* dy, Real* dx, int64_t n) {
  elementwise(n, [=](int64_t i) { dx[i] = dy[i] * (Real(1) - y[i] * y[i]); });
}

// Written so that exp never overflows: for x < 0, sigmoid(x) = e^x / (1 + e^x).
void sigmoid_forward(const Real* x, Real* y, int64_t n) {
  if constexpr (sizeof(Real) == sizeof(float)) return elementwise(n, [=](int64_t i) { y[i] = sigmoid_fast(x[i]); });
  elementwise(n, [=](int64_t i) {
    if (x[i] >= 0) {
      y[i] = Real(1) / (Real(1) + std::exp(-x[i]));
    } else {
      const Real e = std::exp(x[i]);
      y[i] = e / (Real(1) + e);
    }
  });
}

// d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x)) = y (1 - y)
void sigmoid_backward(const Real* y, const Real* dy, Real* dx, int64_t n) {
  elementwise(n, [=](int64_t i) { dx[i] = dy[i] * y[i] * (Real(1) - y[i]); });
}

}  // namespace kiln::cpu
