#!/usr/bin/python3
"""Writes PNG and JPEG files of many kinds and sizes in torchvision's ImageFolder layout, and
what torchvision 0.14 makes of them, for tests/data/test_image_folder.cpp to compare
cim::data::read_image_folder against.

Usage: torchvision_reference.py OUT_DIR

OUT_DIR/same/   images of one size (13 x 9) in every PNG/JPEG flavour: ToTensor only
OUT_DIR/mixed/  images of many sizes (odd, non-square, smaller and larger than the crops)
For every setting S listed in OUT_DIR/settings.txt ("S FOLDER"):
  S.yaml  the --preprocess file ("" for none: then S.yaml is absent)
  S.f32   torchvision's tensors, float32, all samples stacked in ImageFolder order
  S.txt   line 1: the sample shape; line 2: the class names; then one line per sample:
          "LABEL KIND RELATIVE_PATH"
Needs python3-torchvision, python3-pil and python3-numpy (Debian's /usr/bin/python3).
"""
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms


def content(rng, h, w, c):
    """Smooth gradients plus noise: resizing has edges and texture to get wrong."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for k in range(c):
        base = 127 + 100 * np.sin((x * (k + 1) + y * (3 - k)) / max(3.0, (w + h) / 8))
        planes.append(base + rng.normal(0, 40, (h, w)))
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- a PNG writer of our own
# (PIL cannot write 16-bit colour, 2-bit gray, interlaced or short-palette PNGs)

def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _pack_rows(samples, bit_depth):
    """samples: (h, w, c) unsigned ints already in range; returns the raw bytes of each row."""
    h, w, c = samples.shape
    rows = []
    for r in range(h):
        flat = samples[r].reshape(-1)
        if bit_depth == 16:
            rows.append(flat.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(flat.astype(np.uint8).tobytes())
        else:
            per = 8 // bit_depth
            out = bytearray((len(flat) + per - 1) // per)
            for i, v in enumerate(flat):
                out[i // per] |= int(v) << (8 - bit_depth * (i % per + 1))
            rows.append(bytes(out))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, samples, bit_depth, color_type, palette=None, trns=None, interlace=False):
    h, w = samples.shape[:2]
    if samples.ndim == 2:
        samples = samples[:, :, None]
    raw = b""
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += b"".join(b"\0" + r for r in _pack_rows(sub, bit_depth))
    else:
        raw = b"".join(b"\0" + r for r in _pack_rows(samples, bit_depth))
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        data += _chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    data += _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- the file kinds

def make(kind, path, rng, w, h):
    """Writes one image of `kind`, w x h; returns the path written (extension per kind)."""
    rgb = content(rng, h, w, 3)
    gray = content(rng, h, w, 1)[:, :, 0]
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "png_rgb":
        Image.fromarray(rgb, "RGB").save(path + ".png")
    elif kind == "png_rgba":
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path + ".PNG")
    elif kind == "png_gray":
        Image.fromarray(gray, "L").save(path + ".png")
    elif kind == "png_gray_alpha":
        Image.fromarray(np.dstack([gray, alpha]), "LA").save(path + ".png")
    elif kind == "png_palette":
        Image.fromarray(rgb, "RGB").quantize(colors=200).save(path + ".png")
    elif kind == "png_palette4_trns":  # 4-bit indices, 12 colours, a tRNS chunk
        pal = rng.integers(0, 256, (12, 3))
        write_png(path + ".png", rng.integers(0, 12, (h, w)), 4, 3, pal, trns=bytes(range(0, 240, 20)))
    elif kind == "png_palette_short":  # indices past the PLTE entries (PIL: its gray ramp)
        pal = rng.integers(0, 256, (5, 3))
        write_png(path + ".png", rng.integers(0, 256, (h, w)), 8, 3, pal)
    elif kind == "png_1bit":
        Image.fromarray(gray > 127).save(path + ".png")
    elif kind == "png_gray2":
        write_png(path + ".png", rng.integers(0, 4, (h, w)), 2, 0)
    elif kind == "png_gray16":  # PIL mode "I": values clipped to 255, so keep many under 256
        write_png(path + ".png", rng.integers(0, 600, (h, w)), 16, 0)
    elif kind == "png_rgb16":
        write_png(path + ".png", rng.integers(0, 65536, (h, w, 3)), 16, 2)
    elif kind == "png_gray_alpha16":
        write_png(path + ".png", rng.integers(0, 65536, (h, w, 2)), 16, 4)
    elif kind == "png_rgba16":
        write_png(path + ".png", rng.integers(0, 65536, (h, w, 4)), 16, 6)
    elif kind == "png_interlaced":
        write_png(path + ".png", rgb, 8, 2, interlace=True)
    elif kind == "png_interlaced_gray4":
        write_png(path + ".png", rng.integers(0, 16, (h, w)), 4, 0, interlace=True)
    elif kind == "jpeg_420":
        Image.fromarray(rgb, "RGB").save(path + ".jpg", quality=90)
    elif kind == "jpeg_444":
        Image.fromarray(rgb, "RGB").save(path + ".jpeg", quality=95, subsampling=0)
    elif kind == "jpeg_422":
        Image.fromarray(rgb, "RGB").save(path + ".JPG", quality=75, subsampling=1)
    elif kind == "jpeg_gray":
        Image.fromarray(gray, "L").save(path + ".jpg", quality=85)
    elif kind == "jpeg_progressive":
        Image.fromarray(rgb, "RGB").save(path + ".jpg", quality=80, progressive=True)
    elif kind == "jpeg_cmyk":
        Image.fromarray(np.dstack([rgb, alpha]), "CMYK").save(path + ".jpg", quality=90)
    elif kind == "png_named_jpg":  # a PNG behind a .jpg name: formats go by the bytes
        Image.fromarray(rgb, "RGB").save(path + ".jpg", format="PNG")
    else:
        raise ValueError(kind)


SAME_KINDS = ["png_rgb", "png_rgba", "png_gray", "png_gray_alpha", "png_palette", "png_palette4_trns",
              "png_palette_short", "png_1bit", "png_gray2", "png_gray16", "png_rgb16", "png_gray_alpha16",
              "png_rgba16", "png_interlaced", "png_interlaced_gray4", "jpeg_420", "jpeg_444", "jpeg_422",
              "jpeg_gray", "jpeg_progressive", "jpeg_cmyk", "png_named_jpg"]
MIXED_KINDS = ["png_rgb", "jpeg_420", "png_gray", "jpeg_gray", "png_palette", "png_rgba", "jpeg_444",
               "png_rgb16", "jpeg_progressive", "png_interlaced", "jpeg_cmyk"]
# (width, height): odd, non-square, tiny, long and thin, large downscales and upscales
MIXED_SIZES = [(37, 23), (23, 37), (64, 48), (5, 9), (100, 7), (31, 31), (1, 1), (2, 3), (257, 129),
               (300, 200), (17, 101), (48, 64), (24, 24), (41, 40), (13, 26), (199, 251)]


def write_folders(out):
    rng = np.random.default_rng(20240614)
    # "same": every kind once at 13 x 9, spread over three classes (one nested subfolder, whose
    # files ImageFolder lists after the class folder's own).
    for i, kind in enumerate(SAME_KINDS):
        cls = ["alpha", "Beta", "gamma"][i % 3]
        sub = os.path.join(out, "same", cls, "nested") if i % 5 == 4 else os.path.join(out, "same", cls)
        os.makedirs(sub, exist_ok=True)
        make(kind, os.path.join(sub, f"{kind}_13x9"), rng, 13, 9)
    # "mixed": every size in several kinds, over two classes; cls_b's files spread over nested
    # folders that os.walk order and sorted-path order put differently (deep, deep-er, deep/inner).
    n = 0
    for size in MIXED_SIZES:
        for j in range(2):
            kind = MIXED_KINDS[n % len(MIXED_KINDS)]
            sub = "cls_a" if n % 2 == 0 else os.path.join("cls_b", ["", "deep", "deep-er", "deep/inner"][(n // 2) % 4])
            os.makedirs(os.path.join(out, "mixed", sub), exist_ok=True)
            make(kind, os.path.join(out, "mixed", sub, f"{kind}_{size[0]}x{size[1]}_{j}"), rng, *size)
            n += 1
    with open(os.path.join(out, "mixed", "cls_a", "notes.txt"), "w") as f:
        f.write("not an image: ImageFolder and cimforge leave it out\n")


# ---------------------------------------------------------------- the settings
# name: (folder, YAML text or None, the torchvision transforms)

def settings():
    imagenet_mean, imagenet_std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    bgr = transforms.Lambda(lambda t: t[[2, 1, 0]])
    to_float = [transforms.PILToTensor(), transforms.Lambda(lambda t: t.float())]
    nhwc = transforms.Lambda(lambda t: t.permute(1, 2, 0).contiguous())
    return {
        "totensor": ("same", None, [transforms.ToTensor()]),
        "totensor_gray": ("same", "grayscale: true\n", [transforms.Grayscale(), transforms.ToTensor()]),
        "imagenet": ("mixed", f"resize: 24\ncenter_crop: 20\nmean: {imagenet_mean}\nstd: {imagenet_std}\n",
                     [transforms.Resize(24), transforms.CenterCrop(20), transforms.ToTensor(),
                      transforms.Normalize(imagenet_mean, imagenet_std)]),
        "gray_nhwc": ("mixed", "grayscale: true\nresize: 17\ncenter_crop: [15, 13]\nmean: [0.5]\nstd: [0.25]\nlayout: nhwc\n",
                      [transforms.Grayscale(), transforms.Resize(17), transforms.CenterCrop([15, 13]),
                       transforms.ToTensor(), transforms.Normalize([0.5], [0.25]), nhwc]),
        "bgr_unscaled_padded": ("mixed", "channel_order: bgr\nscale: false\nresize: 40\ncenter_crop: [48, 44]\n"
                                         "mean: [100, 110.5, 120]\nstd: [50, 60, 70.25]\n",
                                [transforms.Resize(40), transforms.CenterCrop([48, 44])] + to_float +
                                [bgr, transforms.Normalize([100, 110.5, 120], [50, 60, 70.25])]),
        "crop_only": ("mixed", "center_crop: 30\n", [transforms.CenterCrop(30), transforms.ToTensor()]),
        "upscale": ("mixed", "resize: 203\ncenter_crop: [203, 211]\nmean: [0.5]\nstd: [0.5]\n",
                    [transforms.Resize(203), transforms.CenterCrop([203, 211]), transforms.ToTensor(),
                     transforms.Normalize([0.5], [0.5])]),
        "downscale": ("mixed", "resize: 3\ncenter_crop: 3\n",
                      [transforms.Resize(3), transforms.CenterCrop(3), transforms.ToTensor()]),
    }


def main():
    warnings.filterwarnings("ignore")  # PIL on palette transparency, which convert("RGB") drops anyway
    out = sys.argv[1]
    write_folders(out)
    lines = []
    for name, (folder, yaml_text, tfs) in settings().items():
        root = os.path.join(out, folder)
        if yaml_text is not None:
            with open(os.path.join(out, name + ".yaml"), "w") as f:
                f.write(yaml_text)
        ds = datasets.ImageFolder(root, transform=transforms.Compose(tfs))
        tensors = [ds[i][0] for i in range(len(ds))]
        stacked = torch.stack(tensors).to(torch.float32).contiguous()
        stacked.numpy().tofile(os.path.join(out, name + ".f32"))
        with open(os.path.join(out, name + ".txt"), "w") as f:
            f.write(" ".join(str(d) for d in tensors[0].shape) + "\n")
            f.write(" ".join(ds.classes) + "\n")
            for path, label in ds.samples:
                stem = os.path.basename(path).rsplit(".", 1)[0]
                kind = stem.rsplit("_", 2 if folder == "mixed" else 1)[0]
                f.write(f"{label} {kind} {os.path.relpath(path, root)}\n")
        lines.append(f"{name} {folder}")
    with open(os.path.join(out, "settings.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
