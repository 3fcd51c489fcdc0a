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

// Inline so that loops drawing one number per element (dropout masks) vectorise.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// Uniform in [0, 1) from (seed, stream, counter).
inline double hash_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t h = splitmix64(seed ^ splitmix64(stream ^ splitmix64(counter)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace kiln
