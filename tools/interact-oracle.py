#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# tools/interact-oracle.py: what 5 corrections a region can do at most under the
# simulated user of `neuroseg interact-eval` (issue 15, docs/interactive.md "What 5 clicks
# can do at most").  Each next click goes where interact-eval puts it (the maximum of the
# distance transform of the current 3-D error); instead of the network, a perfect
# correction of one extent is applied:
#   slice:  the 2-D connected error component under the click on its axial slice
#   comp3d: the 3-D connected error component under the click
# Starts: the .nii.gz predictions under START_GLOB (by default the screening's `clip`
# fold predictions, which tools/interact-cv.sh starts from), scored against the shared
# cases' truths.  Prints each case and the means after 0..5 clicks; writes OUT (JSON).
#
#   tools/interact-oracle.py [START_GLOB] [OUT]     (Debian python3-numpy, -scipy, -nibabel)
import glob, os, sys, json
import numpy as np, nibabel as nib
from scipy import ndimage as ndi
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data')
STARTS = sys.argv[1] if len(sys.argv) > 1 else '/work/q-runs/cv/clip/fold*/*.nii.gz'
OUT = sys.argv[2] if len(sys.argv) > 2 else 'interact-oracle.json'
def truth_of(name):
    for p in glob.glob(f'{D}/*/{name}/*seg.nii.gz') + glob.glob(f'{D}/*/{name}/OTMultiClass.nii.gz'):
        return p
def regions(lab):
    return {'WT': lab > 0, 'TC': (lab == 1) | (lab == 3) | (lab == 4), 'ET': lab == 4}
def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * (a & b).sum() / s
out = {}
for p in sorted(glob.glob(STARTS)):
    name = os.path.basename(p)[:-7]
    S = regions(np.asarray(nib.load(p).dataobj).astype(np.int16))
    T = regions(np.asarray(nib.load(truth_of(name)).dataobj).astype(np.int16))
    res = {}
    for r in ('WT', 'TC', 'ET'):
        for mode in ('slice', 'comp3d'):
            s = S[r].copy(); t = T[r]; ds = [dice(s, t)]
            for k in range(5):
                e = s ^ t
                if not e.any():
                    ds.append(ds[-1]); continue
                dt = ndi.distance_transform_edt(np.pad(e, 1))[1:-1, 1:-1, 1:-1]
                c = np.unravel_index(np.argmax(dt), e.shape)
                if mode == 'comp3d':
                    lab, _ = ndi.label(e)
                    fix = lab == lab[c]
                else:
                    lab, _ = ndi.label(e[:, :, c[2]])
                    fix = np.zeros_like(e); fix[:, :, c[2]] = lab == lab[c[0], c[1]]
                s = np.where(fix, t, s)
                ds.append(dice(s, t))
            res[f'{r}/{mode}'] = ds
    out[name] = res
    print(name, ' '.join(f"{k} {v[0]:.3f}->{v[5]:.3f}" for k, v in res.items()), flush=True)
json.dump(out, open(OUT, 'w'), indent=1)
import statistics as st
for k in next(iter(out.values())):
    print(k, ' '.join(f'{st.mean(o[k][i] for o in out.values()):.3f}' for i in range(6)))
