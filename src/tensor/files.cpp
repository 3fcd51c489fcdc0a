#include "tensor/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tensor/check.h"

namespace kiln {

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(path + ": cannot open " + what + ": " + std::strerror(errno));  // ELOOP names the loop
  if (!S_ISREG(st.st_mode))
    throw Error(path + ": cannot open " + what + ": not a regular file (" +
                (S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device") + ")");
}

std::string read_file(const std::string& path, const std::string& what) {
  require_regular_file(path, what);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open " + what + ": " + std::strerror(errno));
  // A regular file: its size is known, so one allocation and one read (a stream copy grows
  // its buffer by doubling, a second copy of a 150 MB image cache).
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  f.seekg(0, std::ios::beg);
  if (size < 0) throw Error(path + ": cannot read " + what);
  std::string data(static_cast<size_t>(size), '\0');
  f.read(data.data(), size);
  if (f.gcount() != size) throw Error(path + ": cannot read " + what + " (it changed while being read)");
  return data;
}

void write_file_atomic(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  // Created afresh, never through a link: a stale temporary (or a symlink planted there) is
  // removed first (unlink removes a link itself, not what it points to), and O_EXCL with
  // O_NOFOLLOW refuses anything that appears in between.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw Error("cannot replace " + tmp + ": " + std::strerror(errno));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw Error("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
}

}  // namespace kiln
