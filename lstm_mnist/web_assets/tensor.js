/* The few torch operations the cells and the classifier use, on plain arrays of numbers.

   The page reads one digit at a time, so a "tensor" here is one row of a batch of 1: a
   Float64Array of H numbers where PyTorch has (1, H). A weight matrix is stored as PyTorch
   stores it, row-major: {shape: [rows, cols], data}. The weights are float32 numbers (the
   checkpoint's, given back exactly by Math.fround); the arithmetic is float64, so the page
   agrees with PyTorch's float32 results to about 1e-6. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.tensor = (function () {
  /** A parameter from weights.js: {shape, data} with the data as exact float32 values. */
  function parameter(stored) {
    return { shape: stored.shape, data: Float64Array.from(stored.data, Math.fround) };
  }

  /** x @ W.T for a vector x (I) and a matrix W (rows, I): the vector (rows). */
  function matmulT(x, W) {
    const [rows, cols] = W.shape;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += x[c] * W.data[r * cols + c];
      out[r] = sum;
    }
    return out;
  }

  /** a (op) b, element by element; either may be a plain number (broadcast, as in torch). */
  function elementwise(a, b, op) {
    const n = typeof a === "number" ? b.length : a.length;
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = op(typeof a === "number" ? a : a[k], typeof b === "number" ? b : b[k]);
    return out;
  }
  const add = (a, b) => elementwise(a, b, (x, y) => x + y);
  const sub = (a, b) => elementwise(a, b, (x, y) => x - y);
  const mul = (a, b) => elementwise(a, b, (x, y) => x * y);
  const div = (a, b) => elementwise(a, b, (x, y) => x / y);

  const sigmoid = (a) => a.map((v) => 1 / (1 + Math.exp(-v)));  // torch.sigmoid
  const tanh = (a) => a.map(Math.tanh);  // torch.tanh

  /** tensor.chunk(n): n consecutive blocks of equal length. */
  function chunk(a, n) {
    const size = a.length / n;
    return Array.from({ length: n }, (_, k) => a.slice(k * size, (k + 1) * size));
  }

  /** softmax over one vector, computed as torch does it (the largest value subtracted first). */
  function softmax(a) {
    const top = Math.max(...a);
    const e = a.map((v) => Math.exp(v - top));
    const total = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / total);
  }

  /** nn.Linear: x @ weight.T + bias. */
  const linear = (layer, x) => add(matmulT(x, layer.weight), layer.bias.data);

  return { parameter, matmulT, add, sub, mul, div, sigmoid, tanh, chunk, softmax, linear };
})();
