#pragma once
// Untyped bytes on a device, for the little non-float state some layers keep there (the
// max-pool argmax). Reference-counted like a Tensor's storage; ensure() keeps the memory
// when it is large enough, so a steady-state step allocates nothing.
#include <cstddef>
#include <memory>

#include "tensor/tensor.h"

namespace kiln {

class Buffer {
 public:
  void ensure(size_t bytes, Device device);
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_.get());
  }
  size_t size() const { return bytes_; }
  Device device() const { return device_; }

 private:
  std::shared_ptr<void> ptr_;
  size_t bytes_ = 0;
  Device device_ = Device::cpu;
};

}  // namespace kiln
