#pragma once
// The hyper-parameters of one optimizer update, as the kernels of every backend take them
// (the math is in optim/optimizer.h).
#include <cstdint>

namespace kiln {

struct SgdUpdate {
  float lr = 0;
  float weight_decay = 0;
  bool decoupled = false;  // θ -= lr λ m θ instead of g += λ m θ
  float momentum = 0;      // μ; 0: plain SGD (the velocity buffer is not touched)
  bool average = false;    // v = μ v + (1 - μ) g instead of v = μ v + g
  bool nesterov = false;
};

struct AdamUpdate {
  float lr = 0;
  float weight_decay = 0;
  bool decoupled = false;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float bias1 = 1, bias2 = 1;  // 1 - β1ᵗ and 1 - β2ᵗ for this step t (1-based)
};

}  // namespace kiln
