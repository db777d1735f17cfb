#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pytorch_reference.py: Neuroseg's MobileNetV2-U-Net in PyTorch, side by side with ours.

The network is net/README.md's: torchvision's MobileNetV2 features (first convolution
2 -> 32 channels) as the encoder with skips after features.1, .3, .6 and .13, a five-block
decoder (nearest x2 upsample, concatenate [upsampled, skip], two 3x3 conv + BN + ReLU;
256, 128, 64, 32, 16 channels) and a 3x3 head to 4 classes, with smp's tensor names, so
that our safetensors checkpoints load as they are (read with a small numpy reader: F32,
BF16 and F16).

What it does (python3 pytorch_reference.py --help):
  --write-model M   writes a seeded random model as a Neuroseg checkpoint (Kaiming weights,
                    random batch-norm statistics) and exits: for runs without a shipped model.
  --model M         loads a checkpoint; then
  --case DIR --labels L.nii.gz
                    checks our labels: runs Neuroseg's inference pipeline (z-score inside
                    the brain, brain bounding box padded to 32 and centred, brain slices,
                    argmax, BraTS label values, background outside the brain) in fp32 and
                    counts agreeing brain voxels with the label map `neuroseg segment` wrote;
  timing            with CUDA events after warm-up, the median of --runs (>= 10): a whole
                    volume (155 slices of 2 x 256 x 256) in fp32 and bf16 channels-last,
                    one slice (bf16), and training slices/s at batch 32 (bf16 autocast,
                    fp32 master weights, Adam, the same CE + Dice loss as ours).
  --json            prints one JSON object with every number (gpu-run.sh reads it).
  --export-onnx OUT.onnx --model M
                    the network as ONNX for tools/bench/ort.sh (ONNX Runtime side by side);
  --golden INPUT.f32 N,C,H,W OUT.f32 --model M
                    fp32 logits on the CPU of a raw input (tests/golden/net/, the golden test
                    of the whole network, test-net-golden).
The model's input channels and outputs come from its metadata (modalities, context,
regions).
"""
import argparse
import gzip
import json
import struct
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    sys.exit(f"pytorch_reference.py: PyTorch is needed: {e}")

LABEL_VALUES = [0, 1, 2, 4]
SKIPS = (1, 3, 6, 13)


# ---- the network --------------------------------------------------------------------------

def mobilenet_v2_features(in_channels):
    """torchvision's MobileNetV2().features with the first conv taking in_channels; an
    equivalent module tree (same names) when torchvision is missing."""
    try:
        import torchvision
        feats = torchvision.models.mobilenet_v2(weights=None).features
        feats[0][0] = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        return feats
    except ImportError:
        pass

    def cbr(cin, cout, k, s, groups=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hidden = cin * t
            self.use_res = s == 1 and cin == cout
            layers = [] if t == 1 else [cbr(cin, hidden, 1, 1)]
            layers += [cbr(hidden, hidden, 3, s, groups=hidden),
                       nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    layers = [cbr(in_channels, 32, 3, 2)]
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(cbr(320, 1280, 1, 1))
    return nn.Sequential(*layers)


class DecoderBlock(nn.Module):
    def __init__(self, cin, skip, cout):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(cin + skip, cout, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x, skip):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class MobileNetV2UNet(nn.Module):
    def __init__(self, in_channels=2, classes=4):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.features = mobilenet_v2_features(in_channels)
        self.decoder = nn.Module()
        ins, skips, outs = [1280, 256, 128, 64, 32], [96, 32, 24, 16, 0], [256, 128, 64, 32, 16]
        self.decoder.blocks = nn.ModuleList(DecoderBlock(i, s, o)
                                            for i, s, o in zip(ins, skips, outs))
        self.segmentation_head = nn.Sequential(nn.Conv2d(16, classes, 3, padding=1))

    def forward(self, x):
        feats = []
        for i, layer in enumerate(self.encoder.features):
            x = layer(x)
            if i in SKIPS:
                feats.append(x)
        for block, skip in zip(self.decoder.blocks, feats[::-1] + [None]):
            x = block(x, skip)
        return self.segmentation_head(x)


# ---- safetensors ----------------------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = np.frombuffer(body[b:e], dtype={"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[info["dtype"]])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = torch.from_numpy(raw.astype(np.float32).reshape(info["shape"]))
    return tensors, header.get("__metadata__", {})


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        a = t.detach().float().cpu().numpy().astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def neuroseg_state(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def write_random_model(path, seed):
    torch.manual_seed(seed)
    model = MobileNetV2UNet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    meta = {
        "format": "neuroseg-model",
        "format_version": "1",
        "arch": "mobilenetv2-unet",
        "modalities": json.dumps(["flair", "t1c"]),
        "classes": json.dumps([{"value": 0, "name": "background", "colour": "#000000"},
                               {"value": 1, "name": "NCR/NET", "colour": "#ff0000"},
                               {"value": 2, "name": "edema", "colour": "#00ff00"},
                               {"value": 4, "name": "enhancing", "colour": "#ffff00"}]),
        "normalisation": "zscore-brain",
        "provenance": json.dumps({"name": f"random (pytorch_reference.py, seed {seed})"}),
    }
    write_safetensors(path, neuroseg_state(model), meta)


def model_shape(metadata):
    """(input channels, outputs) of a Neuroseg model from its metadata (net/README.md):
    modalities x (2 context + 1) in, one output per region or per class."""
    n_in = len(json.loads(metadata.get("modalities", '["flair", "t1c"]')))
    context = int(metadata.get("context", "0"))
    regions = json.loads(metadata.get("regions", "[]"))
    classes = json.loads(metadata.get("classes", "[1, 2, 3, 4]"))
    return n_in * (2 * context + 1), len(regions) if regions else len(classes)


def load_model(path):
    tensors, metadata = read_safetensors(path)
    in_channels, outputs = model_shape(metadata)
    model = MobileNetV2UNet(in_channels, outputs)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{path}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


# ---- NIfTI (just what BraTS files and our label maps need) ----------------------------------

NIFTI_DTYPES = {2: "u1", 4: "<i2", 8: "<i4", 16: "<f4", 64: "<f8", 256: "i1", 512: "<u2",
                768: "<u4"}


def read_nifti(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    dims = struct.unpack("<8h", raw[40:56])
    dtype = struct.unpack("<h", raw[70:72])[0]
    vox_offset = int(struct.unpack("<f", raw[108:112])[0])
    slope, inter = struct.unpack("<2f", raw[112:120])
    nx, ny, nz = dims[1], dims[2], dims[3]
    a = np.frombuffer(raw, dtype=NIFTI_DTYPES[dtype], count=nx * ny * nz, offset=vox_offset)
    a = a.reshape(nz, ny, nx).astype(np.float32)   # (k, j, i), i fastest
    if slope not in (0.0, 1.0) or inter != 0.0:
        a = a * (slope if slope != 0.0 else 1.0) + inter
    return a


def case_file(case_dir, suffix):
    import glob
    import os
    hits = sorted(glob.glob(os.path.join(case_dir, f"*_{suffix}.nii*")))
    if not hits:
        sys.exit(f"{case_dir}: no *_{suffix}.nii[.gz]")
    return hits[0]


def zscore_brain(vol):
    """ns_normalize_zscore: background = most common border value (smallest on a tie)."""
    border = np.concatenate([vol[0].ravel(), vol[-1].ravel(), vol[:, 0].ravel(),
                             vol[:, -1].ravel(), vol[:, :, 0].ravel(), vol[:, :, -1].ravel()])
    values, counts = np.unique(border, return_counts=True)
    bg = values[np.argmax(counts)]
    mask = vol != bg
    x = vol[mask].astype(np.float64)
    mean, sd = x.mean(), x.std()
    out = np.zeros_like(vol, dtype=np.float32)
    out[mask] = ((x - mean) / sd if sd > 0 else x - mean).astype(np.float32)
    return out, mask


def segment_like_neuroseg(model, case_dir, device):
    """ns_infer_run(): returns (labels (k, j, i) uint8, brain mask, slices, (H, W))."""
    vols, masks = zip(*(zscore_brain(read_nifti(case_file(case_dir, m))) for m in ("flair", "t1ce")))
    brain = masks[0] | masks[1]
    nz, ny, nx = brain.shape
    ks = [k for k in range(nz) if brain[k].any()]
    jj, ii = np.nonzero(brain.any(axis=0))
    i0, i1, j0, j1 = ii.min(), ii.max(), jj.min(), jj.max()
    bw, bh = i1 - i0 + 1, j1 - j0 + 1
    W, H = (bw + 31) // 32 * 32, (bh + 31) // 32 * 32
    ci0, cj0 = i0 - (W - bw) // 2, j0 - (H - bh) // 2
    batch = np.zeros((len(ks), 2, H, W), np.float32)
    ys, xs = slice(max(0, -cj0), min(H, ny - cj0)), slice(max(0, -ci0), min(W, nx - ci0))
    for s, k in enumerate(ks):
        for c in range(2):
            batch[s, c, ys, xs] = vols[c][k, cj0 + ys.start:cj0 + ys.stop, ci0 + xs.start:ci0 + xs.stop]
    preds = []
    with torch.inference_mode():
        for s in range(0, len(ks), 16):
            x = torch.from_numpy(batch[s:s + 16]).to(device)
            preds.append(model(x).argmax(1).to(torch.uint8).cpu().numpy())
    pred = np.concatenate(preds)
    labels = np.zeros(brain.shape, np.uint8)
    lut = np.array(LABEL_VALUES, np.uint8)
    for s, k in enumerate(ks):
        labels[k, cj0 + ys.start:cj0 + ys.stop, ci0 + xs.start:ci0 + xs.stop] = \
            lut[pred[s, ys, xs]]
    labels[~brain] = 0
    return labels, brain, len(ks), (H, W)


# ---- timing ----------------------------------------------------------------------------------

def cuda_median_ms(fn, runs, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def dice_ce_loss(logits, labels):
    """ns_softmax_dice_ce_forward: mean CE + 1 - mean over classes 1.. of soft Dice (eps 1)."""
    probs = logits.float().softmax(1)
    ce = F.cross_entropy(logits.float(), labels)
    onehot = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum((0, 2, 3))[1:]
    sums = probs.sum((0, 2, 3))[1:] + onehot.sum((0, 2, 3))[1:]
    return ce + 1.0 - ((2.0 * inter + 1.0) / (sums + 1.0)).mean()


def time_inference(model, n, size, dtype, runs):
    m = model.to(memory_format=torch.channels_last, dtype=dtype).eval()
    x = torch.randn(n, 2, size, size, device="cuda", dtype=dtype).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        return cuda_median_ms(lambda: m(x), runs)


def time_training(model, batch, size, runs):
    m = model.float().to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    x = torch.randn(batch, 2, size, size, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 4, (batch, size, size), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = m(x)
        dice_ce_loss(logits, y).backward()
        opt.step()

    ms = cuda_median_ms(step, runs)
    return batch / (ms / 1000.0), ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-model", metavar="M")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--model", metavar="M")
    ap.add_argument("--case", metavar="DIR")
    ap.add_argument("--labels", metavar="L.nii.gz", help="our label map of --case")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--train-batch", type=int, default=32)
    ap.add_argument("--train-size", type=int, default=224)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--export-onnx", metavar="OUT.onnx",
                    help="with --model: write the network as ONNX (opset 13, dynamic batch) "
                         "for --height x --width inputs, then exit")
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--golden", nargs=3, metavar=("INPUT.f32", "N,C,H,W", "OUT.f32"),
                    help="with --model: the logits of a raw little-endian float32 NCHW input, "
                         "fp32 on the CPU, written as raw float32 (tests/golden/net/)")
    a = ap.parse_args()

    if a.write_model:
        write_random_model(a.write_model, a.seed)
        print(f"wrote {a.write_model}", file=sys.stderr)
        return 0
    if a.export_onnx or a.golden:
        if not a.model:
            sys.exit("pytorch_reference.py: --export-onnx and --golden need --model")
        torch.set_num_threads(2)
        model = load_model(a.model).float().eval()
        if a.golden:
            shape = [int(v) for v in a.golden[1].split(",")]
            x = np.fromfile(a.golden[0], dtype="<f4").reshape(shape)
            with torch.no_grad():
                y = model(torch.from_numpy(x)).numpy().astype("<f4")
            y.tofile(a.golden[2])
            print(f"wrote {a.golden[2]}: logits {list(y.shape)}", file=sys.stderr)
        if a.export_onnx:
            c = model.encoder.features[0][0].in_channels
            x = torch.zeros(1, c, a.height, a.width)
            torch.onnx.export(model, x, a.export_onnx, opset_version=13, input_names=["input"],
                              output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            print(f"wrote {a.export_onnx}", file=sys.stderr)
        return 0
    if not torch.cuda.is_available():
        sys.exit("pytorch_reference.py: no CUDA device")
    torch.backends.cudnn.benchmark = True
    model = (load_model(a.model) if a.model else MobileNetV2UNet()).cuda()
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0),
           "cudnn": torch.backends.cudnn.version()}
    nparams = sum(p.numel() for p in model.parameters())
    out["parameters"] = nparams

    if a.case and a.labels:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        ref, brain, n_slices, hw = segment_like_neuroseg(model.float().eval(), a.case, "cuda")
        ours = read_nifti(a.labels).astype(np.uint8)
        agree = float((ours[brain] == ref[brain]).mean()) if ours.shape == ref.shape else 0.0
        out["check"] = {"labels_agree_brain": agree, "brain_voxels": int(brain.sum()),
                        "shape_ok": ours.shape == ref.shape, "slices": n_slices,
                        "crop": f"{hw[1]}x{hw[0]}"}
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True

    if not a.no_timing:
        runs = max(a.runs, 10)
        out["volume_fp32_ms"] = time_inference(model, 155, 256, torch.float32, runs)
        out["volume_bf16_ms"] = time_inference(model, 155, 256, torch.bfloat16, runs)
        out["slice_bf16_ms"] = time_inference(model, 1, 256, torch.bfloat16, runs)
        sps, ms = time_training(model, a.train_batch, a.train_size, runs)
        out["train_slices_per_s"] = sps
        out["train_step_ms"] = ms
        out["train_batch"], out["train_size"] = a.train_batch, a.train_size

    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
