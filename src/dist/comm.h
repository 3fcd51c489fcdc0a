#pragma once
// The ranks of a data-parallel run and what they say to each other: sums of gradient buffers,
// a string from one rank to all, and an agreement that every rank is ready. The trainer sees
// this interface only; MPI stays in comm_mpi.cpp (built where CMake finds MPI), and a run of
// one process (no mpirun, or a build without MPI) gets the local communicator, whose
// collectives are the identity.
//
// Every collective is entered by every rank in the same order. None waits forever: each is
// started non-blocking and polled against a deadline (KILN_COMM_TIMEOUT seconds, default 120),
// past which the rank says which collective no answer came for and ends the whole job, so a
// rank that died or hangs never leaves the others waiting. NCCL would be a third
// implementation of the same interface, summing device buffers (docs/distributed.md).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/check.h"

namespace kiln {

// An error every rank throws together (after Comm::agree): each rank reports it and exits;
// nobody needs to end the job for the others.
struct AllRanksError : Error {
  using Error::Error;
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this rank's machine (for the default thread count: cores / local ranks).
  virtual int local_size() const { return 1; }
  // "mpi" or "local".
  virtual const char* kind() const = 0;

  // x[i] = the sum over ranks of x[i], on every rank, bitwise the same everywhere (for a fixed
  // rank count the order of the sum is fixed too, so runs repeat exactly).
  virtual void sum(float* x, int64_t n) = 0;
  virtual void sum(double* x, int64_t n) = 0;
  // The same, started without waiting: the buffer must not be touched until wait_sums(). In
  // between, progress() lets the sums advance (MPI moves data only inside its calls).
  virtual void start_sum(float* x, int64_t n) = 0;
  virtual void start_sum(double* x, int64_t n) = 0;
  virtual void progress() = 0;
  virtual void wait_sums() = 0;
  // Rank `root`'s s, on every rank.
  virtual std::string broadcast(const std::string& s, int root) = 0;
  // Every rank's s, in rank order, on every rank.
  virtual std::vector<std::string> gather(const std::string& s) = 0;
  // The deadline of the collectives, in seconds (0: none); returns the one before. A sweep
  // waits without one for the ranks still training (mpirun still notices a rank that dies).
  virtual double set_timeout(double seconds) { return seconds; }
  // Ends every rank of the job now (after this rank printed why).
  [[noreturn]] virtual void abort(int code) = 0;

  // Every rank says whether it is ready (empty `failure`) or what went wrong. If any rank
  // failed, every rank throws AllRanksError with the first failing rank's message, prefixed
  // with its number; so a rank that cannot read its data stops all of them with the file named.
  void agree(const std::string& failure);
  // Runs f on this rank and agrees on the outcome: with several ranks, an exception on any
  // becomes AllRanksError on all (one rank's failure to start is every rank's). With one rank
  // f's exceptions pass through unchanged.
  template <class F> void together(F&& f) {
    if (size() == 1) {
      f();
      return;
    }
    std::string failure;
    try {
      f();
    } catch (const std::exception& x) {
      failure = *x.what() ? x.what() : "an error without a message";
    }
    agree(failure);
  }
  // This machine's name.
  static std::string host_name();
};

// The process's communicator: MPI when started by mpirun (and built with MPI), else local.
// Throws kiln::Error when started as one of several ranks by a kiln built without MPI.
Comm& world();
// world() if it has been made and has several ranks, else null; never throws (for the error
// handlers of the kiln command, which must end the other ranks after an error on one).
Comm* world_if_started();
// Whether this build has the MPI communicator (CMake found MPI).
bool mpi_built();
// A communicator of one rank (sweeps give one to each variant).
std::unique_ptr<Comm> local_comm();

}  // namespace kiln
