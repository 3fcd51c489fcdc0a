#pragma once
// From an experiment to the objects a run needs: datasets (files read and recognised, sample
// limits and the validation split applied, normalisation fixed from the training set) and the
// model.
#include <string>

#include "config/experiment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "model/model.h"

namespace kiln {

struct Data {
  Dataset train, val, test;  // val is empty unless a validation fraction is set
  Normalization norm;
  Augment augment;
  std::string note;          // what a user should know about the files ("" when nothing)
};

// Reads both splits. Refuses a folder that holds another known dataset than the one named
// (Fashion-MNIST as "mnist"), a missing folder (saying where to get the files and which key
// to set), and test samples of another shape than the training ones. progress: a bar while an
// image folder is decoded (false: --no-progress).
Data load_data(const DataConfig& cfg, uint64_t seed, bool progress = true);

// The data-dependent initialisation of a model that wants it (a whiten layer): a seeded sample
// of up to 5,000 training images, normalised, not augmented (Model::init_from_data). Nothing
// for other models. Before the model moves to its device.
void init_model_from_data(Model& model, const Data& data, uint64_t seed);
// One split alone, sample limit applied (evaluating a saved model needs only the test set).
// classes: when given, the classes its labels must be among (a CSV split read for a model).
Dataset load_split(const DataConfig& cfg, bool train, bool progress = true, const std::vector<std::string>& classes = {});

// The per-sample input shape of the experiment's data: known without reading the files for
// MNIST, Fashion-MNIST and CIFAR-10; read from them otherwise.
Shape sample_shape_of(const Experiment& e);

// Builds [model] layers for the given per-sample input shape; errors name the experiment file.
Model build_model_for(const Experiment& e, const Shape& input);

// Refuses, before anything is allocated, a batch whose activations and their gradients would
// not fit this machine's memory, naming the largest layer and train.batch_size.
void check_memory(const Model& model, int64_t batch_size);

// The model's preprocessing from the data it is trained on, and back.
Preprocessing preprocessing_of(const Data& data, const DataConfig& cfg);
Normalization normalization_of(const Preprocessing& p);

}  // namespace kiln
