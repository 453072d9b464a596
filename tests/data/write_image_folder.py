#!/usr/bin/python3
"""Writes an ImageFolder tree of smooth synthetic RGB images of several sizes (JPEG and PNG).

usage: write_image_folder.py ROOT CLASSES PER_CLASS
"""
import os
import sys

import numpy as np
from PIL import Image


def main():
    root, classes, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(5)
    for c in range(classes):
        d = os.path.join(root, f"class_{c}")
        os.makedirs(d, exist_ok=True)
        for i in range(per):
            h, w = int(rng.integers(230, 300)), int(rng.integers(230, 300))
            y, x = np.mgrid[0:h, 0:w]
            img = np.stack([127 + 120 * np.sin(x / (7 + 3 * k + i) + y / (11 + k + c)) for k in range(3)], -1).astype(np.uint8)
            name = f"{i}.png" if i % 2 else f"{i}.jpg"
            Image.fromarray(img).save(os.path.join(d, name))


if __name__ == "__main__":
    main()
