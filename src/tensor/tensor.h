#pragma once
// Tensor: a shape, a device and a pointer into reference-counted, 64-byte-aligned storage
// allocated by the device's backend (backend/backend.h). Copies are shallow (handles share
// storage, like PyTorch); clone() makes a deep copy. data() of a CUDA tensor is a device
// pointer: only kernels may touch it, and operator[] is for CPU tensors alone.
// Views (reshape, slice) share storage, which is how the model keeps all parameters in
// one flat buffer with named views (STYLE.md #8).
#include <cstdint>
#include <initializer_list>
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/check.h"

namespace kiln {

// The library is compiled for float32. The gradient-check tests compile the same sources a
// second time with KILN_REAL_DOUBLE so that finite differences can be tight.
#ifdef KILN_PRECISION_FREE
#error "compiled once for both precisions (KILN_PRECISION_FREE in CMakeLists.txt), yet it includes Real"
#endif
#ifdef KILN_REAL_DOUBLE
using Real = double;
#else
using Real = float;
#endif

// Up to kMaxRank dimensions, held inline: shapes are built and compared on every layer call, and
// a steady-state training step must not allocate.
class Shape {
 public:
  static constexpr int kMaxRank = 8;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}
  explicit Shape(std::span<const int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims) : Shape(std::span<const int64_t>(dims)) {}

  int rank() const { return rank_; }
  int64_t operator[](int i) const {
    KILN_CHECK(i >= 0 && i < rank_, "dimension " << i << " of a rank-" << rank_ << " shape");
    return dims_[i];
  }
  int64_t numel() const;
  std::span<const int64_t> dims() const { return {dims_, static_cast<size_t>(rank_)}; }
  std::string str() const;  // "[64, 16, 28, 28]"
  bool operator==(const Shape& o) const { return std::ranges::equal(dims(), o.dims()); }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  // Product of all dims after the first (features per sample for an N-first tensor).
  int64_t per_sample() const;
  // (n, dims...) and (dims after the first): between per-sample and batched shapes.
  Shape batched(int64_t n) const;
  Shape unbatched() const;

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

enum class Device { cpu, cuda };
const char* device_name(Device d);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, Device device = Device::cpu);  // zero-filled

  bool defined() const { return ptr_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return shape_.rank(); }
  int64_t numel() const { return ptr_ ? shape_.numel() : 0; }  // 0 when undefined
  Device device() const { return device_; }

  Real* data() { return ptr_; }  // on the tensor's device
  const Real* data() const { return ptr_; }
  Real& operator[](int64_t i) { return ptr_[i]; }
  Real operator[](int64_t i) const { return ptr_[i]; }

  // Same storage, another shape with the same number of elements.
  Tensor reshape(Shape shape) const;
  // Same storage, `shape.numel()` elements starting `offset` elements in.
  Tensor slice(int64_t offset, Shape shape) const;
  Tensor clone() const;
  // This tensor on `device`: itself when it is already there, else a copy.
  Tensor to(Device device) const;
  // Copies the values of `src` (same element count, any device) into this tensor's storage.
  void copy_from(const Tensor& src);
  // To and from host memory (numel() values).
  void copy_from_host(const Real* src);
  void copy_to_host(Real* dst) const;

  void fill(Real v);
  void zero() { fill(Real(0)); }
  // Planned buffers: keeps the storage when it is on `device` and large enough (no allocation
  // in the steady-state step), reallocates (zeroed) otherwise. Without a device: the tensor's own.
  void ensure(const Shape& shape, Device device);
  void ensure(const Shape& shape) { ensure(shape, device_); }

 private:
  std::shared_ptr<Real> storage_;
  int64_t capacity_ = 0;
  Real* ptr_ = nullptr;
  Shape shape_;
  Device device_ = Device::cpu;
};

// Throws kiln::Error naming both shapes when they differ.
void check_shape(const Tensor& t, const Shape& expected, const char* what);
void check_same_shape(const Tensor& a, const Tensor& b, const char* what);

}  // namespace kiln
