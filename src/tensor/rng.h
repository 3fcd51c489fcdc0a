#pragma once
// Deterministic random numbers, identical on every machine (the standard distributions are
// implementation-defined, so kiln draws its own).
//  - Rng: a sequential generator (xoshiro256**) for initialisation and shuffling; its state is
//    four words, saved in checkpoints so that a resumed run continues the same stream.
//  - hash_uniform: a counter-based generator (splitmix64 of seed, stream, counter), for
//    dropout masks: the mask of a step is a function of (seed, layer, step, index), so it
//    needs no saved state and every backend can draw the same one.
#include <array>
#include <cstdint>

#include "tensor/hash.h"  // splitmix64, hash_uniform

namespace kiln {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x6b696c6e);  // "kiln"
  uint64_t next_u64();
  double uniform();                 // [0, 1)
  double uniform(double lo, double hi);
  double normal();                  // standard normal (Box-Muller)
  uint64_t below(uint64_t n);       // [0, n), unbiased
  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_;
};

}  // namespace kiln
