// `kiln help [keys | layers | COMMAND]`: the experiment file's keys and the layer syntax, from
// their declarations (config fields, the layer table), and each command's options.
#include <cstdio>

#include "cli/commands.h"
#include "layers/registry.h"
#include "tensor/suggest.h"

namespace kiln::cli {

namespace {

void print_keys() {
  std::printf("Keys of an experiment file (TOML), with their defaults. Any of them can be set on the command\n"
              "line with --set KEY=VALUE.\n");
  std::string section = "-";
  for (const auto& k : experiment_keys()) {
    const auto dot = k.key.find('.');
    const std::string s = dot == std::string::npos ? "" : k.key.substr(0, dot);
    if (s != section) {
      std::printf("\n%s\n", s.empty() ? "(top level)" : ("[" + s + "]").c_str());
      section = s;
    }
    std::printf("  %-28s %s = %s", k.key.c_str(), k.type.c_str(), k.value.c_str());
    if (!k.allowed.empty()) std::printf("  (%s)", k.allowed.c_str());
    std::printf("\n      %s\n", k.help.c_str());
  }
}

void print_layers() {
  std::printf("Layers of [model] layers = [...], one string each; input channels and feature counts come from\n"
              "the shape flowing in.\n\n");
  for (const auto& k : layer_kinds()) {
    std::string aliases;
    for (const auto& a : k.aliases) aliases += (aliases.empty() ? " (also: " : ", ") + a;
    if (!aliases.empty()) aliases += ")";
    std::printf("  %s%s\n", k.syntax.c_str(), aliases.c_str());
  }
}

int run(const Args& a) {
  const std::string topic = a.positional.empty() ? "" : a.positional[0];
  if (topic == "keys") print_keys();
  else if (topic == "layers") print_layers();
  else {
    for (const Command& c : all_commands())
      if (c.spec.name == topic) {
        std::fputs(command_help(c.spec).c_str(), stdout);
        return 0;
      }
    std::vector<std::string> topics{"keys", "layers"};
    for (const Command& c : all_commands()) topics.push_back(c.spec.name);
    throw UsageError("no help on '" + topic + "'" + did_you_mean(topic, topics) + " (topics: " + join_or(topics) + ")");
  }
  return 0;
}

}  // namespace

Command help_command() {
  return {{"help", "the keys of experiment files, the layer syntax, or a command's options", "TOPIC",
           "keys, layers, or a command", 1, 1, {}, "examples:\n  kiln help keys\n  kiln help layers\n  kiln help train\n"},
          run};
}

}  // namespace kiln::cli
