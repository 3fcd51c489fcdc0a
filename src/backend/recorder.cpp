#include "backend/recorder.h"

namespace kiln {

Recorder::Recorder(Device device) : backend_(&backend(device)) {}

bool Recorder::can_capture() const { return backend_->can_capture(); }

std::unique_ptr<Graph> Recorder::capture(const std::function<void()>& work, std::string* why) {
  const uint64_t generation = backend_->memory_generation();
  try {
    backend_->begin_capture();
    work();
    std::unique_ptr<Graph> g = backend_->end_capture();
    if (g && backend_->memory_generation() == generation) return g;
    *why = "device memory changed during the capture";
  } catch (const std::exception& e) {
    backend_->abort_capture();
    *why = e.what();
  }
  return nullptr;
}

uint64_t Recorder::memory_generation() const { return backend_->memory_generation(); }

void Recorder::set_step(int64_t step) { backend_->set_step(step); }

}  // namespace kiln
