/* The LSTM cell, transcribed line by line from lstm_mnist/cell.py: the same names, the same
   order, the same equation numbers. One call reads one input row and updates the state (h, c):

       [output, state] = cell.forward(input_, state)

   (1) gates = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       all four pre-activations at once
   (2) i_t   = sigma(i_pre)                                input gate: how much to write
   (3) f_t   = sigma(f_pre + forget_bias)                  forget gate: how much to keep
   (4) g_t   = tanh(g_pre)                                 candidate values to write
   (5) o_t   = sigma(o_pre)                                output gate: how much to show
   (6) c_t   = f_t * c_{t-1} + i_t * g_t                   new cell state (the memory)
   (7) h_t   = o_t * tanh(c_t)                             new hidden state (the output)

   Shapes (a batch of one digit): I input features, H hidden units. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.LSTMCell = class LSTMCell {
  /** parameter(name) gives the stored cell.NAME weight, e.g. parameter("weight_ih"). */
  constructor(parameter, config) {
    this.hidden_size = config.hidden_size;
    this.forget_bias = config.forget_bias;
    this.weight_ih = parameter("weight_ih");  // (4H, I) rows: W_ii | W_if | W_ig | W_io
    this.weight_hh = parameter("weight_hh");  // (4H, H) rows: W_hi | W_hf | W_hg | W_ho
    this.bias_ih = parameter("bias_ih").data;  // (4H)
    this.bias_hh = parameter("bias_hh").data;  // (4H)
  }

  zero_state() {
    const zeros = new Float64Array(this.hidden_size);  // (H)
    return { h: zeros, c: zeros };
  }

  /** Read one row input_ (I) and return [h_t, {h: h_t, c: c_t}]; given an array as records, add the step's vectors to it. */
  forward(input_, state, records) {
    const { add, mul, matmulT, chunk, sigmoid, tanh } = LSTMMnist.tensor;
    const [h_prev, c_prev] = [state.h, state.c];  // (H), (H)

    const gates = add(add(add(matmulT(input_, this.weight_ih), this.bias_ih), matmulT(h_prev, this.weight_hh)), this.bias_hh);  // (1) (4H)
    const [i_pre, f_pre, g_pre, o_pre] = chunk(gates, 4);  // 4 x (H)

    const i_t = sigmoid(i_pre);  // (2) (H)
    const f_t = sigmoid(add(f_pre, this.forget_bias));  // (3) (H)
    const g_t = tanh(g_pre);  // (4) (H)
    const o_t = sigmoid(o_pre);  // (5) (H)

    const c_t = add(mul(f_t, c_prev), mul(i_t, g_t));  // (6) (H)
    const h_t = mul(o_t, tanh(c_t));  // (7) (H)

    if (records) records.push({ gates, i: i_t, f: f_t, g: g_t, o: o_t, c: c_t, h: h_t });
    return [h_t, { h: h_t, c: c_t }];
  }
};

/* What the page shows: for each equation, the vector it computes (the name in the record),
   the heat maps, and the equation with unit u's numbers put in. */
LSTMMnist.LSTMCell.view = {
  values: { 1: "gates", 2: "i", 3: "f", 4: "g", 5: "o", 6: "c", 7: "h" },
  maps: ["i", "f", "g", "o", "c", "h"],
  /** r: this row's record, p: the previous row's (zeros before row 0), u: the unit, n: a number formatter. */
  substitute(r, p, u, n, cell) {
    const H = cell.hidden_size;
    const pre = (k) => r.gates[k * H + u];
    return {
      1: `i_pre = ${n(pre(0))}, f_pre = ${n(pre(1))}, g_pre = ${n(pre(2))}, o_pre = ${n(pre(3))}`,
      2: `i_t = sigma(${n(pre(0))}) = ${n(r.i[u])}`,
      3: `f_t = sigma(${n(pre(1))} + ${cell.forget_bias}) = ${n(r.f[u])}`,
      4: `g_t = tanh(${n(pre(2))}) = ${n(r.g[u])}`,
      5: `o_t = sigma(${n(pre(3))}) = ${n(r.o[u])}`,
      6: `c_t = ${n(r.f[u])} * ${n(p.c[u])} + ${n(r.i[u])} * ${n(r.g[u])} = ${n(r.c[u])}`,
      7: `h_t = ${n(r.o[u])} * tanh(${n(r.c[u])}) = ${n(r.h[u])}`,
    };
  },
};
