// Plaza rules in JavaScript: contract plaza:rules@0.2.0 in its component form
// (plugin-sdk/wit/component/rule.wit), built with componentize-js by `build.mjs`.
//
// A rule reads one cart through `Input` and proposes effects with `Effect`; the host
// disposes (clips, allocates, explains) exactly as for a Rust rule. Money is integer fen
// (JavaScript numbers, exact below 2^53, far above any amount the host accepts); rates are
// parts per million. A rule has no clock, randomness, files or network: the request's time
// is `input.cart.nowMs`.
//
// The configuration's JSON Schema is the rule's one description of its configuration:
// `validate` checks a configuration against it (with @cfworker/json-schema) before the
// rule's own `validate` sees it, and the host shows the same schema to plan authors.

import { Validator } from "@cfworker/json-schema";

const ABSENT = 0xffffffff;
const CART_HEADER = 128;
const LINE_RECORD = 64;
const STEP_HEADER = 32;
const LOG_CAPACITY = 4096;
const CHANNELS = [
  "live_room", "short_video", "official_account", "mini_program",
  "search", "community", "private_chat", "offline_qr",
];

/** Pipeline stages, in the order a plan runs them. */
export const Stage = Object.freeze({
  ItemPrice: "item_price",
  StorePromotion: "store_promotion",
  Coupon: "coupon",
  Points: "points",
  Shipping: "shipping",
  Commission: "commission",
});

/** Parties of the distribution waterfall; `Party.upline(1)` is a promoter's upline. */
export const Party = Object.freeze({
  Merchant: "merchant",
  CarryingAgency: "carrying_agency",
  HelperAgency: "helper_agency",
  Creator: "creator",
  PromoterAgency: "promoter_agency",
  Promoter: "promoter",
  Livestreamer: "livestreamer",
  upline: (level) => ({ upline: level }),
});

/** `29900` → `"¥299.00"`, as the Rust SDK's `Money` displays. */
export function yuan(fen) {
  const abs = Math.abs(fen);
  const cents = String(abs % 100).padStart(2, "0");
  return `${fen < 0 ? "-" : ""}¥${Math.floor(abs / 100)}.${cents}`;
}

/** `amount × ppm / 1e6`, rounded down, exact (no floating point). */
export function rateFloor(amount, ppm) {
  return Number((BigInt(amount) * BigInt(ppm)) / 1000000n);
}

/** The effects a rule may propose (the host's API form of each). */
export const Effect = Object.freeze({
  /** Take `discount` off one line (an index into `input.cart.lines`). */
  lineDiscount: (line, discount, label, coupon = null) =>
    ({ line_adjustment: { line, discount, label, coupon } }),
  /** Take `discount` off the order; the host allocates it across `lines` (empty: all). */
  orderDiscount: (discount, label, coupon = null, lines = []) =>
    ({ order_adjustment: { discount, label, coupon, lines } }),
  /** Take `discount` off the shipping fee. */
  shippingDiscount: (discount, label) => ({ shipping_adjustment: { discount, label } }),
  /** A share of `line` at `rate` ppm of what `payer` received on it. */
  commissionRate: (line, payer, payee, beneficiary, rate, label) =>
    ({ commission: { line, payer, payee, beneficiary, share: { rate }, label } }),
  /** A fixed share of `line`. */
  commissionAmount: (line, payer, payee, beneficiary, amount, label) =>
    ({ commission: { line, payer, payee, beneficiary, share: { amount }, label } }),
  /** A free gift line. */
  gift: (sku, quantity, value, label) => ({ gift: { sku, quantity, value, label } }),
  /** Pay part of the order with the buyer's points (points stage). */
  pointsDeduction: (points, label) => ({ points_deduction: { points, label } }),
  /** Text for the explanation; changes nothing. */
  note: (text) => ({ note: text }),
});

let logged = "";
let logTruncated = false;

/** Append a line to this evaluation's log (4 KiB kept; the host keeps its own limit). */
export function log(message) {
  const line = `${message}\n`;
  if (logged.length + line.length > LOG_CAPACITY) {
    logTruncated = true;
    logged += line.slice(0, Math.max(0, LOG_CAPACITY - logged.length));
  } else {
    logged += line;
  }
}

class Bytes {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(at, size) {
    if (at + size > this.bytes.length) throw new Error("malformed contract input: a field lies past the end");
  }
  u8(at) { this.check(at, 1); return this.view.getUint8(at); }
  u16(at) { this.check(at, 2); return this.view.getUint16(at, true); }
  u32(at) { this.check(at, 4); return this.view.getUint32(at, true); }
  i64(at) {
    this.check(at, 8);
    const value = this.view.getBigInt64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error("malformed contract input: an amount past 2^53");
    }
    return Number(value);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads the cart's strings, lists and lines (layout: the Rust SDK's `wire` module). */
class CartReader {
  constructor(bytes) {
    const b = new Bytes(bytes);
    if (utf8.decode(bytes.subarray(0, 4)) !== "PZC2") throw new Error("malformed contract input: the cart does not start with PZC2");
    this.b = b;
    this.lineCount = b.u32(4);
    this.spansAt = CART_HEADER + LINE_RECORD * this.lineCount;
    const spans = b.u32(8);
    this.textAt = this.spansAt + 8 * spans;
    if (this.textAt + b.u32(12) !== bytes.length) throw new Error("malformed contract input: the cart's length does not match its counts");
    this.text = bytes.subarray(this.textAt);
  }
  str(start, len) {
    if (start + len > this.text.length) throw new Error("malformed contract input: a string lies outside the text");
    return utf8.decode(this.text.subarray(start, start + len));
  }
  span(at) { return this.str(this.b.u32(at), this.b.u32(at + 4)); }
  opt(at) { return this.b.u32(at) === ABSENT ? null : this.span(at); }
  list(at) {
    const start = this.b.u32(at);
    const len = this.b.u32(at + 4);
    const out = [];
    for (let i = start; i < start + len; i++) {
      const entry = this.spansAt + 8 * i;
      if (entry + 8 > this.textAt) throw new Error("malformed contract input: a list lies outside the span table");
      out.push(this.span(entry));
    }
    return out;
  }
  line(index) {
    if (index >= this.lineCount) throw new Error("malformed contract input: a step names a line the cart does not have");
    const at = CART_HEADER + LINE_RECORD * index;
    return Object.freeze({
      id: this.span(at),
      sku: this.span(at + 8),
      spu: this.span(at + 16),
      merchant: this.span(at + 24),
      categories: this.list(at + 32),
      tags: this.list(at + 40),
      quantity: this.b.u32(at + 48),
      unitPrice: this.b.i64(at + 56),
    });
  }
}

/** One evaluation's input: the lines the step sees, the buyer, the pipeline state so far. */
export class Input {
  constructor(cartBytes, stepBytes) {
    const c = new CartReader(cartBytes);
    const s = new Bytes(stepBytes);
    if (utf8.decode(stepBytes.subarray(0, 4)) !== "PZS2") throw new Error("malformed contract input: the step does not start with PZS2");
    const visible = s.u32(4);
    const configLen = s.u32(8);
    const payableAt = STEP_HEADER + Math.ceil((4 * visible) / 8) * 8;
    const configAt = payableAt + 8 * visible;
    if (configAt + configLen !== stepBytes.length) throw new Error("malformed contract input: the step's length does not match its counts");
    const lines = [];
    const payable = [];
    for (let i = 0; i < visible; i++) {
      lines.push(c.line(s.u32(STEP_HEADER + 4 * i)));
      payable.push(s.i64(payableAt + 8 * i));
    }
    const base = s.u8(12);
    if (base > 1) throw new Error("malformed contract input: unknown threshold base");
    const channel = CHANNELS[c.b.u8(24)];
    if (channel === undefined) throw new Error("malformed contract input: unknown channel");
    const party = (i) => c.opt(64 + 8 * i);
    this.cart = Object.freeze({
      lines,
      buyer: Object.freeze({
        id: c.span(32),
        memberTier: c.opt(40),
        newCustomer: c.b.u8(26) !== 0,
        tags: c.list(48),
        points: c.b.i64(120),
      }),
      channel,
      attribution: Object.freeze({
        promoter: party(0),
        promoterAgency: party(1),
        creator: party(2),
        livestreamer: party(3),
        carryingAgency: party(4),
        helperAgency: party(5),
        shareLink: party(6),
      }),
      couponCodes: c.list(56),
      gift: c.b.u8(25) !== 0,
      giftRecipients: c.b.u16(27),
      nowMs: c.b.i64(16),
    });
    this.state = Object.freeze({ payable, shipping: s.i64(16), orderTotal: s.i64(24) });
    this.step = Object.freeze({ thresholdBase: base === 0 ? "original" : "current" });
    this.config = utf8.decode(stepBytes.subarray(configAt));
  }
  /** List price × quantity of line `index`. */
  originalOf(index) { const l = this.cart.lines[index]; return l.unitPrice * l.quantity; }
  /** The original amounts of all lines this step sees. */
  originalTotal() { return this.cart.lines.reduce((sum, _, i) => sum + this.originalOf(i), 0); }
  /** What the lines this step sees still cost. */
  payableTotal() { return this.state.payable.reduce((sum, p) => sum + p, 0); }
  /** The amount a threshold is judged on, as the plan step says: original or current. */
  thresholdAmount() { return this.step.thresholdBase === "original" ? this.originalTotal() : this.payableTotal(); }
  /** Units across the lines this step sees. */
  itemCount() { return this.cart.lines.reduce((sum, l) => sum + l.quantity, 0); }
  /** True when the buyer presented `code`. */
  hasCoupon(code) { return this.cart.couponCodes.includes(code); }
}

function message(error) {
  return typeof error === "string" ? error : String(error?.message ?? error);
}

/**
 * Export a rule: `export const { describe, validate, evaluate } = rule({...})`.
 *
 * `configSchema` is the configuration's JSON Schema (draft 2020-12); `validate(config)`
 * returns a refusal message or nothing, for what the schema cannot say;
 * `evaluate(config, input)` returns the proposed effects.
 */
export function rule({ name, version, stage, description, configSchema, validate, evaluate }) {
  const schema = new Validator(configSchema, "2020-12", false);
  const parse = (text) => {
    let config;
    try {
      config = JSON.parse(text);
    } catch (e) {
      throw `invalid configuration: ${message(e)}`;
    }
    const checked = schema.validate(config);
    if (!checked.valid) {
      // Name the field: of a `oneOf`, the branch that came closest (fewest complaints),
      // and in it the deepest complaint (the first of equals).
      const branch = (e) => /\/oneOf\/(\d+)\//.exec(e.keywordLocation)?.[1];
      const counts = new Map();
      for (const e of checked.errors) {
        const b = branch(e);
        if (b !== undefined) counts.set(b, (counts.get(b) ?? 0) + 1);
      }
      const closest = [...counts].sort((x, y) => x[1] - y[1])[0]?.[0];
      const inClosest = checked.errors.filter((e) => branch(e) === closest);
      const candidates = inClosest.length > 0 ? inClosest : checked.errors;
      const depth = (e) => e.instanceLocation.split("/").length;
      const deepest = candidates.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      throw `invalid configuration: ${deepest.instanceLocation}: ${deepest.error}`;
    }
    return config;
  };
  return {
    describe() {
      return JSON.stringify({ name, version, stage, description, config_schema: JSON.stringify(configSchema) });
    },
    validate(text) {
      const config = parse(text);
      const refusal = validate ? validate(config) : undefined;
      if (refusal) throw refusal;
    },
    evaluate(cartBytes, stepBytes) {
      logged = "";
      logTruncated = false;
      let answer;
      try {
        const input = new Input(cartBytes, stepBytes);
        const effects = evaluate(parse(input.config), input);
        answer = { tag: "ok", val: JSON.stringify(effects) };
      } catch (e) {
        answer = { tag: "err", val: message(e) };
      }
      return { answer, log: logged, logTruncated };
    },
  };
}
