#pragma once
// Sequential reading of a data file that may be gzip-compressed. Compression is recognised by
// the gzip magic bytes (1f 8b), not by the name, so a ".gz" holding plain bytes or a plain name
// holding gzip data both read correctly (neither idx nor CIFAR files can start with 1f 8b:
// idx starts with two zero bytes, CIFAR with a label < 10). Every error is a kiln::Error that
// starts with the file's path.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

class ByteReader {
 public:
  explicit ByteReader(const std::string& path);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Up to n bytes of (decompressed) data into dst; fewer only at the end of the data.
  int64_t read(uint8_t* dst, int64_t n);
  // Reads and discards the rest of the data, in bounded memory; returns how many bytes it was.
  int64_t skip_rest();
  // The bytes not yet read when that is known without reading them: a plain file's remaining
  // length. -1 for gzip, whose length is only known by decompressing it.
  int64_t known_remaining() const;
  bool gzipped() const { return gz_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  int64_t read_raw(uint8_t* dst, int64_t n);  // from the file itself
  bool refill();                              // more compressed input; false at the end of the file
  int64_t inflate_into(uint8_t* dst, int64_t n);

  std::string path_;
  int fd_ = -1;
  int64_t file_size_ = 0, raw_read_ = 0;  // raw_read_: bytes of the file taken by read_raw
  bool gz_ = false;
  z_stream zs_{};
  bool zs_ready_ = false;       // inflateInit2 done
  bool member_ended_ = false;   // the current gzip member is complete
  int64_t members_ = 0;         // complete gzip members so far (gzip -d accepts concatenations)
  int64_t produced_ = 0;        // decompressed bytes handed out
  std::vector<uint8_t> in_;     // compressed input (or, for a plain file, the peeked first bytes)
  size_t in_pos_ = 0, in_len_ = 0;
};

}  // namespace kiln
