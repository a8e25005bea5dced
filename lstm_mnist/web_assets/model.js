/* The classifier and the trace, transcribed from lstm_mnist/model.py (rows, read) and
   lstm_mnist/trace.py (trace): the cell reads the 28 rows in order, the head turns an output
   into one logit per class.

       const model = new LSTMMnist.RecurrentClassifier(window.LSTM_MNIST.main);
       const t = LSTMMnist.trace(model, image);   // image: 28 rows of 28 pixels in [0, 1]
       t.steps.f[14]                              // (H) the forget gate after row 14
       t.probabilities[27]                        // (K) the model's answer

   Shapes: T = 28 rows, I = 28 pixels per row, H hidden units, K classes. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.RecurrentClassifier = class RecurrentClassifier {
  /** stored: one model of weights.js ({config, pixel_mean, pixel_std, weights, ...}). */
  constructor(stored) {
    const T = LSTMMnist.tensor;
    const parameter = (name) => T.parameter(stored.weights[name]);
    const layer = (name) => ({ weight: parameter(`${name}.weight`), bias: parameter(`${name}.bias`) });
    this.config = stored.config;
    this.pixel_mean = stored.pixel_mean;
    this.pixel_std = stored.pixel_std;
    this.projection = this.config.input_projection ? layer("projection") : null;  // I -> H, no activation
    const Cell = { lstm: LSTMMnist.LSTMCell, rnn: LSTMMnist.RNNCell, gru: LSTMMnist.GRUCell }[this.config.cell];
    this.cell = new Cell((name) => parameter(`cell.${name}`), this.config);
    this.head = layer("head");  // H -> K
  }

  /** The rows the cell will read, (T, I) (or (T, H) after the input projection): the image,
      standardised if normalize, projected if input_projection. */
  rows(image) {
    const T = LSTMMnist.tensor;
    let x = image.map((row) => Float64Array.from(row));  // (T, I), T rows of I pixels
    if (this.config.normalize) {
      x = x.map((row) => T.div(T.sub(row, this.pixel_mean), this.pixel_std));  // (T, I), mean 0 and std 1 over MNIST
    }
    if (this.projection !== null) {
      x = x.map((row) => T.linear(this.projection, row));  // (T, H)
    }
    return x;
  }

  /** The seeds' loop: the cell reads the rows x in order; the head turns its last output into
      logits (K). Given an array as records, the cell adds an object of its vectors to it at every step. */
  read(x, records) {
    let state = this.cell.zero_state();  // LSTM: {h, c}, each (H) zeros; RNN, GRU: h
    let output;
    for (const input_ of x) {
      [output, state] = this.cell.forward(input_, state, records);  // output: (H)
    }
    return LSTMMnist.tensor.linear(this.head, output);  // (K): logits from the last output
  }
};

/** trace.py's trace(): every step's vectors, and what the head would answer after each row. */
LSTMMnist.trace = function trace(model, image) {
  const T = LSTMMnist.tensor;
  const x = model.rows(image);  // (T, I): standardised, projected, as the model does it
  const records = [];
  model.read(x, records);  // the model's own loop; the cell adds one record per step
  const steps = {};
  for (const name of Object.keys(records[0])) steps[name] = records.map((record) => record[name]);  // name -> (T, ...)
  const logits = steps.h.map((h) => T.linear(model.head, h));  // (T, K): the head applied to the output after each row
  return { cell: model.config.cell, image, x, steps, logits, probabilities: logits.map(T.softmax) };
};
