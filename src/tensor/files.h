#pragma once
// Files read and written safely, whatever the path holds: regular files only (a FIFO would
// block a read forever; a symlink loop, a directory, a device are refused with what they are),
// and writes that replace a file atomically without following a planted link.
#include <string>

namespace kiln {

// Writes to PATH.tmp (created afresh, never through a link), fsyncs it and renames it over
// PATH: a kill at any moment leaves the old file or the new one.
void write_file_atomic(const std::string& path, const std::string& data);
// Throws kiln::Error naming the path unless it is a regular file (a FIFO would block a read
// forever; a symlink loop, a directory, a device are refused with what they are).
void require_regular_file(const std::string& path, const std::string& what);
// The whole file (after require_regular_file).
std::string read_file(const std::string& path, const std::string& what);

}  // namespace kiln
