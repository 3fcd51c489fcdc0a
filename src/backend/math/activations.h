#pragma once
// The elementwise activations, written once for every backend: y = f(x) and, backward,
// dL/dx = dL/dy · f'(x) from whichever saved value the derivative is cheaper in, the input x
// or the output y (`from_output`). The CPU kernels (cpu/activation.cpp) and the CUDA kernels
// (cuda/elementwise.cu) loop over the buffers and call these bodies.
//   ReLU       f = max(x, 0)            f' = [x > 0]       (0 at the kink, a subgradient)
//   LeakyReLU  f = x or slope·x          f' = 1 or slope
//   Tanh       f = tanh x               f' = 1 - y²
//   Sigmoid    f = 1 / (1 + e^-x)       f' = y (1 - y)
//   GELU       f = x Φ(x)               f' = Φ(x) + x φ(x)
//              Φ(x) = (1 + erf(x/√2)) / 2, φ(x) = e^{-x²/2} / √(2π): the exact (erf) form, PyTorch's
//              default (nn.GELU(approximate='none')), not the tanh approximation.
//   Scale      f = F·x                  f' = F             (a constant factor: airbench's 1/9 on the logits)
// The transcendental functions are the fast float polynomials of cpu/fast_math.h on the CPU
// (glibc's are scalar calls that keep loops from vectorising), the device's own tanhf and
// expf in CUDA kernels, and std:: in the double build. Plain C++17.
//
// Adding an activation: a struct here with forward() and backward(), its name in Activation,
// and a layer (layers/activation.h).
#include <math.h>

#include <variant>

#include "tensor/hd.h"
#ifndef __CUDACC__
#include <cmath>
#include <type_traits>

#include "backend/cpu/fast_math.h"
#endif

namespace kiln::math {

template <class T>
KILN_HD T tanh_of(T x) {
#ifdef __CUDACC__
  return tanhf(x);
#else
  if constexpr (std::is_same_v<T, float>) return cpu::tanh_fast(x);
  else return std::tanh(x);
#endif
}

// 1 / (1 + e^-x), never overflowing: for x < 0 it is e^x / (1 + e^x).
template <class T>
KILN_HD T sigmoid_of(T x) {
#ifdef __CUDACC__
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
#else
  if constexpr (std::is_same_v<T, float>) {
    return cpu::sigmoid_fast(x);
  } else {
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
#endif
}

// erf x: the CPU's fast float approximation (|error| ≤ 1.5e-7, cpu/fast_math.h), CUDA's erff,
// std::erf in the double build; and e^x likewise.
template <class T>
KILN_HD T erf_of(T x) {
#ifdef __CUDACC__
  return erff(x);
#else
  if constexpr (std::is_same_v<T, float>) return cpu::erf_fast(x);
  else return std::erf(x);
#endif
}

template <class T>
KILN_HD T exp_of(T x) {
#ifdef __CUDACC__
  return expf(x);
#else
  if constexpr (std::is_same_v<T, float>) return cpu::exp_fast(x);
  else return std::exp(x);
#endif
}

struct Relu {
  static constexpr bool from_output = false;
  template <class T>
  KILN_HD T forward(T x) const { return x > 0 ? x : T(0); }
  template <class T>
  KILN_HD T backward(T x, T dy) const { return x > 0 ? dy : T(0); }
};

struct LeakyRelu {
  float slope = 0.01f;
  static constexpr bool from_output = false;
  template <class T>
  KILN_HD T forward(T x) const { return x > 0 ? x : T(slope) * x; }
  template <class T>
  KILN_HD T backward(T x, T dy) const { return x > 0 ? dy : T(slope) * dy; }
};

struct Tanh {
  static constexpr bool from_output = true;
  template <class T>
  KILN_HD T forward(T x) const { return tanh_of(x); }
  template <class T>
  KILN_HD T backward(T y, T dy) const { return dy * (T(1) - y * y); }
};

struct Sigmoid {
  static constexpr bool from_output = true;
  template <class T>
  KILN_HD T forward(T x) const { return sigmoid_of(x); }
  template <class T>
  KILN_HD T backward(T y, T dy) const { return dy * y * (T(1) - y); }
};

struct Gelu {
  static constexpr bool from_output = false;
  template <class T>
  KILN_HD T forward(T x) const { return T(0.5) * x * (T(1) + erf_of(x * T(0.70710678118654752))); }
  template <class T>
  KILN_HD T backward(T x, T dy) const {
    const T cdf = T(0.5) * (T(1) + erf_of(x * T(0.70710678118654752)));
    const T pdf = T(0.39894228040143268) * exp_of(T(-0.5) * x * x);
    return dy * (cdf + x * pdf);
  }
};

// Not an activation in the usual sense but the same elementwise shape: y = F·x, dx = F·dy.
struct Scale {
  float factor = 1.0f;
  static constexpr bool from_output = false;
  template <class T>
  KILN_HD T forward(T x) const { return T(factor) * x; }
  template <class T>
  KILN_HD T backward(T, T dy) const { return T(factor) * dy; }
};

using Activation = std::variant<Relu, LeakyRelu, Tanh, Sigmoid, Gelu, Scale>;

}  // namespace kiln::math
