// SPDX-License-Identifier: MIT
//
// tools/bench/ort-run.mjs: ONNX Runtime (onnxruntime-node, CPU execution provider) on
// the shape of a Neuroseg whole-volume pass: SLICES slices in batches of BATCH, each
// C x H x W, with THREADS intra-op threads; prints one JSON line with the median seconds
// of RUNS runs after one warm-up (the network only: the input is made once, as
// `neuroseg bench --net` counts upload, network and download).  Run by tools/bench/ort.sh.
//
//   node ort-run.mjs MODEL.onnx SLICES BATCH C H W THREADS RUNS
import { createRequire } from "module";
const require = createRequire(import.meta.url);
const ort = require(process.env.ORT_MODULE || "onnxruntime-node");

const [model, slices, batch, c, h, w, threads, runs] = process.argv.slice(2);
const n = Number(slices), b = Number(batch), C = Number(c), H = Number(h), W = Number(w);
const session = await ort.InferenceSession.create(model, {
  executionProviders: ["cpu"],
  intraOpNumThreads: Number(threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const data = new Float32Array(b * C * H * W);
for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.001);
const input = new ort.Tensor("float32", data, [b, C, H, W]);

async function volume() {
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < n; done += b) await session.run({ input });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
await volume();
const times = [];
for (let r = 0; r < Number(runs); r++) times.push(await volume());
times.sort((x, y) => x - y);
console.log(JSON.stringify({ ort_version: ort.env.versions ? ort.env.versions.common : null,
                             seconds: times[Math.floor(times.length / 2)], runs: times,
                             batches: Math.ceil(n / b), batch: b, shape: [C, H, W],
                             threads: Number(threads) }));
