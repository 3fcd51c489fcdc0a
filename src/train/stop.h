#pragma once
// Stop requests from outside the loop: SIGINT/SIGTERM (kiln train), or a caller's own flag
// (Ctrl-C in a notebook reaches the Python module, which sets it). The loop asks after every
// batch and saves a checkpoint before it stops.
namespace kiln {

// SIGINT/SIGTERM ask the running loop to save a checkpoint and stop; a second one ends the
// process at once.
void install_stop_handlers();
// Whether a stop was asked for (by a signal or request_stop()) since the last clear_stop().
bool stop_requested();
void request_stop();
void clear_stop();

}  // namespace kiln
