/* The page: a digit (drawn or picked), the row being read, the equations for one unit, the heat
   maps, the answer after each row. All the numbers come from LSTMMnist.trace (model.js); this
   file only draws them and handles the mouse, the finger and the keys.

   LSTMMnist.app is the page's state; tests/test_web.py reads it with app.snapshot(). */
"use strict";
(function () {
  const L = window.LSTMMnist;
  const DATA = window.LSTM_MNIST;
  const $ = (id) => document.getElementById(id);
  const ROWS = 28;
  const CELL_NAMES = { lstm: "LSTM", rnn: "plain RNN", gru: "GRU" };
  const VIEWS = { lstm: L.LSTMCell.view, rnn: L.RNNCell.view, gru: L.GRUCell.view };
  const GATES = new Set(["i", "f", "o", "r", "z"]);  // in (0, 1)

  const models = { main: new L.RecurrentClassifier(DATA.main) };
  if (DATA.compare) models.compare = new L.RecurrentClassifier(DATA.compare);

  const app = {
    image: null,  // (28, 28) pixels in [0, 1], or null before a digit is chosen
    traces: null,  // {main: trace, compare: trace}
    source: "",  // what the image is: "test digit 3 (label 7)", "your drawing"
    shown: "main",  // the model whose equations and heat maps are shown
    row: 0,
    unit: 0,
    timer: null,  // set while playing
  };
  L.app = app;

  const modelName = (key) => `${CELL_NAMES[models[key].config.cell]} (${DATA[key].source})`;
  const number = (v) => (v < 0 ? "" : "+") + v.toFixed(4);
  const percent = (p) => `${(100 * p).toFixed(1)}%`;
  const labels = DATA.main.class_labels;
  // what the status line asks for while there is no digit: none to pick on a page made without them
  const invitation = () => (DATA.samples.length > 0 ? "Draw a digit, or pick one below." : "Draw a digit in the black square.");

  // --- the state changes -------------------------------------------------------------

  function setImage(image, source) {
    app.image = image;
    app.source = source;
    app.traces = {};
    for (const key of Object.keys(models)) app.traces[key] = L.trace(models[key], image);
    render();
  }

  function clearImage(message) {
    app.image = null;
    app.traces = null;
    app.source = message;
    render();
  }

  function setRow(row) {
    app.row = Math.min(ROWS - 1, Math.max(0, row));
    render();
  }

  function setUnit(unit) {
    const H = models[app.shown].config.hidden_size;
    app.unit = Math.min(H - 1, Math.max(0, Number.isFinite(unit) ? unit : 0));
    render();
  }

  function showModel(key) {
    app.shown = key;
    buildEquations();
    buildMaps();
    setUnit(app.unit);
  }

  function play() {
    if (app.timer !== null) return pause();
    if (!app.traces) return;  // no digit: nothing to play
    if (app.row === ROWS - 1) setRow(0);
    app.timer = setInterval(() => {
      if (app.row >= ROWS - 1) return pause();
      setRow(app.row + 1);
    }, 350);
    $("play").textContent = "\u23F8 pause";
    $("play").setAttribute("aria-label", "pause");
  }

  function pause() {
    clearInterval(app.timer);
    app.timer = null;
    $("play").textContent = "\u25B6 play";
    $("play").setAttribute("aria-label", "play");
  }

  // --- drawing -----------------------------------------------------------------------

  const drawing = $("drawing");
  const pen = drawing.getContext("2d", { willReadFrequently: true });
  const PEN_WIDTH = 20;  // in the 280x280 canvas: MNIST's strokes are about 2 of 28 pixels wide
  let stroke = null;  // the last point while the pen is down
  let readScheduled = false;

  function clearDrawing() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, drawing.width, drawing.height);
  }

  function penPoint(event) {
    const box = drawing.getBoundingClientRect();
    return [(event.clientX - box.left) * drawing.width / box.width, (event.clientY - box.top) * drawing.height / box.height];
  }

  function line(from, to) {
    pen.strokeStyle = pen.fillStyle = "#fff";
    pen.lineWidth = PEN_WIDTH;
    pen.lineCap = pen.lineJoin = "round";
    pen.beginPath();
    pen.arc(from[0], from[1], PEN_WIDTH / 2, 0, 2 * Math.PI);
    pen.fill();
    pen.beginPath();
    pen.moveTo(from[0], from[1]);
    pen.lineTo(to[0], to[1]);
    pen.stroke();
  }

  /** images.py's load_image on the drawing, then the trace. */
  function readDrawing() {
    readScheduled = false;
    let image;
    try {
      image = L.images.loadImage(pen.getImageData(0, 0, drawing.width, drawing.height));
    } catch (error) {
      if (!/^no digit/.test(error.message)) throw error;  // blank, or nothing left once scaled: invite a drawing
      return clearImage(invitation());
    }
    setImage(image, "your drawing");
  }

  /** The pen touches the drawing at `point` (a new drawing after a test digit). */
  function penDown(point) {
    pause();
    if (app.source !== "your drawing") clearDrawing();
    stroke = point;
    line(stroke, stroke);
  }

  function penTo(point) {
    line(stroke, point);
    stroke = point;
  }

  function penUp() {
    if (stroke === null) return;
    stroke = null;
    readDrawing();
  }

  function clearAll() {
    pause();
    stroke = null;
    clearDrawing();
    clearImage(invitation());
  }

  drawing.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    drawing.setPointerCapture(event.pointerId);
    if (cursor.down) liftPen();  // the mouse takes the pen from the keys
    penDown(penPoint(event));
  });
  drawing.addEventListener("pointermove", (event) => {
    if (stroke === null) return;
    penTo(penPoint(event));
    if (!readScheduled) {
      readScheduled = true;
      requestAnimationFrame(readDrawing);  // follow the pen, at most once a frame
    }
  });
  for (const end of ["pointerup", "pointercancel"]) drawing.addEventListener(end, penUp);

  // --- drawing with the keys: a cursor on the 28x28 grid ---------------------------------

  const CELL = drawing.width / ROWS;  // 10 pixels of the canvas
  const cursor = { x: 13, y: 13, down: false };
  const cellCentre = () => [(cursor.x + 0.5) * CELL, (cursor.y + 0.5) * CELL];

  /** The cursor where it is (a square over the canvas, seen while the canvas has the keys' focus), and in words. */
  function showCursor() {
    const box = $("cursor");
    box.style.left = `${100 * cursor.x / ROWS}%`;
    box.style.top = `${100 * cursor.y / ROWS}%`;
    box.classList.toggle("down", cursor.down);
    $("pen-position").textContent = `column ${cursor.x}, row ${cursor.y}, pen ${cursor.down ? "down" : "up"}`;
  }

  function moveCursor(dx, dy) {
    cursor.x = Math.min(ROWS - 1, Math.max(0, cursor.x + dx));
    cursor.y = Math.min(ROWS - 1, Math.max(0, cursor.y + dy));
    if (cursor.down) penTo(cellCentre());
    showCursor();
  }

  /** Space or Enter: the pen goes down on the cell under the cursor, or lifts (and the page reads the drawing). */
  function togglePen() {
    cursor.down = !cursor.down;
    if (cursor.down) penDown(cellCentre());
    else penUp();
    showCursor();
  }

  /** The pen lifted when the drawing loses the focus, or when the mouse or a finger takes over. */
  function liftPen() {
    if (!cursor.down) return;
    cursor.down = false;
    penUp();
    showCursor();
  }

  function clearByKey() {
    cursor.down = false;
    clearAll();
    showCursor();
  }

  const DRAWING_KEYS = {
    ArrowLeft: () => moveCursor(-1, 0), ArrowRight: () => moveCursor(1, 0),
    ArrowUp: () => moveCursor(0, -1), ArrowDown: () => moveCursor(0, 1),
    " ": togglePen, Enter: togglePen, Delete: clearByKey, Backspace: clearByKey,
  };
  drawing.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || !(event.key in DRAWING_KEYS)) return;
    event.preventDefault();
    event.stopPropagation();  // the page's keys (the arrows step the rows, space plays) wait outside the drawing
    if (!event.repeat || event.key.startsWith("Arrow")) DRAWING_KEYS[event.key]();  // held down, only the arrows repeat
  });
  drawing.addEventListener("focus", showCursor);
  drawing.addEventListener("blur", () => {
    liftPen();
    $("pen-position").textContent = "";
  });

  // --- drawing the state ---------------------------------------------------------------

  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  /** A colour for v: gates in [0, 1] along viridis; anything else, scaled by `range`, blue (-) black (0) red (+). */
  function colour(v, gate, range) {
    if (gate) {
      const x = Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1);
      const k = Math.min(VIRIDIS.length - 2, Math.floor(x)), w = x - k;
      const [a, b] = [VIRIDIS[k], VIRIDIS[k + 1]];
      return `rgb(${a.map((c, j) => Math.round(c + w * (b[j] - c))).join(",")})`;
    }
    const s = Math.min(1, Math.abs(v) / range);
    return v >= 0 ? `rgb(${Math.round(40 + 215 * s)},${Math.round(40 * (1 - s))},${Math.round(40 * (1 - s))})`
      : `rgb(${Math.round(40 * (1 - s))},${Math.round(40 + 110 * s)},${Math.round(40 + 215 * s)})`;
  }

  const largest = (vectors) => Math.max(1e-9, ...vectors.map((v) => Math.max(...v.map(Math.abs))));

  function renderImage() {
    const canvas = $("image"), g = canvas.getContext("2d"), s = canvas.width / ROWS;
    g.fillStyle = "#000";
    g.fillRect(0, 0, canvas.width, canvas.height);
    if (!app.image) return;
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < ROWS; x++) {
        const v = Math.round(255 * app.image[y][x] * (y > app.row ? 0.35 : 1));  // rows not yet read: dimmed
        g.fillStyle = `rgb(${v},${v},${v})`;
        g.fillRect(x * s, y * s, s, s);
      }
    }
    g.strokeStyle = "#ff9f1c";
    g.lineWidth = 3;
    g.strokeRect(1.5, app.row * s + 0.5, canvas.width - 3, s - 1);
  }

  function buildEquations() {
    const model = models[app.shown], list = $("equations");
    list.replaceChildren();
    for (const eq of DATA[app.shown].equations) {
      const item = document.createElement("li");
      item.className = "equation";
      item.innerHTML = `<div class="maths"><span class="number">(${eq.number})</span> <code></code>
        <span class="note"></span></div><pre class="code"><code></code></pre>
        <div class="value" data-number="${eq.number}"></div><canvas class="strip" height="12"></canvas>`;
      item.querySelector(".maths code").textContent = eq.maths;
      item.querySelector(".note").textContent = eq.note;
      item.querySelector(".code code").textContent = eq.code;
      const strip = item.querySelector("canvas");
      const name = VIEWS[model.config.cell].values[eq.number];
      strip.dataset.name = name;
      strip.setAttribute("aria-label", `the vector ${name} after this row; click to choose a unit`);
      strip.addEventListener("click", (event) => {
        const box = strip.getBoundingClientRect(), length = strip.width / stripScale(strip);
        setUnit(Math.floor((event.clientX - box.left) / box.width * length) % model.config.hidden_size);
      });
      list.appendChild(item);
    }
    $("unit").max = model.config.hidden_size - 1;
    $("unit-count").textContent = `${model.config.hidden_size} (0 to ${model.config.hidden_size - 1})`;
  }

  const stripScale = (strip) => Number(strip.dataset.scale || 1);

  function renderEquations() {
    const model = models[app.shown], view = VIEWS[model.config.cell], H = model.config.hidden_size;
    const t = app.traces && app.traces[app.shown];
    for (const item of $("equations").children) {
      const value = item.querySelector(".value"), strip = item.querySelector("canvas");
      const name = strip.dataset.name, g = strip.getContext("2d");
      if (!t) {
        value.textContent = "";
        g.clearRect(0, 0, strip.width, strip.height);
        continue;
      }
      const record = Object.fromEntries(Object.keys(t.steps).map((k) => [k, t.steps[k][app.row]]));
      const previous = app.row > 0 ? Object.fromEntries(Object.keys(t.steps).map((k) => [k, t.steps[k][app.row - 1]]))
        : { h: new Float64Array(H), c: new Float64Array(H) };
      value.textContent = view.substitute(record, previous, app.unit, number, model.cell)[value.dataset.number];
      const vector = record[name], scale = Math.max(1, Math.floor(1024 / vector.length));
      strip.dataset.scale = scale;
      if (strip.width !== vector.length * scale) strip.width = vector.length * scale;
      const range = largest(t.steps[name]);
      for (let k = 0; k < vector.length; k++) {
        g.fillStyle = colour(vector[k], GATES.has(name), name === "h" || name === "g" || name === "n" ? 1 : range);
        g.fillRect(k * scale, 0, scale, strip.height);
      }
      g.strokeStyle = "#fff";
      g.lineWidth = 2;
      for (let k = app.unit; k < vector.length; k += H) g.strokeRect(k * scale + 1, 1, Math.max(scale - 2, 2), strip.height - 2);
    }
  }

  function buildMaps() {
    const model = models[app.shown], maps = $("maps");
    maps.replaceChildren();
    for (const name of VIEWS[model.config.cell].maps) {
      const figure = document.createElement("figure");
      const H = model.config.hidden_size, cellWidth = Math.max(2, Math.floor(384 / H));
      figure.innerHTML = `<figcaption><code>${name}</code></figcaption>
        <canvas class="map" width="${H * cellWidth}" height="${ROWS * 6}"></canvas>`;
      const canvas = figure.querySelector("canvas");
      canvas.dataset.name = name;
      canvas.dataset.cellWidth = cellWidth;
      canvas.tabIndex = 0;  // reached by Tab; its label says what it shows and the value marked (mapLabel)
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-describedby", "maps-keys");
      canvas.addEventListener("click", (event) => {
        const box = canvas.getBoundingClientRect();
        const x = (event.clientX - box.left) * canvas.width / box.width, y = (event.clientY - box.top) * canvas.height / box.height;
        app.unit = Math.min(H - 1, Math.floor(x / cellWidth));
        setRow(Math.floor(y / 6));
      });
      canvas.addEventListener("keydown", (event) => {  // the arrows move across the map: units across, rows down
        const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
        if (event.altKey || event.ctrlKey || event.metaKey || !(event.key in moves)) return;
        event.preventDefault();
        event.stopPropagation();  // the page's left and right step the rows: here they choose the unit
        app.unit = Math.min(H - 1, Math.max(0, app.unit + moves[event.key][0]));
        setRow(app.row + moves[event.key][1]);
        $("map-value").textContent = mapLabel(name, true);  // said once per move (aria-live)
      });
      maps.appendChild(figure);
    }
  }

  /** A heat map in words, for a screen reader: what it shows, and the value marked (unit, row); `short`: the value only. */
  function mapLabel(name, short) {
    const t = app.traces && app.traces[app.shown], H = models[app.shown].config.hidden_size;
    const value = t ? `unit ${app.unit} after row ${app.row}: ${number(t.steps[name][app.row][app.unit])}` : "no digit yet";
    return short ? `${name}, ${value}` : `heat map of ${name}: ${H} units across, ${ROWS} rows down, `
      + `${t ? `rows 0 to ${app.row} read` : "empty"}; ${value}`;
  }

  function renderMaps() {
    const t = app.traces && app.traces[app.shown];
    for (const canvas of $("maps").querySelectorAll("canvas")) {
      const g = canvas.getContext("2d"), name = canvas.dataset.name, w = Number(canvas.dataset.cellWidth);
      canvas.setAttribute("aria-label", mapLabel(name, false));
      g.fillStyle = "#d8d8d8";  // rows not read yet
      g.fillRect(0, 0, canvas.width, canvas.height);
      if (!t) continue;
      const range = name === "c" ? largest(t.steps.c) : 1;
      for (let row = 0; row <= app.row; row++) {
        const vector = t.steps[name][row];
        for (let k = 0; k < vector.length; k++) {
          g.fillStyle = colour(vector[k], GATES.has(name), range);
          g.fillRect(k * w, row * 6, w, 6);
        }
      }
      g.strokeStyle = "#ff9f1c";
      g.lineWidth = 2;
      g.strokeRect(1, app.row * 6, canvas.width - 2, 6);
      g.strokeStyle = "#fff";
      g.strokeRect(app.unit * w, 0, w, canvas.height);
    }
  }

  function renderProbabilities() {
    const box = $("probabilities"), map = $("probability-map"), g = map.getContext("2d");
    box.replaceChildren();
    g.fillStyle = "#d8d8d8";
    g.fillRect(0, 0, map.width, map.height);
    const t = app.traces && app.traces[app.shown];
    map.setAttribute("aria-label", "heat map of the probability of each class (across) after each row (down)"
      + (t ? `, rows 0 to ${app.row} read; after row ${app.row}: ${answer(app.shown, app.row)}` : ", empty: no digit yet"));
    if (!t) return;
    const p = t.probabilities[app.row], best = p.indexOf(Math.max(...p));
    p.forEach((value, k) => {
      const row = document.createElement("div");
      row.className = "bar" + (k === best ? " best" : "");
      row.innerHTML = `<span class="label"></span><span class="track"><span class="fill"></span></span><span class="percent"></span>`;
      row.querySelector(".label").textContent = labels[k];
      row.querySelector(".fill").style.width = percent(value);
      row.querySelector(".percent").textContent = percent(value);
      box.appendChild(row);
    });
    const w = map.width / p.length, h = map.height / ROWS;
    for (let row = 0; row <= app.row; row++) {
      t.probabilities[row].forEach((value, k) => {
        g.fillStyle = colour(value, true);
        g.fillRect(k * w, row * h, w, h);
      });
    }
    g.strokeStyle = "#ff9f1c";
    g.lineWidth = 2;
    g.strokeRect(1, app.row * h, map.width - 2, h);
  }

  function answer(key, row) {
    const p = app.traces[key].probabilities[row], best = p.indexOf(Math.max(...p));
    return `${labels[best]} (${percent(p[best])})`;
  }

  function renderStatus() {
    if (!app.traces) {
      $("status").textContent = app.source;
      return;
    }
    const others = Object.keys(models).filter((key) => key !== app.shown);
    $("status").textContent = `${app.source}: after row ${app.row}, the ${modelName(app.shown)} says ${answer(app.shown, app.row)}`
      + others.map((key) => `; the ${modelName(key)} says ${answer(key, app.row)}`).join("")
      + `. After the last row: ${answer(app.shown, ROWS - 1)}.`;
  }

  /** The answer after the last row, for the screen reader to say (aria-live) when the digit or the model changes. */
  function renderAnswer() {
    if (stroke !== null) return;  // while the pen draws, the page re-reads every frame: said when it lifts
    const keys = [app.shown, ...Object.keys(models).filter((key) => key !== app.shown)];
    const text = !app.traces ? "" : keys.map((key, k) =>
      `${k === 0 ? "The" : "; the"} ${modelName(key)} reads ${k === 0 ? app.source : "it"} as ${answer(key, ROWS - 1)}`,
    ).join("") + ".";
    if ($("answer").textContent !== text) $("answer").textContent = text;  // said once, not at every row
  }

  function render() {
    $("row").value = app.row;
    $("row-value").textContent = app.row;
    $("unit").value = app.unit;
    renderImage();
    renderEquations();
    renderMaps();
    renderProbabilities();
    renderStatus();
    renderAnswer();
  }

  // --- the controls --------------------------------------------------------------------

  function buildSamples() {
    const box = $("samples");
    if (DATA.samples.length === 0) {
      $("samples-title").textContent = "(No digits to pick on this page: python -m lstm_mnist.web adds MNIST's first "
        + "test digits when it finds its test files, with --data-dir DIR, and your own images with --digits FOLDER.)";
      return;
    }
    for (const sample of DATA.samples) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sample";
      // an MNIST test digit has its index and label; an image of --digits, its file's name
      const name = sample.name ?? `test digit ${sample.index} (label ${labels[sample.label]})`;
      button.setAttribute("aria-label", name);
      button.title = name;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 28;
      const g = canvas.getContext("2d"), pixels = g.createImageData(28, 28);
      sample.pixels.forEach((v, k) => pixels.data.set([v, v, v, 255], 4 * k));
      g.putImageData(pixels, 0, 0);
      button.appendChild(canvas);
      button.addEventListener("click", () => {
        pause();
        clearDrawing();
        const image = Array.from({ length: 28 }, (_, y) => sample.pixels.slice(28 * y, 28 * y + 28).map((v) => v / 255));
        setImage(image, name);
      });
      box.appendChild(button);
    }
  }

  function buildModelChoice() {
    const cell = (key) => models[key].config;
    const units = (n) => `${n} unit${n === 1 ? "" : "s"}`;  // as words.py's counted()
    const accuracy = (key) => (DATA[key].test_accuracy == null ? "" : `, test accuracy ${percent(DATA[key].test_accuracy)}`);
    $("model-summary").textContent = Object.keys(models).map((key) =>
      `${modelName(key)}: ${units(cell(key).hidden_size)}${accuracy(key)}`).join("; ") + ".";
    if (!models.compare) return;
    $("model-choice").hidden = false;
    for (const key of Object.keys(models)) {
      const label = document.createElement("label");
      label.innerHTML = `<input type="radio" name="model" value="${key}"${key === "main" ? " checked" : ""}> <span></span>`;
      label.querySelector("span").textContent = modelName(key);
      label.querySelector("input").addEventListener("change", () => showModel(key));
      $("model-options").appendChild(label);
    }
  }

  $("clear").addEventListener("click", clearAll);
  $("first").addEventListener("click", () => setRow(0));
  $("previous").addEventListener("click", () => setRow(app.row - 1));
  $("next").addEventListener("click", () => setRow(app.row + 1));
  $("last").addEventListener("click", () => setRow(ROWS - 1));
  $("play").addEventListener("click", play);
  $("row").addEventListener("input", (event) => setRow(Number(event.target.value)));
  $("unit").addEventListener("input", (event) => setUnit(Math.round(Number(event.target.value))));
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target.tagName === "INPUT") return;  // inputs keep their keys
    const keys = {
      ArrowRight: () => setRow(app.row + 1), ArrowLeft: () => setRow(app.row - 1),
      Home: () => setRow(0), End: () => setRow(ROWS - 1),
      " ": () => (event.target.tagName === "BUTTON" ? null : play()),
    };
    if (!(event.key in keys) || (event.key === " " && event.target.tagName === "BUTTON")) return;
    event.preventDefault();
    keys[event.key]();
  });

  clearDrawing();
  buildSamples();
  buildModelChoice();
  buildEquations();
  buildMaps();
  if (DATA.samples.length > 0) $("samples").firstChild.click();
  else clearImage(invitation());

  /** Everything the page computed, as plain arrays (for tests and the console). */
  app.snapshot = function () {
    const plain = (v) => (v && typeof v === "object" && "length" in v ? Array.from(v, plain) : v);
    const traces = app.traces && Object.fromEntries(Object.entries(app.traces).map(([key, t]) => [key, {
      cell: t.cell, x: plain(t.x), logits: plain(t.logits), probabilities: plain(t.probabilities),
      steps: Object.fromEntries(Object.entries(t.steps).map(([name, v]) => [name, plain(v)])),
    }]));
    return { image: plain(app.image), traces, row: app.row, unit: app.unit, shown: app.shown, source: app.source };
  };
  app.setImage = setImage;
  app.setRow = setRow;
  app.setUnit = setUnit;
})();
