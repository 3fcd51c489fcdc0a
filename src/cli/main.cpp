// kiln: the command-line front end. Each subcommand is a thin layer over the library.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tensor/check.h"

namespace {

const char* kUsage = R"(kiln: train and inspect neural networks, every layer's backward pass written out.

usage:
  kiln train [FILE] [--set KEY=VALUE]... [--runs DIR] [--threads N] [--device cpu|cuda] [--no-progress]
                         train the experiment in FILE (default: the baseline CNN on
                         Fashion-MNIST); writes a run folder with metrics, checkpoints, report
  kiln train --resume RUN [--set KEY=VALUE]...
                         continue an interrupted run exactly where it stopped
  kiln eval RUN|CHECKPOINT [--data DIR] [--threads N] [--device cpu|cuda]
                         test loss and accuracy, confusion matrix, per-class precision/recall/F1
  kiln summary FILE      per-layer table: output shape, parameters, FLOPs
  kiln gradcheck FILE [--batch N]
                         check the model's backward pass against central differences, in
                         double precision (kiln-f64); minutes for large nets
  kiln report RUN        (re)write RUN/report.html
  kiln sweep FILE [--vary KEY=V1,V2,...]... [--set KEY=VALUE]... [--runs DIR]
                         run a grid of variants and compare them

KEY is section.key as in the experiment file, e.g. --set optimizer.lr=0.01 --set train.epochs=3
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "train") return kiln::cli::train(args);
    if (cmd == "eval") return kiln::cli::eval(args);
    if (cmd == "summary") return kiln::cli::summary(args);
    if (cmd == "gradcheck") return kiln::cli::gradcheck(args);
    if (cmd == "report") return kiln::cli::report(args);
    if (cmd == "sweep") return kiln::cli::sweep(args);
    if (cmd == "--version" || cmd == "version") {
      std::printf("kiln %s\n", KILN_VERSION);
      return 0;
    }
    std::fprintf(stderr, "kiln: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const kiln::cli::UsageError& e) {
    std::fprintf(stderr, "kiln %s: %s\n(see 'kiln --help')\n", cmd.c_str(), e.what());
    return 2;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kiln %s: error: out of memory\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln %s: internal error: %s\n", cmd.c_str(), e.what());
    return 3;
  }
}
