"""Normalise images as the ISCC SDK does before its Image-Code, and print
each one's 1,024 grey pixels: one JSON line per image, {"path", "pixels"}.

The steps follow iscc-sdk's image_normalize (EXIF transpose, transparency
over white, the border of the top-left pixel's colour trimmed, grey, a
32x32 bicubic resize), written here with Pillow (Debian's python3-pil).
Usage: python3 normalize.py IMAGE...
"""
import json
import sys

from PIL import Image, ImageChops, ImageOps


def normalize(path):
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    img = img.convert("RGBA")
    white = Image.new("RGBA", img.size, (255, 255, 255))
    img = Image.alpha_composite(white, img)
    bg = Image.new(img.mode, img.size, img.getpixel((0, 0)))
    diff = ImageChops.difference(img, bg)
    diff = ImageChops.add(diff, diff)
    box = diff.getbbox()
    if box and box != (0, 0) + img.size:
        img = img.crop(box)
    img = img.convert("L").resize((32, 32), Image.BICUBIC)
    return list(img.getdata())


for p in sys.argv[1:]:
    try:
        print(json.dumps({"path": p, "pixels": normalize(p)}))
    except Exception as e:  # a file Pillow cannot read: say so, go on
        print(json.dumps({"path": p, "error": str(e)}))
