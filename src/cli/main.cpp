// kiln: the command-line front end. Each subcommand is a thin layer over the library, declared
// in a file of its own (commands.h) and listed here.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "dist/comm.h"
#include "tensor/check.h"
#include "tensor/suggest.h"

namespace kiln::cli {

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = [] {
    std::vector<Command> c{train_command(), eval_command(),   predict_command(), export_command(), import_command(), summary_command(), gradcheck_command(),
                           report_command(), sweep_command(), help_command()};
    std::vector<std::string> keys;
    for (const auto& k : experiment_keys()) keys.push_back(k.key);
    for (auto& cmd : c) cmd.spec.set_keys = keys;
    return c;
  }();
  return commands;
}

}  // namespace kiln::cli

namespace {

using namespace kiln::cli;

std::string usage() {
  std::string s =
      "kiln: train and inspect neural networks, every layer's backward pass written out.\n\n"
      "usage: kiln COMMAND [ARGS] [--help]\n\ncommands:\n";
  for (const Command& c : all_commands()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-10s %s\n", c.spec.name.c_str(), c.spec.summary.c_str());
    s += line;
  }
  s += "  version    print kiln's version\n\n"
       "'kiln COMMAND --help' for its options; 'kiln help keys' for the keys of experiment files,\n"
       "'kiln help layers' for the layer syntax.\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::fputs(usage().c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  if (name == "--version" || name == "version") {
    std::printf("kiln %s\n", KILN_VERSION);
    return 0;
  }
  const Command* cmd = nullptr;
  std::vector<std::string> names{"version"};
  for (const Command& c : all_commands()) {
    if (c.spec.name == name) cmd = &c;
    names.push_back(c.spec.name);
  }
  if (!cmd) {
    std::fprintf(stderr, "kiln: unknown command '%s'%s\n\n%s", name.c_str(), kiln::did_you_mean(name, names).c_str(),
                 usage().c_str());
    return 2;
  }
  // With several ranks (mpirun), an error on one rank after the start (which the ranks agree
  // on: AllRanksError) must end the others, or they would wait for it in their next sum.
  auto fail = [&](int code, const char* kind, const char* what, bool all_ranks) {
    kiln::Comm* comm = kiln::world_if_started();
    std::string where;
    if (comm) where = " on rank " + std::to_string(comm->rank()) + " of " + std::to_string(comm->size()) + " (" +
                      kiln::Comm::host_name() + ")";
    std::fprintf(stderr, "kiln %s: %s%s: %s\n", name.c_str(), kind, where.c_str(), what);
    if (comm && !all_ranks) {
      std::fprintf(stderr, "kiln %s: ending the other ranks\n", name.c_str());
      comm->abort(code);
    }
    return code;
  };
  try {
    return cmd->run(parse_command(cmd->spec, args));
  } catch (const HelpShown&) {
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kiln %s: %s\n(see 'kiln %s --help')\n", name.c_str(), e.what(), name.c_str());
    return 2;
  } catch (const kiln::AllRanksError& e) {
    return fail(1, "error", e.what(), true);
  } catch (const kiln::Error& e) {
    return fail(1, "error", e.what(), false);
  } catch (const std::filesystem::filesystem_error& e) {
    // Paths come from the user: a symlink loop, a permission, a name too long.
    return fail(1, "error", e.what(), false);
  } catch (const std::bad_alloc&) {
    return fail(1, "error", "out of memory", false);
  } catch (const std::exception& e) {
    return fail(3, "internal error", e.what(), false);
  }
}
