#include <gtest/gtest.h>

#include "backend/backend.h"
#include "config/experiment.h"

using namespace kiln;

static const char* kGood = R"(
name = "t"
seed = 7
[data]
dataset = "idx"
dir = "/tmp/x"
[model]
layers = ["dense 10"]
[optimizer]
name = "sgd"
lr = 0.1
momentum = 0.9
[train]
epochs = 3
)";

static std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_experiment(text, "exp.toml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Experiment, ParsesAndAppliesDefaults) {
  Experiment e = parse_experiment(kGood, "exp.toml");
  EXPECT_EQ(e.name, "t");
  EXPECT_EQ(e.seed, 7u);
  EXPECT_EQ(e.layers.size(), 1u);
  EXPECT_DOUBLE_EQ(e.schedule.lr, 0.1);
  EXPECT_DOUBLE_EQ(e.optimizer.momentum, 0.9);
  EXPECT_EQ(e.train.epochs, 3);
  EXPECT_EQ(e.train.batch_size, 64);  // default
}

TEST(Experiment, OverridesFromTheCommandLine) {
  Experiment e = parse_experiment(kGood, "exp.toml", {"optimizer.lr=0.01", "train.batch_size=32", "name=other",
                                                      "model.layers=[\"dense 5\", \"relu\", \"dense 10\"]"});
  EXPECT_DOUBLE_EQ(e.schedule.lr, 0.01);
  EXPECT_EQ(e.train.batch_size, 32);
  EXPECT_EQ(e.name, "other");
  EXPECT_EQ(e.layers.size(), 3u);
}

// A bare word is taken as the string it is, every character kept: quotes, backslashes, and
// control characters (which a TOML string holds only escaped).
TEST(Experiment, BareWordOverridesKeepEveryCharacter) {
  const std::string dir = "/tmp/a\tb\"c\\d\x01e\x7f";
  const Experiment e = parse_experiment(kGood, "exp.toml", {"data.dir=" + dir});
  EXPECT_EQ(e.data.dir, dir);
}

// train.precision: TF32 by default (the CUDA backend's GEMMs and convolutions), fp32 on request,
// nothing else; the CPU backend has no TF32 and says so.
// bf16 (CPU mixed precision) is an allowed value since tests/bf16_train_test.cpp; fp16 is not.
TEST(Experiment, PrecisionIsTf32UnlessFp32OrBf16IsAsked) {
  EXPECT_EQ(parse_experiment(kGood, "exp.toml").train.precision, "tf32");
  EXPECT_EQ(parse_experiment(kGood, "exp.toml", {"train.precision=\"fp32\""}).train.precision, "fp32");
  EXPECT_EQ(parse_experiment(kGood, "exp.toml", {"train.precision=\"bf16\""}).train.precision, "bf16");
  const std::string err = error_of(kGood, {"train.precision=\"fp16\""});
  EXPECT_NE(err.find("train.precision"), std::string::npos) << err;
  EXPECT_NE(err.find("fp16"), std::string::npos) << err;
  EXPECT_NE(err.find("bf16"), std::string::npos) << err << " (the allowed values are listed)";
  EXPECT_FALSE(backend(Device::cpu).set_tf32(true));
  EXPECT_FALSE(backend(Device::cpu).set_tf32(true)) << "the CPU backend turned TF32 on";
}

TEST(Experiment, ResolvedConfigRoundTrips) {
  Experiment e = parse_experiment(kGood, "exp.toml", {"optimizer.weight_decay=0.0005"});
  Experiment again = parse_experiment(e.resolved, "config.toml");
  EXPECT_EQ(again.resolved, e.resolved);
  EXPECT_DOUBLE_EQ(again.optimizer.weight_decay, 0.0005);
}

TEST(Experiment, ErrorsNameFileLineAndKey) {
  std::string text = kGood;
  text.replace(text.find("momentum = 0.9"), 14, "momentun = 0.9");
  std::string err = error_of(text);
  EXPECT_NE(err.find("exp.toml:12"), std::string::npos) << err;  // the line of "momentun = 0.9"
  EXPECT_NE(err.find("optimizer.momentun"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key"), std::string::npos) << err;

  err = error_of(kGood, {"train.epochs=\"many\""});
  EXPECT_NE(err.find("train.epochs"), std::string::npos) << err;
  EXPECT_NE(err.find("integer"), std::string::npos) << err;

  err = error_of(kGood, {"optimizer.name=sgdd"});
  EXPECT_NE(err.find("sgdd"), std::string::npos) << err;

  err = error_of(std::string(kGood) + "\n[data\n");
  EXPECT_NE(err.find("exp.toml"), std::string::npos) << err;

  err = error_of(kGood, {"no_equals_sign"});
  EXPECT_NE(err.find("KEY=VALUE"), std::string::npos) << err;
}
