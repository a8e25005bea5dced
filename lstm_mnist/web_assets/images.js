/* A drawing brought to MNIST's form, transcribed from lstm_mnist/images.py (load_image and
   to_mnist_form), with PIL's LANCZOS resampling (Pillow's src/libImaging/Resample.c) written
   out, so that the page reads a drawing as `python inspect_digit.py --image drawing.png` does:
   greyscale, inverted if its background is light, the digit scaled to fit a 20x20 box keeping
   its proportions, placed in a 28x28 field with its centre of mass on the centre.

   numpy and PIL compute in float32 and 8-bit integers where images.py uses them; Math.fround
   and integer arithmetic do the same here, so the two agree within one grey level. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.images = (function () {
  const SIZE = 28;  // the field
  const BOX = 20;  // the digit's longer side
  const INK = 0.2;  // a pixel brighter than this (after inversion) is part of the digit
  const f32 = Math.fround;

  /** Python's round() and numpy's np.round: halves go to the even neighbour. */
  function roundHalfEven(v) {
    const floor = Math.floor(v), rest = v - floor;
    if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  /** load_image: canvas pixels (ImageData, RGBA) as (height, width) MNIST pixels; returns
      {pixels: 28 rows of 28 numbers in [0, 1]}. Throws Error("no digit ...") if blank, or if nothing
      is left once scaled. */
  function loadImage(imageData) {
    const { width, height, data } = imageData;
    let grey = new Float32Array(width * height);  // (height, width): PIL's convert("L"), then / 255
    for (let k = 0; k < width * height; k++) {
      const L = (data[4 * k] * 19595 + data[4 * k + 1] * 38470 + data[4 * k + 2] * 7471 + 0x8000) >> 16;
      grey[k] = L / 255;
    }
    let border = 0;  // first and last row, first and last column
    for (let x = 0; x < width; x++) border += grey[x] + grey[(height - 1) * width + x];
    for (let y = 0; y < height; y++) border += grey[y * width] + grey[y * width + width - 1];
    if (border / (2 * width + 2 * height) > 0.5) {  // dark digit on a light background: invert
      grey = grey.map((v) => 1 - v);
    }
    if (width === SIZE && height === SIZE) return rowsOf(grey, SIZE);
    return rowsOf(toMnistForm(grey, height, width), SIZE);
  }

  function rowsOf(flat, width) {
    return Array.from({ length: flat.length / width }, (_, y) => Array.from(flat.subarray(y * width, (y + 1) * width)));
  }

  /** to_mnist_form: a white-on-black digit of any size, (height, width) in [0, 1], as a (28, 28) MNIST image. */
  function toMnistForm(grey, gh, gw) {
    let top = gh, bottom = -1, left = gw, right = -1;  // rows, columns = np.nonzero(grey > INK)
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        if (grey[y * gw + x] > f32(INK)) {
          top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) throw new Error("no digit found: the image is blank");
    const [dh, dw] = [bottom - top + 1, right - left + 1];  // the bounding box
    const scale = BOX / Math.max(dh, dw);
    const height = Math.max(1, roundHalfEven(dh * scale)), width = Math.max(1, roundHalfEven(dw * scale));
    const bytes = new Uint8Array(dh * dw);  // np.uint8(np.round(255 * digit))
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) bytes[y * dw + x] = roundHalfEven(f32(255 * grey[(top + y) * gw + left + x]));
    }
    const resized = resizeLanczos(bytes, dw, dh, width, height);
    const digit = Float32Array.from(resized, (v) => v / 255);  // (height, width), longer side 20

    let total = 0, sumY = 0, sumX = 0;  // centre of mass, in the box
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = digit[y * width + x];
        total += v; sumY += v * y; sumX += v * x;
      }
    }
    if (total === 0) {  // strokes far thinner than the digit is large: nothing left (the centre would be NaN)
      throw new Error(`no digit left once scaled to fit ${BOX}x${BOX}: its strokes are too thin for its size; ` +
                      "crop the image to the digit, or draw it with thicker strokes");
    }
    const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    const fieldTop = clip(roundHalfEven(SIZE / 2 - 0.5 - sumY / total), 0, SIZE - height);  // puts it on the field's centre
    const fieldLeft = clip(roundHalfEven(SIZE / 2 - 0.5 - sumX / total), 0, SIZE - width);
    const field = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) field[(fieldTop + y) * SIZE + fieldLeft + x] = digit[y * width + x];
    }
    return field;
  }

  // --- PIL's Image.resize(..., Image.LANCZOS) of an 8-bit greyscale image (Resample.c) ---

  const PRECISION_BITS = 32 - 8 - 2;

  function sinc(x) {
    if (x === 0) return 1;
    x *= Math.PI;
    return Math.sin(x) / x;
  }

  function lanczos(x) {  // truncated sinc, support 3
    return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  }

  /** precompute_coeffs and normalize_coeffs_8bpc: for each output pixel, the first input
      pixel, the count, and fixed-point weights. */
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize;
    const filterscale = Math.max(scale, 1);
    const support = 3 * filterscale;
    const kernels = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const ss = 1 / filterscale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
      const k = [];
      let ww = 0;
      for (let x = 0; x < xmax; x++) {
        const w = lanczos((x + xmin - center + 0.5) * ss);
        k.push(w);
        ww += w;
      }
      const fixed = k.map((w) => {
        const v = ww !== 0 ? w / ww : w;
        return Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
      });
      kernels.push({ xmin, weights: fixed });
    }
    return kernels;
  }

  function clip8(sum) {
    const v = sum >> PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : v;
  }

  /** One pass along one axis: get(line, k) reads input pixel k of a line, the result is (lines, outSize). */
  function pass(lines, outSize, inSize, get) {
    const kernels = coefficients(inSize, outSize);
    const out = new Uint8Array(lines * outSize);
    for (let line = 0; line < lines; line++) {
      for (let xx = 0; xx < outSize; xx++) {
        const { xmin, weights } = kernels[xx];
        let sum = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < weights.length; x++) sum += get(line, x + xmin) * weights[x];
        out[line * outSize + xx] = clip8(sum);
      }
    }
    return out;
  }

  /** 8-bit (inH, inW) pixels resized to (outH, outW), as images.py's resize_lanczos does: along the
      rows first, then along the columns, each pass only if its size changes. */
  function resizeLanczos(pixels, inW, inH, outW, outH) {
    let image = pixels;
    if (outW !== inW) image = pass(inH, outW, inW, (y, x) => pixels[y * inW + x]);  // (inH, outW)
    if (outH !== inH) {
      const rows = image;
      const byColumn = pass(outW, outH, inH, (x, y) => rows[y * outW + x]);  // (outW, outH)
      image = new Uint8Array(outH * outW);
      for (let x = 0; x < outW; x++) for (let y = 0; y < outH; y++) image[y * outW + x] = byColumn[x * outH + y];
    }
    return image;
  }

  return { SIZE, loadImage, toMnistForm, resizeLanczos, roundHalfEven };
})();
