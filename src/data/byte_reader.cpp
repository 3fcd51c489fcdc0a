#include "data/byte_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tensor/check.h"
#include "tensor/files.h"

namespace kiln {

namespace {
constexpr size_t kInputChunk = size_t{1} << 18;  // compressed bytes per read(2)
}

ByteReader::ByteReader(const std::string& path) : path_(path) {
  require_regular_file(path, "data file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw Error(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(path + ": not a regular file");
  }
  file_size_ = static_cast<int64_t>(st.st_size);

  // Peek at two bytes to tell gzip from plain; they stay in in_ and are served first either way.
  in_.resize(2);
  in_len_ = static_cast<size_t>(read_raw(in_.data(), 2));
  gz_ = in_len_ == 2 && in_[0] == 0x1f && in_[1] == 0x8b;
  if (gz_) {
    in_.resize(kInputChunk);
    // 16 + MAX_WBITS: gzip wrapper only (a zlib or raw deflate stream is not what we expect).
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
      ::close(fd_);
      throw Error(path + ": cannot initialise zlib");
    }
    zs_ready_ = true;
  }
}

ByteReader::~ByteReader() {
  if (zs_ready_) inflateEnd(&zs_);
  if (fd_ >= 0) ::close(fd_);
}

void ByteReader::fail(const std::string& problem) const { throw Error(path_ + ": " + problem); }

int64_t ByteReader::read_raw(uint8_t* dst, int64_t n) {
  int64_t got = 0;
  while (got < n) {
    // read(2) moves at most ~2 GiB at a time on Linux.
    const size_t want = static_cast<size_t>(std::min<int64_t>(n - got, int64_t{1} << 30));
    const ssize_t r = ::read(fd_, dst + got, want);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(std::string("read error: ") + std::strerror(errno));
    }
    if (r == 0) break;
    got += r;
  }
  raw_read_ += got;
  return got;
}

int64_t ByteReader::known_remaining() const {
  if (gz_) return -1;
  return std::max<int64_t>(0, file_size_ - raw_read_) + static_cast<int64_t>(in_len_ - in_pos_);
}

int64_t ByteReader::read(uint8_t* dst, int64_t n) {
  KILN_CHECK(n >= 0, "negative read of " << n << " bytes");
  if (gz_) return inflate_into(dst, n);
  // Plain: the peeked bytes first, then straight from the file (no intermediate copy).
  const auto peeked = static_cast<int64_t>(std::min<size_t>(in_len_ - in_pos_, static_cast<size_t>(n)));
  std::memcpy(dst, in_.data() + in_pos_, static_cast<size_t>(peeked));
  in_pos_ += static_cast<size_t>(peeked);
  return peeked + read_raw(dst + peeked, n - peeked);
}

int64_t ByteReader::skip_rest() {
  std::vector<uint8_t> scratch(size_t{1} << 16);
  int64_t total = 0;
  for (;;) {
    const int64_t got = read(scratch.data(), static_cast<int64_t>(scratch.size()));
    if (got == 0) return total;
    total += got;
  }
}

bool ByteReader::refill() {
  in_pos_ = 0;
  in_len_ = static_cast<size_t>(read_raw(in_.data(), static_cast<int64_t>(in_.size())));
  return in_len_ > 0;
}

int64_t ByteReader::inflate_into(uint8_t* dst, int64_t n) {
  int64_t out = 0;
  while (out < n) {
    if (member_ended_) {
      // Another gzip member may follow (files made with `cat a.gz b.gz` are valid gzip).
      if (in_pos_ == in_len_ && !refill()) break;  // the real end of the data
      if (inflateReset(&zs_) != Z_OK) fail("cannot reset zlib");
      member_ended_ = false;
    }
    if (in_pos_ == in_len_ && !refill())
      fail("truncated gzip stream: the compressed data stops before its end, after " + std::to_string(produced_ + out) +
           " decompressed bytes");
    zs_.next_in = in_.data() + in_pos_;
    zs_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    const auto room = static_cast<uInt>(std::min<int64_t>(n - out, int64_t{1} << 30));
    zs_.next_out = dst + out;
    zs_.avail_out = room;
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    in_pos_ = in_len_ - zs_.avail_in;
    out += room - zs_.avail_out;
    if (rc == Z_STREAM_END) {
      member_ended_ = true;
      ++members_;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {  // Z_BUF_ERROR: no progress yet, more input needed
      const std::string why = zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc);
      if (members_ > 0 && zs_.total_out == 0)
        fail("bytes after the end of the gzip data are not gzip (" + why + ")");
      fail("corrupt gzip data (" + why + ") after " + std::to_string(produced_ + out) + " decompressed bytes");
    }
  }
  produced_ += out;
  return out;
}

}  // namespace kiln
