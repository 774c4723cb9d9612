// The explorer's trained model (docs/explorer.<lang>.md): the reader types a text, picks a layer and a
// head, and sees that head's attention weights and the model's prediction of the next byte.
//
// It computes what attn_examples.gpt computes (GPT.forward and attention_maps), in double precision,
// from the shipped checkpoint's float16 weights, which the site serves in the safetensors layout
// (attn_site.model_weights) beside this script's folder: bytes of UTF-8 as tokens, an embedding, pre-norm
// blocks (layer norm, attention whose queries and keys RoPE turns by adjacent pairs, a causal softmax, a
// GELU feed-forward, residual sums), a last layer norm and the embedding again as the output layer.
// Every string it shows comes from the data-* attributes and the static markup of the page, so a
// translated page translates it. On a page without a .gpt-explorer element it does nothing.
(function () {
  "use strict";

  const SCRIPT = document.currentScript ? document.currentScript.src : "";
  let weightsPromise = null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function format(value) {
    const text = value.toFixed(4);
    return /^-0\.0+$/.test(text) ? text.slice(1) : text;
  }

  // float16 bits -> number
  function half(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }

  // The safetensors layout: an 8-byte little-endian header length, a JSON header, the tensors' bytes.
  function readSafetensors(buffer) {
    const view = new DataView(buffer);
    const length = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
    const tensors = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const [begin, end] = entry.data_offsets;
      const values = new Float64Array((end - begin) / 2);
      for (let i = 0; i < values.length; i++) values[i] = half(view.getUint16(8 + length + begin + 2 * i, true));
      tensors[name] = { shape: entry.shape, values };
    }
    return { metadata: header.__metadata__, tensors };
  }

  function loadWeights() {
    if (!weightsPromise) {
      const url = new URL("../tiny-gpt.safetensors", SCRIPT || document.baseURI);
      weightsPromise = fetch(url).then((response) => {
        if (!response.ok) throw new Error(String(response.status));
        return response.arrayBuffer();
      }).then(readSafetensors);
    }
    return weightsPromise;
  }

  // erf by its Taylor series below 2.5 and its continued fraction (for erfc) above: about 1e-14, far more
  // than the 4 decimals the page shows need. PyTorch's F.gelu is x · Φ(x) = x/2 · (1 + erf(x/√2)).
  function erf(x) {
    const sign = x < 0 ? -1 : 1;
    const a = Math.abs(x);
    if (a > 6) return sign;
    if (a < 2.5) {
      let term = a, sum = a;
      for (let n = 1; n < 60; n++) {
        term *= -a * a / n;
        const add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      }
      return sign * 2 / Math.sqrt(Math.PI) * sum;
    }
    // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + …)))))
    let fraction = a;
    for (let n = 60; n >= 1; n--) fraction = a + (n / 2) / fraction;
    return sign * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / fraction);
  }

  const gelu = (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));

  // y = x Wᵀ + b for every row of x; W is (out, in), row-major
  function linear(x, weight, bias) {
    const [out, inn] = weight.shape;
    return x.map((row) => {
      const y = new Float64Array(out);
      for (let o = 0; o < out; o++) {
        let sum = bias ? bias.values[o] : 0;
        const base = o * inn;
        for (let i = 0; i < inn; i++) sum += row[i] * weight.values[base + i];
        y[o] = sum;
      }
      return y;
    });
  }

  function layerNorm(x, weight, bias, eps) {
    return x.map((row) => {
      const d = row.length;
      let mean = 0;
      for (const v of row) mean += v;
      mean /= d;
      let variance = 0;
      for (const v of row) variance += (v - mean) ** 2;
      variance /= d;
      const scale = 1 / Math.sqrt(variance + eps);
      return row.map((v, i) => (v - mean) * scale * weight.values[i] + bias.values[i]);
    });
  }

  // Pair (2i, 2i+1) of a head's features at position m turns by m · base^(−2i/headDim).
  function rope(vector, start, headDim, position, base) {
    for (let i = 0; i < headDim / 2; i++) {
      const angle = position * base ** (-(2 * i) / headDim);
      const cos = Math.cos(angle), sin = Math.sin(angle);
      const a = vector[start + 2 * i], b = vector[start + 2 * i + 1];
      vector[start + 2 * i] = a * cos - b * sin;
      vector[start + 2 * i + 1] = a * sin + b * cos;
    }
  }

  // The model on byte tokens: every block's attention weights [layer][head][query][key] and the
  // probabilities of the byte after the last one.
  function run(model, tokens) {
    const t = model.tensors, meta = model.metadata;
    const d = Number(meta.d_model), heads = Number(meta.num_heads), layers = Number(meta.layers);
    const headDim = d / heads, eps = Number(meta.layer_norm_eps), base = Number(meta.rope_base);
    const embedding = t["token_embedding.weight"];
    let x = tokens.map((token) => embedding.values.slice(token * d, (token + 1) * d));
    const maps = [];
    for (let l = 0; l < layers; l++) {
      const p = (name) => t[`blocks.${l}.${name}`];
      const h = layerNorm(x, p("norm_1.weight"), p("norm_1.bias"), eps);
      const q = linear(h, p("attention.W_query.weight"), p("attention.W_query.bias"));
      const k = linear(h, p("attention.W_key.weight"), p("attention.W_key.bias"));
      const v = linear(h, p("attention.W_value.weight"), p("attention.W_value.bias"));
      for (let m = 0; m < tokens.length; m++) {
        for (let head = 0; head < heads; head++) {
          rope(q[m], head * headDim, headDim, m, base);
          rope(k[m], head * headDim, headDim, m, base);
        }
      }
      const context = tokens.map(() => new Float64Array(d));
      const layerMaps = [];
      for (let head = 0; head < heads; head++) {
        const start = head * headDim;
        const rows = [];
        for (let i = 0; i < tokens.length; i++) {
          const scores = [];
          for (let j = 0; j <= i; j++) {
            let dot = 0;
            for (let f = 0; f < headDim; f++) dot += q[i][start + f] * k[j][start + f];
            scores.push(dot / Math.sqrt(headDim));
          }
          const top = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - top));
          const total = exps.reduce((a, b) => a + b, 0);
          const weights = exps.map((e) => e / total);
          for (let j = 0; j <= i; j++) {
            for (let f = 0; f < headDim; f++) context[i][start + f] += weights[j] * v[j][start + f];
          }
          rows.push(weights);
        }
        layerMaps.push(rows);
      }
      maps.push(layerMaps);
      const attended = linear(context, p("attention.out_proj.weight"), p("attention.out_proj.bias"));
      x = x.map((row, i) => row.map((value, f) => value + attended[i][f]));
      const hidden = linear(layerNorm(x, p("norm_2.weight"), p("norm_2.bias"), eps),
        p("feed_forward.expand.weight"), p("feed_forward.expand.bias")).map((row) => row.map(gelu));
      const fed = linear(hidden, p("feed_forward.contract.weight"), p("feed_forward.contract.bias"));
      x = x.map((row, i) => row.map((value, f) => value + fed[i][f]));
    }
    const last = layerNorm([x[x.length - 1]], t["norm.weight"], t["norm.bias"], eps);
    const logits = linear(last, embedding, null)[0];
    const top = Math.max(...logits);
    const exps = Array.from(logits, (z) => Math.exp(z - top));
    const total = exps.reduce((a, b) => a + b, 0);
    return { maps, probabilities: exps.map((e) => e / total) };
  }

  // A byte as a label: its character when printable ASCII, ␣ for a space, ↵ for a new line, else its
  // value in hexadecimal (a byte of a longer UTF-8 character).
  function label(byte) {
    if (byte === 32) return "\u2423";
    if (byte === 10) return "\u21b5";
    if (byte > 32 && byte < 127) return String.fromCharCode(byte);
    return byte.toString(16).toUpperCase().padStart(2, "0");
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children || []) node.append(child);
    return node;
  }

  function parseColour(text) {
    const m = /rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)/.exec(text || "");
    if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
    const hex = /#([0-9a-f]{6})/i.exec(text || "");
    return hex ? [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16)) : null;
  }

  function luminance(rgb) {
    const [r, g, b] = rgb.map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function textColourOn(rgb) {
    const l = luminance(rgb);
    return (1.05) / (l + 0.05) > (l + 0.05) / 0.05 ? "#ffffff" : "#000000";
  }

  class GptExplorer {
    constructor(root) {
      this.root = root;
      root.dataset.ready = "loading";
      this.text = root.querySelector("[data-role=text]");
      this.layer = root.querySelector("[data-role=layer]");
      this.head = root.querySelector("[data-role=head]");
      this.alert = root.querySelector("[data-role=alert]");
      this.status = root.querySelector("[data-role=status]");
      this.weights = root.querySelector("[data-role=weights]");
      this.predictions = root.querySelector("[data-role=predictions]");
      this.status.textContent = root.dataset.msgLoading;
      loadWeights().then((model) => {
        this.model = model;
        this.context = Number(model.metadata.context_length);
        this.fillSelect(this.layer, Number(model.metadata.layers), Number(root.dataset.layer));
        this.fillSelect(this.head, Number(model.metadata.num_heads), Number(root.dataset.head));
        for (const control of [this.text, this.layer, this.head]) control.addEventListener("input", () => this.update());
        this.status.textContent = "";
        this.update();
        root.dataset.ready = "true";
      }).catch(() => {
        this.status.textContent = root.dataset.msgFailed;
        root.dataset.ready = "failed";
      });
      new MutationObserver(() => this.paint()).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
    }

    fillSelect(select, count, chosen) {
      select.replaceChildren(...Array.from({ length: count }, (_, i) => el("option", { value: String(i) }, [String(i + 1)])));
      select.value = String(chosen);
    }

    update() {
      let bytes = Array.from(new TextEncoder().encode(this.text.value));
      this.alert.textContent = "";
      if (bytes.length === 0) {
        this.alert.textContent = this.root.dataset.msgEmpty;
        return;
      }
      if (bytes.length > this.context) {
        this.alert.textContent = fill(this.root.dataset.msgTooLong, { count: bytes.length, limit: this.context });
        bytes = bytes.slice(0, this.context);
      }
      this.bytes = bytes;
      this.result = run(this.model, bytes);
      this.render();
    }

    render() {
      const map = this.result.maps[Number(this.layer.value)][Number(this.head.value)];
      const labels = this.bytes.map(label);
      const head = el("tr", {}, [el("th", { scope: "col" }, [this.root.dataset.textQuery]),
        ...labels.map((text) => el("th", { scope: "col" }, [text]))]);
      const rows = map.map((row, i) => el("tr", {}, [
        el("th", { scope: "row" }, [labels[i]]),
        ...labels.map((_, j) => (j <= i
          ? el("td", { "data-value": String(row[j]) }, [el("span", { class: "ae-num" }, [format(row[j])])])
          : el("td", { class: "ae-masked", "data-masked": "" }, [""]))),
      ]));
      this.weights.replaceChildren(el("thead", {}, [head]), el("tbody", {}, rows));
      const ranked = this.result.probabilities.map((p, byte) => [p, byte]).sort((a, b) => b[0] - a[0]).slice(0, 5);
      this.predictions.replaceChildren(
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col" }, [this.root.dataset.textByte]),
          el("th", { scope: "col" }, [this.root.dataset.textProbability])])]),
        el("tbody", {}, ranked.map(([p, byte]) => el("tr", { "data-byte": String(byte) }, [
          el("th", { scope: "row" }, [label(byte)]),
          el("td", { "data-value": String(p) }, [el("span", { class: "ae-num" }, [format(p)])]),
        ]))),
      );
      this.paint();
      const scroller = this.weights.parentElement;
      if (scroller.scrollWidth > scroller.clientWidth) scroller.setAttribute("tabindex", "0");
      else scroller.removeAttribute("tabindex");
    }

    paint() {
      if (!this.weights) return;
      const style = getComputedStyle(this.root);
      const low = parseColour(style.getPropertyValue("--ae-heat-low")) || [255, 255, 255];
      const high = parseColour(style.getPropertyValue("--ae-heat-high")) || [26, 35, 126];
      const masked = parseColour(style.getPropertyValue("--ae-masked")) || [224, 224, 224];
      for (const cell of this.weights.querySelectorAll("td")) {
        const rgb = cell.hasAttribute("data-masked") ? masked : low.map((c, i) => Math.round(c + (high[i] - c) * Number(cell.dataset.value)));
        cell.style.backgroundColor = `rgb(${rgb.join(", ")})`;
        cell.style.color = textColourOn(rgb);
      }
    }
  }

  function start() {
    for (const root of document.querySelectorAll(".gpt-explorer:not([data-ready])")) new GptExplorer(root);
  }

  if (typeof window.document$ !== "undefined") window.document$.subscribe(start);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
