#include "model/build.h"

#include "layers/registry.h"

namespace kiln {

Model build_model(const Shape& input, const std::vector<std::string>& specs, uint64_t seed) {
  uint64_t stream = 0;
  return Model(input, build_layers(specs, input.batched(1), stream), seed);
}

Model load_model(const std::string& path) {
  BinReader r(path, "model file");
  std::string magic(8, '\0');
  for (char& c : magic) c = static_cast<char>(r.pod<uint8_t>());
  if (magic != "KILNWTS1" && magic != "KILNCKP1")
    r.fail("not a kiln weights file or checkpoint (the first 8 bytes are not KILNWTS1 or KILNCKP1)");
  const auto version = r.pod<uint32_t>();
  if (version < 1 || version > Model::kFormatVersion) r.fail("unsupported version " + std::to_string(version));
  const size_t body = r.position();
  const ModelHeader h = Model::read_header(r);
  Model m = [&] {
    try {
      return build_model(h.input, split_specs(h.architecture), 0);
    } catch (const Error& e) {
      r.fail(std::string("its architecture does not build: ") + e.what());
    }
  }();
  r.seek(body);  // the body again, now that the model exists
  m.read_tensors(r, version);
  if (magic == "KILNWTS1" && !r.at_end()) r.fail("trailing bytes after the last tensor");
  return m;
}

}  // namespace kiln
