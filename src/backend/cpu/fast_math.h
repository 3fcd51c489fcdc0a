#pragma once
// exp, tanh and the logistic function in float, written as straight-line arithmetic and selects
// so that loops over them vectorise (glibc's expf and tanhf are scalar calls: a tanh network
// trained 3.5x slower than the same net with ReLU). Cephes' single-precision polynomials:
//   exp(x) = 2^n · e^r,  n = round(x / ln 2),  r = x - n ln 2 (ln 2 in two parts, so r is exact),
//            e^r by a degree-7 polynomial on |r| ≤ ln 2 / 2;
//   tanh(x) = x + x³ P(x²)                for |x| ≤ 0.625,
//           = sign(x) (1 - 2 / (e^{2|x|} + 1))   above, where that form loses nothing.
// Within 2-3 float ulps of expf and tanhf (tests/activation_test.cpp); NaN propagates. The
// double build keeps std::exp and std::tanh (activation.cpp), so gradient checks see the
// reference functions.
#include <bit>
#include <cstdint>

namespace kiln::cpu {

inline float exp_fast(float x) {
  // e^88.72 is the largest float; below -87.3 the result is no longer normal: flush to 0. NaN
  // takes the path of 0 (no float-to-int conversion of a NaN) and is returned at the end.
  const float hi = x > 88.0f ? 88.0f : x;
  const float xc = hi < -87.0f ? -87.0f : (hi == hi ? hi : 0.0f);
  // Round to nearest by adding and subtracting 1.5 · 2^23 (floorf is a library call, and a
  // select on the sign stops GCC from vectorising the loop).
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // 2^n
  const float y = p * scale;
  return x != x ? x : (x < -87.0f ? 0.0f : y);
}

inline float tanh_fast(float x) {
  const float a = x < 0 ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  // e^{2|x|} overflows past |x| ≈ 44, where tanh is 1 to float precision anyway.
  const float e = exp_fast(2.0f * (a > 44.0f ? 44.0f : a));
  const float large = 1.0f - 2.0f / (e + 1.0f);
  return a > 0.625f ? (x < 0 ? -large : large) : small;
}

// 1 / (1 + e^{-x}) without overflow: with e = e^{-|x|} ≤ 1, 1 / (1 + e) for x ≥ 0, e / (1 + e) below.
inline float sigmoid_fast(float x) {
  const float e = exp_fast(x < 0 ? x : -x);
  return (x < 0 ? e : 1.0f) / (1.0f + e);
}

// erf(x) by Abramowitz & Stegun 7.1.26: for a = |x|, t = 1 / (1 + p a),
//   erf(a) = 1 - (a1 t + a2 t² + a3 t³ + a4 t⁴ + a5 t⁵) e^{-a²},   |error| ≤ 1.5e-7,
// odd in x; in float 4e-7 with the rounding (tests/activation_test.cpp). An absolute bound
// (relative error grows near 0), which is what GELU needs: it uses 1 + erf(x/√2), where 4e-7
// is a few float ulps of 1.
inline float erf_fast(float x) {
  const float a = x < 0 ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float r = 1.0f - p * t * exp_fast(-a * a);
  return x < 0 ? -r : r;
}

}  // namespace kiln::cpu
