#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int train(const std::vector<std::string>& args);
int eval(const std::vector<std::string>& args);
int summary(const std::vector<std::string>& args);
int gradcheck(const std::vector<std::string>& args);
int report(const std::vector<std::string>& args);
int sweep(const std::vector<std::string>& args);

}  // namespace kiln::cli
