#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes DICOM MR series of known geometry for Neuroseg's DICOM tests (issue 18).

The voxels come from a crop of a BraTS case of ../shared (--case DIR), or from a seeded
synthetic head (--synthetic SEED) where ../shared is absent, so that CI without it still
tests everything.  A volume V[i, j, k] (i fastest, as in NIfTI) becomes slices k whose
pixel (row j, column i) is V[i, j, k]; slice k lies at origin + k * dz * n with
n = row x column direction.  The expected volume is therefore V itself, on the grid
[r * dx, c * dy, n * dz, origin] in LPS, written with --truth as NIfTI in RAS.

  make-series.py series OUT [--truth T.nii] [--geometry axial|sagittal|coronal|oblique|
                 ras-flipped|reversed] [--spacing DX,DY,DZ] [--slope S --intercept B]
                 [--shuffle] [--rle] [--compress jpeg|jpeg-ls] [--drop K]
                 [--tilt DEG [--tilt-tag]] [--rotate K] [--resize K] [--duplicate K]
                 [--frames K] [--dicomdir] [--lower-case] ...
  make-series.py study OUT TRUTH_DIR [--coarse PART] [--other-frame-t2] [--twin-flair]
                 [--plain-descriptions]
  make-series.py check-seg SEG SERIES_DIR LABELS.nii   (pydicom reads a DICOM-SEG back)
  make-series.py batch JOBS   (one of the above per line, arguments separated by tabs)

Values stored are integers (int16 unless --uint16); with --slope/--intercept the stored
integers are V and the expected volume is V * slope + intercept.  Decimal strings (DS) are
written with pydicom's format_number_as_ds and the expected affine is built from the
values as written, so that rounding in the file is part of the truth.
"""
import argparse
import os
import random
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid
from pydicom.valuerep import format_number_as_ds

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
ROOT = "1.2.826.0.1.3680043.10.1273."  # test-only UIDs, made unique by generate_uid


def ds_num(x):
    return format_number_as_ds(float(x))


def as_written(x):
    return float(ds_num(x))


def rotation(ax, ay, az):
    """Rz(az) Ry(ay) Rx(ax), angles in degrees."""
    a, b, c = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


GEOMETRIES = {
    # row direction r, column direction c (LPS)
    "axial": ((1, 0, 0), (0, 1, 0)),
    "sagittal": ((0, 1, 0), (0, 0, -1)),
    "coronal": ((1, 0, 0), (0, 0, -1)),
    "ras-flipped": ((-1, 0, 0), (0, -1, 0)),
    "reversed": ((1, 0, 0), (0, -1, 0)),  # normal -z: slices go down
}


def directions(name):
    if name == "oblique":
        m = rotation(20.0, -7.0, 12.0)
        return m[:, 0], m[:, 1]
    r, c = GEOMETRIES[name]
    return np.array(r, float), np.array(c, float)


# ---- volumes ---------------------------------------------------------------------------------

def find_part(case_dir, part):
    for name in sorted(os.listdir(case_dir)):
        low = name.lower()
        if low.endswith((".nii", ".nii.gz")):
            stem = low.split(".nii")[0]
            words = stem.replace("-", "_").split("_")
            if part in words:
                return os.path.join(case_dir, name)
    raise SystemExit("%s: no %s file" % (case_dir, part))


def crop_box(case_dir, size):
    """A box of size around the tumour's centre (the volume's centre without labels)."""
    seg = nib.load(find_part(case_dir, "seg")).get_fdata()
    shape = np.array(seg.shape)
    idx = np.argwhere(seg > 0)
    centre = idx.mean(axis=0).round().astype(int) if len(idx) else shape // 2
    lo = np.clip(centre - np.array(size) // 2, 0, shape - np.array(size))
    return tuple(slice(int(a), int(a) + int(n)) for a, n in zip(lo, size))


def case_volume(case_dir, part, size):
    box = crop_box(case_dir, size)
    data = np.asanyarray(nib.load(find_part(case_dir, part)).dataobj)[box]
    return np.rint(data).astype(np.int32)


def synthetic_volume(seed, size, part):
    """A head-like phantom: an ellipsoid of tissue with texture, a 'tumour' that differs
    by sequence, and background 0; integers in 0..2000."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = size
    x, y, z = np.meshgrid(np.linspace(-1, 1, nx), np.linspace(-1, 1, ny),
                          np.linspace(-1, 1, nz), indexing="ij")
    head = (x / 0.9) ** 2 + (y / 0.85) ** 2 + (z / 0.95) ** 2 < 1.0
    tumour = (x - 0.2) ** 2 + (y + 0.1) ** 2 + z ** 2 < 0.12
    core = (x - 0.2) ** 2 + (y + 0.1) ** 2 + z ** 2 < 0.04
    base = {"flair": 600, "t1": 800, "t1ce": 820, "t2": 700}[part]
    lesion = {"flair": 1500, "t1": 500, "t1ce": 1700, "t2": 1600}[part]
    v = np.where(head, base + 40 * np.sin(7 * x + 3 * y) + rng.integers(0, 60, size), 0)
    v = np.where(tumour, lesion + rng.integers(0, 80, size), v)
    v = np.where(core, lesion // 2, v)
    return np.rint(v).astype(np.int32)


def synthetic_labels(size):
    nx, ny, nz = size
    x, y, z = np.meshgrid(np.linspace(-1, 1, nx), np.linspace(-1, 1, ny),
                          np.linspace(-1, 1, nz), indexing="ij")
    r2 = (x - 0.2) ** 2 + (y + 0.1) ** 2 + z ** 2
    return np.select([r2 < 0.04, r2 < 0.08, r2 < 0.12], [1, 4, 2], 0).astype(np.uint8)


def source_volume(args, part):
    size = tuple(int(v) for v in args.size.split(","))
    if args.case:
        return case_volume(args.case, part, size)
    return synthetic_volume(args.synthetic, size, part)


# ---- writing ---------------------------------------------------------------------------------

class Series:
    def __init__(self, **kw):
        self.geometry = "axial"
        self.spacing = (1.0, 1.0, 1.0)
        self.origin = (-40.25, -52.5, 18.75)
        self.slope = None
        self.intercept = None
        self.thickness = None
        self.description = "AX T2 FLAIR"
        self.number = 3
        self.study_uid = None
        self.frame_uid = None
        self.scanning = "IR"
        self.tr, self.te, self.ti = 9000.0, 120.0, 2500.0
        self.agent = None
        self.uint16 = False
        self.rle = False
        self.compress = None
        self.shuffle = False
        self.drop = None
        self.tilt = None
        self.tilt_tag = False
        self.rotate = None
        self.resize = None
        self.duplicate = None
        self.frames = None
        self.seed = 7
        self.__dict__.update({k: v for k, v in kw.items() if v is not None})


def new_meta(sop_uid, syntax):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = MR_STORAGE
    fm.MediaStorageSOPInstanceUID = sop_uid
    fm.TransferSyntaxUID = syntax
    fm.ImplementationClassUID = ROOT + "1"
    return fm


def slice_dataset(s, study_uid, series_uid, frame_uid, k, pixels, ipp, iop, spacing):
    sop_uid = generate_uid(prefix=ROOT)
    ds = FileDataset(None, {}, file_meta=new_meta(sop_uid, ExplicitVRLittleEndian),
                     preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MR_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240315"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
    ds.AccessionNumber = "A0001"
    ds.Modality = "MR"
    ds.Manufacturer = "Neuroseg test generator"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Brain tumour"
    ds.SeriesDescription = s.description
    ds.PatientName = "Test^Dicom"
    ds.PatientID = "NS0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.PatientPosition = "HFS"
    ds.ScanningSequence = s.scanning
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.SliceThickness = ds_num(s.thickness if s.thickness is not None else 1.0)
    ds.RepetitionTime = ds_num(s.tr)
    ds.EchoTime = ds_num(s.te)
    if s.ti:
        ds.InversionTime = ds_num(s.ti)
    ds.EchoTrainLength = 1
    ds.MagneticFieldStrength = "3"
    if s.agent:
        ds.ContrastBolusAgent = s.agent
    if s.tilt is not None and s.tilt_tag:
        ds.GantryDetectorTilt = ds_num(s.tilt)
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = s.number
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [ds_num(v) for v in ipp]
    ds.ImageOrientationPatient = [ds_num(v) for v in iop]
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = [ds_num(spacing[1]), ds_num(spacing[0])]  # between rows, columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0 if s.uint16 else 1
    if s.slope is not None:
        ds.RescaleSlope = ds_num(s.slope)
        ds.RescaleIntercept = ds_num(s.intercept or 0.0)
        ds.RescaleType = "US"
    arr = pixels.astype("<u2" if s.uint16 else "<i2")
    ds.PixelData = arr.tobytes()
    if s.frames is not None and k == s.frames:
        ds.NumberOfFrames = 2
        ds.PixelData = np.concatenate([arr, arr]).tobytes()
    if s.rle:
        ds.compress(RLELossless, arr)
    return ds


def write_series(s, volume, out_dir, truth=None, study_uid=None, frame_uid=None,
                 series_uid=None):
    """Writes volume (V[i, j, k]) as the series s into out_dir; returns the LPS affine."""
    os.makedirs(out_dir, exist_ok=True)
    study_uid = study_uid or s.study_uid or generate_uid(prefix=ROOT)
    frame_uid = frame_uid or s.frame_uid or generate_uid(prefix=ROOT)
    series_uid = series_uid or generate_uid(prefix=ROOT)
    r, c = directions(s.geometry)
    iop = [as_written(v) for v in list(r) + list(c)]
    r, c = np.array(iop[:3]), np.array(iop[3:])
    n = np.cross(r, c)
    dx, dy, dz = (as_written(v) for v in s.spacing)
    origin = np.array([as_written(v) for v in s.origin])
    nz = volume.shape[2]
    rng = random.Random(s.seed)

    order = list(range(nz))
    numbers = list(range(nz))
    if s.shuffle:
        rng.shuffle(numbers)  # instance numbers that say nothing about position
    files = []
    for k in order:
        if s.drop is not None and k == s.drop:
            continue
        ipp = origin + k * dz * n
        if s.tilt is not None:
            ipp = ipp + k * np.tan(np.radians(s.tilt)) * dz * c  # sheared: a gantry tilt
        slice_iop = iop
        if s.rotate is not None and k == s.rotate:
            m = rotation(0.0, 0.0, 30.0)
            slice_iop = [as_written(v) for v in list(m @ r) + list(m @ c)]
        pixels = volume[:, :, k].T  # rows j, columns i
        if s.resize is not None and k == s.resize:
            pixels = pixels[:-2, :]
        ds = slice_dataset(s, study_uid, series_uid, frame_uid, numbers[k], pixels,
                           [as_written(v) for v in ipp], slice_iop, (dx, dy, dz))
        if s.duplicate is not None and k == s.duplicate + 1:
            prev = origin + (k - 1) * dz * n
            ds.ImagePositionPatient = [ds_num(as_written(v)) for v in prev]
        name = ("%08x.dcm" % rng.getrandbits(32)) if s.shuffle else "IM%04d.dcm" % (k + 1)
        path = os.path.join(out_dir, name)
        ds.save_as(path, write_like_original=False)
        if s.compress:
            # DCMTK's own encoders (Debian dcmtk): JPEG lossless (process 14, SV1), JPEG-LS.
            tool = {"jpeg": "dcmcjpeg", "jpeg-ls": "dcmcjpls"}[s.compress]
            subprocess.run([tool, path, path + ".tmp"], check=True)
            os.replace(path + ".tmp", path)
        files.append(path)

    lps = np.eye(4)
    lps[:3, 0] = r * dx
    lps[:3, 1] = c * dy
    lps[:3, 2] = n * dz
    lps[:3, 3] = origin
    if truth:
        expected = volume.astype(np.float64)
        if s.slope is not None:
            expected = expected * as_written(s.slope) + as_written(s.intercept or 0.0)
        write_truth(truth, expected.astype(np.float32), lps)
    return lps, files, study_uid, frame_uid


def write_truth(path, data, lps):
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    img = nib.Nifti1Image(data, ras)
    img.set_sform(ras, code=1)
    img.set_qform(ras, code=1)
    nib.save(img, path)


def make_dicomdir(src_files, out_dir, lower_case):
    from pydicom.fileset import FileSet
    fs = FileSet()
    for f in src_files:
        fs.add(f)
    fs.write(out_dir)
    if lower_case:
        for root, dirs, files in os.walk(out_dir, topdown=False):
            for name in files + dirs:
                if name != "DICOMDIR":
                    os.rename(os.path.join(root, name), os.path.join(root, name.lower()))


# ---- commands --------------------------------------------------------------------------------

def cmd_series(args):
    vol = source_volume(args, args.part)
    spacing = tuple(float(v) for v in args.spacing.split(","))
    s = Series(geometry=args.geometry, spacing=spacing, slope=args.slope,
               intercept=args.intercept, thickness=args.thickness, shuffle=args.shuffle,
               rle=args.rle, drop=args.drop, tilt=args.tilt, tilt_tag=args.tilt_tag,
               rotate=args.rotate,
               resize=args.resize, duplicate=args.duplicate, frames=args.frames,
               uint16=args.uint16, description=args.description, compress=args.compress)
    if args.dicomdir:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            _, files, _, _ = write_series(s, vol, tmp, args.truth)
            make_dicomdir(files, args.out, args.lower_case)
    else:
        write_series(s, vol, args.out, args.truth)


def cmd_study(args):
    """Four sequences (and a three-plane localizer) of one study, one folder each."""
    os.makedirs(args.truth_dir, exist_ok=True)
    study_uid = generate_uid(prefix=ROOT)
    frame_uid = generate_uid(prefix=ROOT)
    seqs = [
        ("flair", "AX T2 FLAIR", 3, "IR", 9000.0, 120.0, 2500.0, None),
        ("t1", "AX T1 SE pre", 4, "SE", 500.0, 12.0, None, None),
        ("t1ce", "AX T1 SE post", 5, "SE", 500.0, 12.0, None, "GADOBUTROL"),
        ("t2", "AX T2 TSE", 6, "SE", 4000.0, 100.0, None, None),
    ]
    if args.twin_flair:
        seqs.append(("flair", "COR T2 FLAIR 3D", 7, "IR", 9000.0, 120.0, 2500.0, None))
    for part, desc, number, scanning, tr, te, ti, agent in seqs:
        vol = source_volume(args, part)
        spacing = (1.0, 1.0, 1.0)
        folder = part if number != 7 else "flair2"
        frame = frame_uid
        if part in (args.coarse or []) or (part == "t2" and args.other_frame_t2):
            vol = vol[::2, ::2, :]  # voxel (i, j, k) is where the fine (2i, 2j, k) is
            spacing = (2.0, 2.0, 1.0)
        if part == "t2" and args.other_frame_t2:
            frame = generate_uid(prefix=ROOT)
        if args.plain_descriptions:
            desc, scanning, ti, agent = "Series %d" % number, "GR", 0.0, ""
        s = Series(description=desc, number=number, scanning=scanning, tr=tr, te=te, ti=ti,
                   agent=agent, spacing=spacing, seed=number)
        write_series(s, vol, os.path.join(args.out, folder),
                     os.path.join(args.truth_dir, folder + ".nii"), study_uid, frame)
    # A localizer: three slices in three orientations (not a volume).
    loc = os.path.join(args.out, "loc")
    os.makedirs(loc, exist_ok=True)
    small = np.zeros((16, 16, 1), np.int32) + 100
    loc_uid = generate_uid(prefix=ROOT)
    for i, geom in enumerate(("axial", "sagittal", "coronal")):
        s = Series(description="3-plane localizer", number=1, geometry=geom, scanning="GR",
                   tr=8.0, te=4.0, ti=0.0, seed=i)
        write_series(s, small, os.path.join(loc, geom), None, study_uid, frame_uid, loc_uid)
    # The truth label map on the FLAIR's grid.
    size = tuple(int(v) for v in args.size.split(","))
    if args.case:
        box = crop_box(args.case, size)
        labels = np.rint(np.asanyarray(nib.load(find_part(args.case, "seg")).dataobj)[box])
    else:
        labels = synthetic_labels(size)
    flair = nib.load(os.path.join(args.truth_dir, "flair.nii"))
    img = nib.Nifti1Image(labels.astype(np.uint8), flair.affine)
    img.set_sform(flair.affine, code=1)
    img.set_qform(flair.affine, code=1)
    nib.save(img, os.path.join(args.truth_dir, "seg.nii"))


def cmd_check_seg(args):
    """Reads a DICOM-SEG with pydicom alone and rebuilds the label map on the source
    series' grid; prints one line per segment; exits 1 on any disagreement."""
    seg = pydicom.dcmread(args.seg)
    assert seg.SOPClassUID == SEG_STORAGE, seg.SOPClassUID
    assert seg.SegmentationType == "BINARY", seg.SegmentationType
    assert seg.BitsAllocated == 1
    sources = {}
    for name in os.listdir(args.series):
        ds = pydicom.dcmread(os.path.join(args.series, name), stop_before_pixels=True)
        sources[ds.SOPInstanceUID] = ds
    any_src = next(iter(sources.values()))
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == any_src.SeriesInstanceUID, "wrong referenced series"
    assert set(i.ReferencedSOPInstanceUID for i in ref.ReferencedInstanceSequence) \
        == set(sources), "referenced instances"
    assert seg.FrameOfReferenceUID == any_src.FrameOfReferenceUID
    assert seg.StudyInstanceUID == any_src.StudyInstanceUID
    assert seg.PatientID == any_src.PatientID

    truth = nib.load(args.labels)
    want = np.asanyarray(truth.dataobj).astype(np.uint8)
    nx, ny, nz = want.shape
    assert (seg.Rows, seg.Columns) == (ny, nx), (seg.Rows, seg.Columns)
    lps_to_vox = np.linalg.inv(truth.affine) @ np.diag([-1.0, -1.0, 1.0, 1.0])
    values = {}
    for item in seg.SegmentSequence:
        desc = str(item.get("SegmentDescription", ""))
        value = int(desc.rsplit("(label ", 1)[1].rstrip(")"))
        lab = [int(v) for v in item.RecommendedDisplayCIELabValue]
        code = item.SegmentedPropertyTypeCodeSequence[0]
        cat = item.SegmentedPropertyCategoryCodeSequence[0]
        values[int(item.SegmentNumber)] = value
        print("segment %d label %d %s: %s %s:%s \"%s\", category %s:%s, CIELab %s, %s" % (
            item.SegmentNumber, value, item.SegmentLabel, desc, code.CodingSchemeDesignator,
            code.CodeValue, code.CodeMeaning, cat.CodingSchemeDesignator, cat.CodeValue, lab,
            item.SegmentAlgorithmType))
    frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)
    got = np.zeros_like(want)
    shared = seg.SharedFunctionalGroupsSequence[0]
    iop = [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
    assert np.allclose(iop, [float(v) for v in any_src.ImageOrientationPatient], atol=1e-6)
    for f, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
        number = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        ipp = [float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient]
        src_uid = fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        src = sources[src_uid]
        assert np.allclose(ipp, [float(v) for v in src.ImagePositionPatient], atol=1e-6), \
            "frame %d is not at its source image's position" % (f + 1)
        vox = lps_to_vox @ np.array(ipp + [1.0])
        k = int(round(vox[2]))
        assert abs(vox[0]) < 1e-3 and abs(vox[1]) < 1e-3 and abs(vox[2] - k) < 1e-3, vox
        mask = frames[f].T.astype(bool)  # (columns i, rows j)
        assert not (got[:, :, k][mask] != 0).any(), "overlapping segments"
        got[:, :, k][mask] = values[number]
    bad = np.argwhere(got != want)
    if len(bad):
        i, j, k = bad[0]
        print("mismatch at %d voxels; first (%d, %d, %d): got %d want %d" % (
            len(bad), i, j, k, got[i, j, k], want[i, j, k]))
        sys.exit(1)
    print("%d frames, %d segments, label map identical (%d voxels labelled)" % (
        len(frames), len(values), int((want > 0).sum())))


def cmd_batch(args):
    """One job per line of a file (arguments separated by tabs), in one process: the
    tests make all their series at once instead of paying Python's start each time."""
    parser = make_parser()
    with open(args.jobs) as f:
        for line in f:
            argv = [a for a in line.rstrip("\n").split("\t") if a]
            if argv:
                job = parser.parse_args(argv)
                job.func(job)


def make_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def volume_args(q):
        g = q.add_mutually_exclusive_group(required=True)
        g.add_argument("--case", help="a BraTS 2018 case folder of ../shared/data")
        g.add_argument("--synthetic", type=int, metavar="SEED")
        q.add_argument("--size", default="40,36,20", help="NX,NY,NZ of the crop")

    q = sub.add_parser("series")
    q.add_argument("out")
    volume_args(q)
    q.add_argument("--part", default="flair")
    q.add_argument("--truth")
    q.add_argument("--geometry", default="axial",
                   choices=sorted(GEOMETRIES) + ["oblique"])
    q.add_argument("--spacing", default="0.9,1.1,2.5")
    q.add_argument("--thickness", type=float, default=1.0,
                   help="Slice Thickness, deliberately not the spacing")
    q.add_argument("--slope", type=float)
    q.add_argument("--intercept", type=float)
    q.add_argument("--uint16", action="store_true")
    q.add_argument("--compress", choices=("jpeg", "jpeg-ls"),
                   help="compress each file with DCMTK's dcmcjpeg or dcmcjpls (lossless)")
    q.add_argument("--description")
    for flag in ("shuffle", "rle", "dicomdir", "lower-case", "tilt-tag"):
        q.add_argument("--" + flag, action="store_true")
    q.add_argument("--tilt", type=float, metavar="DEG", help="shear the stack like a gantry "
                   "tilt (and with --tilt-tag say so in Gantry/Detector Tilt)")
    for flag in ("drop", "rotate", "resize", "duplicate", "frames"):
        q.add_argument("--" + flag, type=int, metavar="K")
    q.set_defaults(func=cmd_series)

    q = sub.add_parser("study")
    q.add_argument("out")
    q.add_argument("truth_dir")
    volume_args(q)
    q.add_argument("--coarse", action="append", choices=("flair", "t1", "t1ce", "t2"),
                   help="this sequence at 2 x 2 x 1 mm (every other voxel in-plane)")
    q.add_argument("--other-frame-t2", action="store_true")
    q.add_argument("--plain-descriptions", action="store_true",
                   help="descriptions and parameters that name no sequence")
    q.add_argument("--twin-flair", action="store_true")
    q.set_defaults(func=cmd_study)

    q = sub.add_parser("check-seg")
    q.add_argument("seg")
    q.add_argument("series")
    q.add_argument("labels")
    q.set_defaults(func=cmd_check_seg)

    q = sub.add_parser("batch")
    q.add_argument("jobs", help="a file of jobs, one per line, arguments separated by tabs")
    q.set_defaults(func=cmd_batch)
    return p


def main():
    args = make_parser().parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
