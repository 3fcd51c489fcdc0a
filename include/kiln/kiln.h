#pragma once
// kiln's public C++ API: the few headers an embedding program needs. Everything else under
// src/ is internal and may change.
//
//   kiln::Experiment e = kiln::load_experiment("configs/mnist_cnn.toml", {"train.epochs=2"});
//   kiln::RunResult r = kiln::train(e, kiln::TrainOptions{});
//
// or, step by step: kiln::load_data, kiln::build_model_for, kiln::make_loss,
// kiln::make_optimizer, kiln::make_schedule, Model::forward/backward, kiln::evaluate.
#include "backend/runtime.h"    // set_threads, require_device
#include "config/experiment.h"  // Experiment, load_experiment, parse_experiment
#include "loss/loss.h"          // Loss, make_loss
#include "model/build.h"        // build_model (layer specs -> Model)
#include "model/model.h"        // Model: forward, backward, params, summary, save/load
#include "optim/optimizer.h"    // Optimizer, make_optimizer
#include "optim/schedule.h"     // Schedule, make_schedule
#include "train/evaluate.h"     // evaluate, Evaluation
#include "train/loop.h"         // TrainLoop: the loop without a run folder
#include "train/setup.h"        // load_data, build_model_for
#include "train/trainer.h"      // train, resume, TrainOptions, RunResult
