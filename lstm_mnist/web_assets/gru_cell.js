/* A GRU cell, transcribed line by line from lstm_mnist/gru_cell.py:

   (1) gates_x = W_ih x_t + b_ih                    the input's share of all three
   (2) gates_h = W_hh h_{t-1} + b_hh                the previous state's share
   (3) r_t = sigma(r_x + r_h)                       reset gate: how much of h_{t-1} the candidate sees
   (4) z_t = sigma(z_x + z_h)                       update gate: how much of h_{t-1} to keep
   (5) n_t = tanh(n_x + r_t * n_h)                  candidate state
   (6) h_t = (1 - z_t) * n_t + z_t * h_{t-1}        new hidden state

   Shapes (a batch of one digit): I input features, H hidden units. */
"use strict";
window.LSTMMnist = window.LSTMMnist || {};

LSTMMnist.GRUCell = class GRUCell {
  constructor(parameter, config) {
    this.hidden_size = config.hidden_size;
    this.weight_ih = parameter("weight_ih");  // (3H, I) rows: W_ir | W_iz | W_in
    this.weight_hh = parameter("weight_hh");  // (3H, H) rows: W_hr | W_hz | W_hn
    this.bias_ih = parameter("bias_ih").data;  // (3H)
    this.bias_hh = parameter("bias_hh").data;  // (3H)
  }

  zero_state() {
    return new Float64Array(this.hidden_size);  // h (H)
  }

  /** Read one row input_ (I) and return [h_t, h_t]; given an array as records, add the step's vectors to it
      (gates_x and gates_h too, which gru_cell.py does not keep: the page shows equations (1) and (2)). */
  forward(input_, state, records) {
    const { add, sub, mul, matmulT, chunk, sigmoid, tanh } = LSTMMnist.tensor;
    const h_prev = state;  // (H)

    const gates_x = add(matmulT(input_, this.weight_ih), this.bias_ih);  // (1) (3H)
    const gates_h = add(matmulT(h_prev, this.weight_hh), this.bias_hh);  // (2) (3H)
    const [r_x, z_x, n_x] = chunk(gates_x, 3);  // 3 x (H)
    const [r_h, z_h, n_h] = chunk(gates_h, 3);  // 3 x (H)

    const r_t = sigmoid(add(r_x, r_h));  // (3) (H)
    const z_t = sigmoid(add(z_x, z_h));  // (4) (H)
    const n_t = tanh(add(n_x, mul(r_t, n_h)));  // (5) (H)
    const h_t = add(mul(sub(1, z_t), n_t), mul(z_t, h_prev));  // (6) (H)

    if (records) records.push({ gates_x, gates_h, r: r_t, z: z_t, n: n_t, h: h_t });
    return [h_t, h_t];
  }
};

LSTMMnist.GRUCell.view = {
  values: { 1: "gates_x", 2: "gates_h", 3: "r", 4: "z", 5: "n", 6: "h" },
  maps: ["r", "z", "n", "h"],
  substitute(r, p, u, n, cell) {
    const H = cell.hidden_size;
    const x = (k) => r.gates_x[k * H + u], h = (k) => r.gates_h[k * H + u];
    return {
      1: `r_x = ${n(x(0))}, z_x = ${n(x(1))}, n_x = ${n(x(2))}`,
      2: `r_h = ${n(h(0))}, z_h = ${n(h(1))}, n_h = ${n(h(2))}`,
      3: `r_t = sigma(${n(x(0))} + ${n(h(0))}) = ${n(r.r[u])}`,
      4: `z_t = sigma(${n(x(1))} + ${n(h(1))}) = ${n(r.z[u])}`,
      5: `n_t = tanh(${n(x(2))} + ${n(r.r[u])} * ${n(h(2))}) = ${n(r.n[u])}`,
      6: `h_t = (1 - ${n(r.z[u])}) * ${n(r.n[u])} + ${n(r.z[u])} * ${n(p.h[u])} = ${n(r.h[u])}`,
    };
  },
};
