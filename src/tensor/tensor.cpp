#include "tensor/tensor.h"

#include "backend/backend.h"
#include "tensor/buffer.h"

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

Shape::Shape(std::span<const int64_t> dims) : rank_(static_cast<int>(dims.size())) {
  if (dims.size() > kMaxRank) throw Error("shapes have at most " + std::to_string(kMaxRank) + " dimensions, got " + std::to_string(dims.size()));
  std::copy(dims.begin(), dims.end(), dims_);
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims()) n *= d;
  return n;
}

int64_t Shape::per_sample() const {
  int64_t n = 1;
  for (int i = 1; i < rank_; ++i) n *= dims_[i];
  return n;
}

Shape Shape::batched(int64_t n) const {
  if (rank_ >= kMaxRank) throw Error("cannot add a batch dimension to " + str());
  Shape s;
  s.rank_ = rank_ + 1;
  s.dims_[0] = n;
  std::copy(dims_, dims_ + rank_, s.dims_ + 1);
  return s;
}

Shape Shape::unbatched() const {
  KILN_CHECK(rank_ >= 1, "unbatched() of a scalar shape");
  return Shape(dims().subspan(1));
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << dims_[i];
  os << "]";
  return os.str();
}

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

// Zero-filled storage of n elements from the device's backend, released through it.
static std::shared_ptr<Real> allocate(int64_t n, Device device) {
  Backend& b = backend(device);
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(Real);
  auto* p = static_cast<Real*>(b.allocate(bytes));
  b.fill(p, Real(0), std::max<int64_t>(n, 1));
  return std::shared_ptr<Real>(p, [&b, bytes](Real* q) { b.release(q, bytes); });
}

Tensor::Tensor(Shape shape, Device device) : shape_(std::move(shape)), device_(device) {
  for (int64_t d : shape_.dims())
    if (d < 0) throw Error("negative dimension in shape " + shape_.str());
  capacity_ = shape_.numel();
  storage_ = allocate(capacity_, device);
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
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  KILN_CHECK(src.numel() == numel(), "copy of " << src.shape().str() << " into " << shape_.str());
  const size_t bytes = static_cast<size_t>(numel()) * sizeof(Real);
  if (bytes == 0 || src.ptr_ == ptr_) return;
  if (src.device_ == device_) backend(device_).copy(ptr_, src.ptr_, bytes);
  else if (src.device_ == Device::cpu) backend(device_).copy_from_host(ptr_, src.ptr_, bytes);
  else if (device_ == Device::cpu) backend(src.device_).copy_to_host(ptr_, src.ptr_, bytes);
  else throw Error(std::string("no copy from ") + device_name(src.device_) + " to " + device_name(device_));
}

void Tensor::copy_from_host(const Real* src) {
  if (numel()) backend(device_).copy_from_host(ptr_, src, static_cast<size_t>(numel()) * sizeof(Real));
}

void Tensor::copy_to_host(Real* dst) const {
  if (numel()) backend(device_).copy_to_host(dst, ptr_, static_cast<size_t>(numel()) * sizeof(Real));
}

Tensor Tensor::to(Device device) const {
  if (device == device_ || !defined()) return *this;
  Tensor t(shape_, device);
  t.copy_from(*this);
  return t;
}

void Tensor::fill(Real v) {
  if (numel()) backend(device_).fill(ptr_, v, numel());
}

void Tensor::ensure(const Shape& shape, Device device) {
  if (storage_ && device == device_ && shape.numel() <= capacity_ && ptr_ == storage_.get()) {
    shape_ = shape;
    return;
  }
  *this = Tensor(shape, device);
}

void Buffer::ensure(size_t bytes, Device device) {
  if (ptr_ && device == device_ && bytes <= bytes_) return;
  Backend& b = backend(device);
  const size_t n = std::max<size_t>(bytes, 1);
  ptr_ = std::shared_ptr<void>(b.allocate(n), [&b, n](void* q) { b.release(q, n); });
  bytes_ = n;
  device_ = device;
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
