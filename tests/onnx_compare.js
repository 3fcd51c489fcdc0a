// Runs an ONNX file in onnxruntime (npm's onnxruntime-node) on an input written by kiln's
// test and compares with kiln's logits. Usage: node onnx_compare.js MODEL.onnx DIR
// (DIR holds input.f32, its shape in shape.txt, and kiln's logits in logits.f32).
// Prints the largest absolute difference; exits 1 when it is above 1e-5 (relative to the
// largest logit, at least 1).
const fs = require('fs');
const ort = require('onnxruntime-node');
(async () => {
  const [model, dir] = process.argv.slice(2);
  const read = (f) => { const b = fs.readFileSync(dir + '/' + f); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
  const dims = fs.readFileSync(dir + '/shape.txt', 'utf8').trim().split(/\s+/).map(Number);
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ input: new ort.Tensor('float32', read('input.f32'), dims) });
  const got = out.logits.data, want = read('logits.f32');
  if (got.length !== want.length) { console.log(`lengths differ: ${got.length} vs ${want.length}`); process.exit(1); }
  let diff = 0, scale = 1;
  for (let i = 0; i < got.length; ++i) { diff = Math.max(diff, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
  console.log(`max abs difference ${diff} over ${got.length} logits (scale ${scale})`);
  process.exit(diff <= 1e-5 * scale ? 0 : 1);
})().catch((e) => { console.log(String(e)); process.exit(2); });
