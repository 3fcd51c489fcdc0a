#pragma once
// Recording kernels into a graph and replaying it (CUDA graphs), for the training step
// (train/step.cpp): the one way code above the backend reaches graph capture. On a device
// that cannot capture (the CPU), can_capture() is false and nothing else is called.
//
// What a graph bakes in, and how it is kept valid, is the caller's policy (step.cpp); here
// is the mechanism: capture() records `work` (nothing runs), failing cleanly when the work
// does what a capture cannot hold (allocate, copy to or from the host, synchronise); the
// memory generation changes whenever any device buffer is allocated or released, which is
// when a graph's baked-in pointers may no longer be valid; set_step() sets the device-side
// step that dropout masks are drawn for at replay.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace kiln {

class Recorder {
 public:
  explicit Recorder(Device device);
  bool can_capture() const;
  // The recording of `work`, or null when the capture failed (then nothing has run, and
  // *why says what went wrong).
  std::unique_ptr<Graph> capture(const std::function<void()>& work, std::string* why);
  uint64_t memory_generation() const;
  void set_step(int64_t step);

 private:
  Backend* backend_;
};

}  // namespace kiln
