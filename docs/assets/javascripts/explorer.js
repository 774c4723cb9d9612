// The attention explorer (docs/explorer.<lang>.md): the reader edits token embeddings and sees the
// scores, the softmax weights and the context vector of one query token change as they type.
//
// It computes exactly what attn_examples.simple computes (score_matrix, attention_matrix,
// context_vectors with scaled= and causal=), in double precision. Every string it shows comes from
// the data-* attributes and the static markup of the page, so a translated page translates it.
// On a page without a .attention-explorer element it does nothing.
(function () {
  "use strict";

  let explorerCount = 0;

  // "{token}, dimension {dimension}" + {token: "shiny", dimension: 2} -> "shiny, dimension 2"
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  // A finite number typed by a reader, or null. Accepts 0.5, -.5, 1e3, a Unicode minus and a
  // decimal comma (0,5); rejects empty fields, words, Infinity and numbers beyond double range.
  function parseNumber(text) {
    let t = text.trim().replace(/^[\u2212\u2013]/, "-");
    if (t.indexOf(".") < 0 && t.split(",").length === 2) t = t.replace(",", ".");
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
    const value = Number(t);
    return Number.isFinite(value) ? value : null;
  }

  function format(value) {
    if (value === -Infinity) return "\u2212\u221e";
    const text = value.toFixed(4);
    return /^-0\.0+$/.test(text) ? text.slice(1) : text; // no "-0.0000"
  }

  // scores = X Xᵀ (÷ √d), −∞ above the diagonal when causal; softmax of each row after subtracting its
  // maximum; context = weights · X. Returns null when a result does not fit in a double.
  function compute(x, query, scaled, causal) {
    const tokens = x.length;
    const d = x[0].length;
    const divisor = Math.sqrt(d);
    const scores = [];
    const weights = [];
    for (let i = 0; i < tokens; i++) {
      const row = [];
      for (let j = 0; j < tokens; j++) {
        if (causal && j > i) {
          row.push(-Infinity);
          continue;
        }
        let s = 0;
        for (let k = 0; k < d; k++) s += x[i][k] * x[j][k];
        if (scaled) s /= divisor;
        if (!Number.isFinite(s)) return null;
        row.push(s);
      }
      const largest = Math.max(...row); // finite: the diagonal is never masked
      const exponentials = row.map((s) => Math.exp(s - largest));
      const total = exponentials.reduce((a, b) => a + b, 0);
      scores.push(row);
      weights.push(exponentials.map((e) => e / total));
    }
    const context = [];
    for (let k = 0; k < d; k++) {
      let c = 0;
      for (let j = 0; j < tokens; j++) c += weights[query][j] * x[j][k];
      if (!Number.isFinite(c)) return null;
      context.push(c);
    }
    return { scores, weights, context };
  }

  // Colours: "#rrggbb" -> [r, g, b]; relative luminance and contrast ratio as WCAG defines them.
  function parseColour(text) {
    const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text.trim());
    return match ? match.slice(1).map((h) => parseInt(h, 16)) : null;
  }

  function luminance(rgb) {
    const [r, g, b] = rgb.map((c) => {
      const s = c / 255;
      return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  // Black or white, whichever contrasts more with the background.
  function textColourOn(rgb) {
    const l = luminance(rgb);
    return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000000" : "#ffffff";
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children || []) node.append(child);
    return node;
  }

  class Explorer {
    constructor(root) {
      this.root = root;
      this.id = `attention-explorer-${++explorerCount}`;
      this.text = root.dataset;
      this.grid = root.querySelector("[data-role=embeddings]");
      this.querySelect = root.querySelector("[data-role=query]");
      this.scaledBox = root.querySelector("[data-role=scaled]");
      this.causalBox = root.querySelector("[data-role=causal]");
      this.alert = root.querySelector("[data-role=alert]");
      this.summary = root.querySelector("[data-role=summary]");
      this.tables = {
        scores: root.querySelector("[data-role=scores]"),
        weights: root.querySelector("[data-role=weights]"),
        context: root.querySelector("[data-role=context]"),
      };
      this.alert.id = `${this.id}-alert`;
      this.result = null;
      this.reset();
      root.addEventListener("input", (event) => this.onInput(event));
      root.addEventListener("change", (event) => this.onChange(event));
      root.addEventListener("click", (event) => this.onClick(event));
      // Material's palette toggle switches data-md-color-scheme: repaint the heatmap for the new scheme
      new MutationObserver(() => this.paintHeatmap()).observe(document.body, {
        attributes: true,
        attributeFilter: ["data-md-color-scheme"],
      });
      root.dataset.ready = "true";
    }

    // --- state -------------------------------------------------------------------------------
    reset() {
      const tokens = JSON.parse(this.text.tokens);
      const embeddings = JSON.parse(this.text.embeddings);
      this.names = tokens.slice();
      this.raw = embeddings.map((row) => row.map((v) => String(v)));
      this.scaledBox.checked = false;
      this.causalBox.checked = false;
      this.renderGrid();
      this.renderQueryOptions(Number(this.text.query));
      this.update();
    }

    get tokens() {
      return this.raw.length;
    }

    get dimensions() {
      return this.raw[0].length;
    }

    displayName(i) {
      return this.names[i].trim() || fill(this.text.newToken, { n: i + 1 });
    }

    // --- the embeddings grid ----------------------------------------------------------------------
    valueLabel(i, k) {
      return fill(this.text.labelValue, { token: this.displayName(i), dimension: k + 1 });
    }

    renderGrid() {
      const head = el("tr", {}, [el("th", { scope: "col" }, [this.text.textToken])]);
      for (let k = 0; k < this.dimensions; k++) {
        head.append(el("th", { scope: "col" }, [fill(this.text.labelDimension, { n: k + 1 })]));
      }
      const body = el("tbody");
      for (let i = 0; i < this.tokens; i++) {
        const name = el("input", {
          type: "text",
          class: "ae-name",
          "data-row": i,
          "aria-label": fill(this.text.labelName, { n: i + 1 }),
          autocomplete: "off",
          spellcheck: "false",
        });
        name.value = this.names[i];
        const row = el("tr", {}, [el("td", {}, [name])]);
        for (let k = 0; k < this.dimensions; k++) {
          const input = el("input", {
            type: "text",
            inputmode: "decimal",
            class: "ae-value",
            "data-row": i,
            "data-col": k,
            "aria-label": this.valueLabel(i, k),
            autocomplete: "off",
            spellcheck: "false",
          });
          input.value = this.raw[i][k];
          row.append(el("td", {}, [input]));
        }
        body.append(row);
      }
      this.grid.replaceChildren(el("thead", {}, [head]), body);
      for (const [action, disabled] of [
        ["remove-token", this.tokens <= 1],
        ["remove-dimension", this.dimensions <= 1],
      ]) {
        const button = this.root.querySelector(`[data-action=${action}]`);
        const hadFocus = document.activeElement === button;
        button.disabled = disabled;
        if (disabled && hadFocus) {
          this.root.querySelector(`[data-action=${action.replace("remove", "add")}]`).focus();
        }
      }
    }

    relabelRow(i) {
      for (const input of this.grid.querySelectorAll(`.ae-value[data-row="${i}"]`)) {
        input.setAttribute("aria-label", this.valueLabel(i, Number(input.dataset.col)));
      }
    }

    renderQueryOptions(selected) {
      const options = this.names.map((_, i) => el("option", { value: i }, [this.displayName(i)]));
      this.querySelect.replaceChildren(...options);
      this.querySelect.value = String(Math.min(Math.max(selected, 0), this.tokens - 1));
    }

    // --- events ------------------------------------------------------------------------------
    onInput(event) {
      const target = event.target;
      if (target.classList.contains("ae-value")) {
        this.raw[Number(target.dataset.row)][Number(target.dataset.col)] = target.value;
        this.update();
      } else if (target.classList.contains("ae-name")) {
        const i = Number(target.dataset.row);
        this.names[i] = target.value;
        this.relabelRow(i);
        this.querySelect.options[i].textContent = this.displayName(i);
        this.update();
      }
    }

    onChange(event) {
      if (event.target === this.querySelect || event.target === this.scaledBox || event.target === this.causalBox) {
        this.update();
      }
    }

    onClick(event) {
      const button = event.target.closest("button[data-action]");
      if (!button || button.disabled) return;
      const query = Number(this.querySelect.value);
      switch (button.dataset.action) {
        case "add-token":
          this.names.push(fill(this.text.newToken, { n: this.tokens + 1 }));
          this.raw.push(this.raw[0].map(() => "0"));
          break;
        case "remove-token":
          if (this.tokens > 1) {
            this.names.pop();
            this.raw.pop();
          }
          break;
        case "add-dimension":
          for (const row of this.raw) row.push("0");
          break;
        case "remove-dimension":
          if (this.dimensions > 1) for (const row of this.raw) row.pop();
          break;
        case "reset":
          this.reset();
          return;
        default:
          return;
      }
      this.renderGrid();
      this.renderQueryOptions(query);
      this.update();
    }

    // --- results -----------------------------------------------------------------------------
    // Parse every field; show the results, or say which field is wrong and keep the last results.
    update() {
      const x = [];
      let firstInvalid = null;
      for (const input of this.grid.querySelectorAll(".ae-value")) {
        const i = Number(input.dataset.row);
        const value = parseNumber(input.value);
        if (value === null) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", this.alert.id);
          if (firstInvalid === null) firstInvalid = input;
        } else {
          input.removeAttribute("aria-invalid");
          input.removeAttribute("aria-describedby");
        }
        (x[i] = x[i] || []).push(value);
      }
      if (firstInvalid !== null) {
        this.alert.textContent = fill(this.text.msgInvalid, { field: firstInvalid.getAttribute("aria-label") });
        return;
      }
      const query = Number(this.querySelect.value);
      const result = compute(x, query, this.scaledBox.checked, this.causalBox.checked);
      if (result === null) {
        this.alert.textContent = this.text.msgOverflow;
        return;
      }
      this.alert.textContent = "";
      this.result = { ...result, query, names: this.names.map((_, i) => this.displayName(i)) };
      this.renderResults();
    }

    numberCell(value, extra) {
      const cell = el("td", { "data-value": String(value) }, [el("span", { class: "ae-num" }, [format(value)])]);
      if (extra) cell.append(el("span", { class: "ae-sr" }, [` (${extra})`]));
      return cell;
    }

    headerRow(labels) {
      return el("tr", {}, [el("td"), ...labels.map((label) => el("th", { scope: "col" }, [label]))]);
    }

    rowHeader(name) {
      return el("th", { scope: "row" }, [name]);
    }

    renderResults() {
      const { scores, weights, context, query, names } = this.result;
      const masked = this.text.textMasked;
      const scoreRow = el("tr", {}, [this.rowHeader(names[query])]);
      scores[query].forEach((s) => scoreRow.append(this.numberCell(s, s === -Infinity ? masked : "")));
      this.fillTable(this.tables.scores, this.headerRow(names), [scoreRow]);

      const rows = weights.map((row, i) => {
        const header = this.rowHeader(names[i]);
        if (i === query) header.append(el("span", { class: "ae-sr" }, [` (${this.text.textQuery})`]));
        const tr = el("tr", i === query ? { class: "ae-is-query" } : {}, [header]);
        row.forEach((w, j) => {
          const cell = this.numberCell(w, scores[i][j] === -Infinity ? masked : "");
          if (scores[i][j] === -Infinity) cell.classList.add("ae-masked");
          tr.append(cell);
        });
        return tr;
      });
      this.fillTable(this.tables.weights, this.headerRow(names), rows);

      const dims = context.map((_, k) => fill(this.text.labelDimension, { n: k + 1 }));
      const contextRow = el("tr", {}, [this.rowHeader(names[query]), ...context.map((c) => this.numberCell(c))]);
      this.fillTable(this.tables.context, this.headerRow(dims), [contextRow]);

      this.summary.textContent = fill(this.text.msgSummary, {
        token: names[query],
        values: context.map(format).join(", "),
      });
      this.paintHeatmap();
      this.makeScrollersFocusable();
    }

    fillTable(table, head, rows) {
      table.replaceChildren(el("thead", {}, [head]), el("tbody", {}, rows));
    }

    // Background ∝ weight, between two colours of the current scheme (set in extra.css); the text is
    // black or white, whichever contrasts more with that background.
    paintHeatmap() {
      const style = getComputedStyle(this.root);
      const low = parseColour(style.getPropertyValue("--ae-heat-low")) || [255, 255, 255];
      const high = parseColour(style.getPropertyValue("--ae-heat-high")) || [26, 35, 126];
      const maskedColour = parseColour(style.getPropertyValue("--ae-masked")) || [224, 224, 224];
      for (const cell of this.tables.weights.querySelectorAll("td[data-value]")) {
        const w = Number(cell.dataset.value);
        const rgb = cell.classList.contains("ae-masked")
          ? maskedColour
          : low.map((c, i) => Math.round(c + (high[i] - c) * w));
        cell.style.backgroundColor = `rgb(${rgb.join(", ")})`;
        cell.style.color = textColourOn(rgb);
      }
    }

    // A table wider than its column scrolls sideways: make it reachable with the keyboard.
    makeScrollersFocusable() {
      for (const scroller of this.root.querySelectorAll(".ae-results .ae-scroll")) {
        if (scroller.scrollWidth > scroller.clientWidth) scroller.setAttribute("tabindex", "0");
        else scroller.removeAttribute("tabindex");
      }
    }
  }

  function start() {
    for (const root of document.querySelectorAll(".attention-explorer:not([data-ready])")) {
      new Explorer(root);
    }
  }

  if (typeof window.document$ !== "undefined") window.document$.subscribe(start);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
