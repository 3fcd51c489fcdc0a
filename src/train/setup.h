#pragma once
// From an experiment to the objects a run needs: datasets (files read, sample limits and the
// validation split applied, normalisation fixed from the training set) and the model.
#include "config/experiment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "model/model.h"

namespace kiln {

struct Data {
  Dataset train, val, test;  // val is empty unless a validation fraction is set
  Normalization norm;
  Augment augment;
};

Data load_data(const DataConfig& cfg, uint64_t seed);

// The per-sample input shape of the experiment's data: known without reading the files for
// MNIST, Fashion-MNIST and CIFAR-10; read from them otherwise.
Shape sample_shape_of(const Experiment& e);

// Builds [model] layers for the given per-sample input shape; errors name the experiment file.
Model build_model_for(const Experiment& e, const Shape& input);

}  // namespace kiln
