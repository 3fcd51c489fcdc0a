#include "tensor/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

namespace kiln {

void check_failed(const char* cond, const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << "internal check failed: " << cond << " at " << file << ":" << line;
  if (!msg.empty()) os << ": " << msg;
  throw std::logic_error(os.str());
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

int64_t Shape::per_sample() const {
  int64_t n = 1;
  for (size_t i = 1; i < dims_.size(); ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < dims_.size(); ++i) os << (i ? ", " : "") << dims_[i];
  os << "]";
  return os.str();
}

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

static std::shared_ptr<Real> allocate(int64_t n) {
  // 64-byte alignment: one cache line, one AVX-512 register.
  size_t bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(Real);
  bytes = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::shared_ptr<Real>(static_cast<Real*>(p), [](Real* q) { std::free(q); });
}

Tensor::Tensor(Shape shape, Device device) : shape_(std::move(shape)), device_(device) {
  for (int64_t d : shape_.dims())
    if (d < 0) throw Error("negative dimension in shape " + shape_.str());
  KILN_CHECK(device == Device::cpu, "tensors on " << device_name(device) << " need the CUDA backend");
  capacity_ = shape_.numel();
  storage_ = allocate(capacity_);
  ptr_ = storage_.get();
}

Tensor Tensor::reshape(Shape shape) const {
  if (shape.numel() != numel())
    throw Error("cannot reshape " + shape_.str() + " to " + shape.str() + ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice(int64_t offset, Shape shape) const {
  KILN_CHECK(offset >= 0 && offset + shape.numel() <= capacity_ - (ptr_ - storage_.get()),
             "slice " << offset << "+" << shape.str() << " outside storage of " << capacity_);
  Tensor t = *this;
  t.ptr_ = ptr_ + offset;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_, device_);
  if (numel()) std::memcpy(t.ptr_, ptr_, static_cast<size_t>(numel()) * sizeof(Real));
  return t;
}

void Tensor::fill(Real v) { std::fill(ptr_, ptr_ + numel(), v); }

void Tensor::ensure(const Shape& shape) {
  if (storage_ && shape.numel() <= capacity_ && ptr_ == storage_.get()) {
    shape_ = shape;
    return;
  }
  *this = Tensor(shape, device_);
}

void check_shape(const Tensor& t, const Shape& expected, const char* what) {
  if (t.shape() != expected)
    throw Error(std::string(what) + ": expected shape " + expected.str() + ", got " + t.shape().str());
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  if (a.shape() != b.shape())
    throw Error(std::string(what) + ": shapes differ: " + a.shape().str() + " vs " + b.shape().str());
}

}  // namespace kiln
