/* A plain (Elman) RNN cell, transcribed line by line from lstm_mnist/rnn_cell.py:

   (1) h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

   Shapes (a batch of one digit): I input features, H hidden units. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.RNNCell = class RNNCell {
  constructor(parameter, config) {
    this.hidden_size = config.hidden_size;
    this.weight_ih = parameter("weight_ih");  // W_ih (H, I)
    this.weight_hh = parameter("weight_hh");  // W_hh (H, H)
    this.bias_ih = parameter("bias_ih").data;  // (H)
    this.bias_hh = parameter("bias_hh").data;  // (H)
  }

  zero_state() {
    return new Float64Array(this.hidden_size);  // h (H)
  }

  /** Read one row input_ (I) and return [h_t, h_t]; given an array as records, add the step's vectors to it. */
  forward(input_, state, records) {
    const { add, matmulT, tanh } = LSTMMnist.tensor;
    const h_prev = state;  // (H)

    const h_t = tanh(add(add(add(matmulT(input_, this.weight_ih), this.bias_ih), matmulT(h_prev, this.weight_hh)), this.bias_hh));  // (1) (H)

    if (records) records.push({ h: h_t });
    return [h_t, h_t];
  }
};

LSTMMnist.RNNCell.view = {
  values: { 1: "h" },
  maps: ["h"],
  substitute(r, p, u, n) {
    return { 1: `h_t = ${n(r.h[u])}   (h_{t-1} = ${n(p.h[u])})` };
  },
};
