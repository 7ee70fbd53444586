#pragma once

// The random numbers faults draw from: one generator per worker, seedable so that a run
// can be repeated (xoshiro256**, seeded through splitmix64). Small, allocation-free and
// fast enough to draw per request; not for anything cryptographic.
//
// Thread contract: one per worker; loop thread only.

#include <cstdint>

namespace proxynode {

class FaultRandom {
 public:
  explicit FaultRandom(uint64_t seed) { Seed(seed); }

  void Seed(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;  // splitmix64: spreads any seed over the whole state
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotate(state_[1] * 5, 7) * 9;
    const uint64_t shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = Rotate(state_[3], 45);
    return result;
  }

  // Uniform in (0, 1): never exactly 0 or 1, so inverse CDFs stay finite.
  double Unit() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }

 private:
  static uint64_t Rotate(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4] = {};
};

}  // namespace proxynode
