// JSON values, a strict JSON parser and a writer: enough for ABI v1's fixed
// shapes, settings and condition parameters, without a JSON library.

/** Kind is the type of a JSON value. */
export enum Kind { Null, Bool, Number, String, Array, Object }

/** Field is one member of a JSON object (a condition parameter). */
export class Field {
  constructor(public key: string, public value: Value) {}
}

/** Value is a JSON value. Numbers keep their literal text (`str`). */
export class Value {
  kind: Kind = Kind.Null;
  bool: bool = false;
  /** The decoded string, or a number's literal text. */
  str: string = "";
  items: Value[] = [];
  fields: Field[] = [];

  /** get returns the value of key in an object (the last one when the key repeats), or null. */
  get(key: string): Value | null {
    if (this.kind != Kind.Object) return null;
    for (let i = this.fields.length - 1; i >= 0; i--) {
      const f = unchecked(this.fields[i]);
      if (f.key == key) return f.value;
    }
    return null;
  }
}

const NULL = new Value();

/** nul is JSON null. */
export function nul(): Value { return NULL; }
/** boolean makes true or false. */
export function boolean(b: bool): Value { const v = new Value(); v.kind = Kind.Bool; v.bool = b; return v; }
/** integer makes a number from an integer. */
export function integer(n: i64): Value { const v = new Value(); v.kind = Kind.Number; v.str = n.toString(); return v; }
/** number makes a number from its JSON literal text ("-1.5", "1e3"); it traps on anything else. */
export function number(lit: string): Value {
  const p = new Parser(lit);
  const v = p.value(0);
  if (v == null || v.kind != Kind.Number || p.pos != lit.length) unreachable();
  return v!;
}
/** str makes a string. */
export function str(s: string): Value { const v = new Value(); v.kind = Kind.String; v.str = s; return v; }
/** array makes an array. */
export function array(items: Value[]): Value { const v = new Value(); v.kind = Kind.Array; v.items = items; return v; }
/** strings makes an array of strings (e.g. a principal's ownership refs). */
export function strings(items: string[]): Value {
  const a = new Array<Value>(items.length);
  for (let i = 0; i < items.length; i++) unchecked(a[i] = str(unchecked(items[i])));
  return array(a);
}
/** object makes an object. */
export function object(fields: Field[]): Value { const v = new Value(); v.kind = Kind.Object; v.fields = fields; return v; }
/** param makes one object member. */
export function param(key: string, v: Value): Field { return new Field(key, v); }

const MAX_DEPTH = 512;

/** Parser parses JSON text (already decoded from UTF-8). */
export class Parser {
  pos: i32 = 0;
  constructor(public src: string) {}

  ws(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  /** value parses one value, or returns null on a syntax error. */
  value(depth: i32): Value | null {
    if (depth > MAX_DEPTH) return null;
    this.ws();
    const s = this.src;
    if (this.pos >= s.length) return null;
    const c = s.charCodeAt(this.pos);
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const t = this.string();
      return t == null ? null : str(t);
    }
    if (this.lit("true")) return boolean(true);
    if (this.lit("false")) return boolean(false);
    if (this.lit("null")) return NULL;
    return this.num();
  }

  lit(word: string): bool {
    if (this.src.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  digits(): i32 {
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    return this.pos - start;
  }

  num(): Value | null {
    const start = this.pos;
    if (!this.numEnd()) return null;
    const v = new Value();
    v.kind = Kind.Number;
    v.str = this.src.substring(start, this.pos);
    return v;
  }

  numEnd(): bool {
    const s = this.src;
    if (this.pos < s.length && s.charCodeAt(this.pos) == 0x2d) this.pos++;
    if (this.pos < s.length && s.charCodeAt(this.pos) == 0x30) this.pos++;
    else if (this.digits() == 0) return false;
    if (this.pos < s.length && s.charCodeAt(this.pos) == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return false;
    }
    if (this.pos < s.length && (s.charCodeAt(this.pos) | 0x20) == 0x65) {
      this.pos++;
      if (this.pos < s.length && (s.charCodeAt(this.pos) == 0x2b || s.charCodeAt(this.pos) == 0x2d)) this.pos++;
      if (this.digits() == 0) return false;
    }
    return true;
  }

  hex4(): i32 {
    const s = this.src;
    if (this.pos + 4 > s.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = s.charCodeAt(this.pos + i);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  /** skip passes over one value without keeping it; false on a syntax error. */
  skip(depth: i32): bool {
    if (depth > MAX_DEPTH) return false;
    this.ws();
    const s = this.src;
    if (this.pos >= s.length) return false;
    const c = s.charCodeAt(this.pos);
    if (c == 0x22) return this.skipString();
    if (c == 0x7b || c == 0x5b) {
      const close = c == 0x7b ? 0x7d : 0x5d;
      this.pos++;
      this.ws();
      if (this.pos < s.length && s.charCodeAt(this.pos) == close) { this.pos++; return true; }
      while (true) {
        if (c == 0x7b) {
          this.ws();
          if (this.pos >= s.length || s.charCodeAt(this.pos) != 0x22 || !this.skipString()) return false;
          this.ws();
          if (this.pos >= s.length || s.charCodeAt(this.pos) != 0x3a) return false;
          this.pos++;
        }
        if (!this.skip(depth + 1)) return false;
        this.ws();
        if (this.pos >= s.length) return false;
        const d = s.charCodeAt(this.pos++);
        if (d == 0x2c) continue;
        return d == close;
      }
    }
    if (this.lit("true") || this.lit("false") || this.lit("null")) return true;
    return this.numEnd();
  }

  /** skipString passes over a string at its opening quote. */
  skipString(): bool {
    const s = this.src;
    this.pos++;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c == 0x22) { this.pos++; return true; }
      if (c < 0x20) return false;
      if (c == 0x5c) {
        if (this.pos + 1 >= s.length) return false;
        const e = s.charCodeAt(this.pos + 1);
        this.pos += 2;
        if (e == 0x75) { if (this.hex4() < 0) return false; }
        else if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) return false;
        continue;
      }
      this.pos++;
    }
    return false;
  }

  /** expect passes whitespace and then the character c; false when c is not there. */
  expect(c: i32): bool {
    this.ws();
    if (this.pos >= this.src.length || this.src.charCodeAt(this.pos) != c) return false;
    this.pos++;
    return true;
  }

  /** peek returns the next non-whitespace character, or -1 at the end. */
  peek(): i32 {
    this.ws();
    return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : -1;
  }

  /** string parses a string at the opening quote; lone surrogates become U+FFFD. */
  string(): string | null {
    const s = this.src;
    this.pos++;
    let start = this.pos;
    let out = "";
    while (true) {
      if (this.pos >= s.length) return null;
      const c = s.charCodeAt(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) return null;
      if (c != 0x5c) { this.pos++; continue; }
      out += s.substring(start, this.pos);
      if (this.pos + 1 >= s.length) return null;
      const e = s.charCodeAt(this.pos + 1);
      this.pos += 2;
      if (e == 0x75) {
        let u = this.hex4();
        if (u < 0) return null;
        if (u >= 0xd800 && u < 0xdc00) {
          const save = this.pos;
          let lo = -1;
          if (this.pos + 1 < s.length && s.charCodeAt(this.pos) == 0x5c && s.charCodeAt(this.pos + 1) == 0x75) {
            this.pos += 2;
            lo = this.hex4();
          }
          if (lo >= 0xdc00 && lo < 0xe000) {
            out += String.fromCharCode(u, lo);
          } else {
            this.pos = save;
            out += "\uFFFD";
          }
        } else if (u >= 0xdc00 && u < 0xe000) {
          out += "\uFFFD";
        } else {
          out += String.fromCharCode(u);
        }
      } else if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else return null;
      start = this.pos;
    }
    out += s.substring(start, this.pos);
    this.pos++;
    return out;
  }

  array(depth: i32): Value | null {
    const s = this.src;
    this.pos++;
    const items = new Array<Value>();
    this.ws();
    if (this.pos < s.length && s.charCodeAt(this.pos) == 0x5d) { this.pos++; return array(items); }
    while (true) {
      const v = this.value(depth + 1);
      if (v == null) return null;
      items.push(v);
      this.ws();
      if (this.pos >= s.length) return null;
      const c = s.charCodeAt(this.pos++);
      if (c == 0x2c) continue;
      if (c == 0x5d) return array(items);
      return null;
    }
  }

  object(depth: i32): Value | null {
    const s = this.src;
    this.pos++;
    const fields = new Array<Field>();
    this.ws();
    if (this.pos < s.length && s.charCodeAt(this.pos) == 0x7d) { this.pos++; return object(fields); }
    while (true) {
      this.ws();
      if (this.pos >= s.length || s.charCodeAt(this.pos) != 0x22) return null;
      const k = this.string();
      if (k == null) return null;
      this.ws();
      if (this.pos >= s.length || s.charCodeAt(this.pos) != 0x3a) return null;
      this.pos++;
      const v = this.value(depth + 1);
      if (v == null) return null;
      fields.push(new Field(k, v));
      this.ws();
      if (this.pos >= s.length) return null;
      const c = s.charCodeAt(this.pos++);
      if (c == 0x2c) continue;
      if (c == 0x7d) return object(fields);
      return null;
    }
  }
}

/** parse parses a whole JSON document, or returns null when it is invalid. */
export function parse(text: string): Value | null {
  const p = new Parser(text);
  const v = p.value(1);
  if (v == null) return null;
  p.ws();
  return p.pos == text.length ? v : null;
}

const HEX = "0123456789abcdef";

/** Writer builds JSON text as UTF-8 bytes in a buffer it reuses. */
export class Writer {
  buf: usize = 0;
  cap: usize = 0;
  len: usize = 0;

  reset(): void { this.len = 0; }

  grow(n: usize): void {
    if (this.cap - this.len >= n) return;
    let cap = this.cap ? this.cap * 2 : 4096;
    while (cap - this.len < n) cap *= 2;
    const b = heap.alloc(cap);
    if (this.len) memory.copy(b, this.buf, this.len);
    if (this.buf) heap.free(this.buf);
    this.buf = b;
    this.cap = cap;
  }

  byte(c: i32): void {
    this.grow(1);
    store<u8>(this.buf + this.len, <u8>c);
    this.len++;
  }

  /** raw writes s, which must be ASCII. */
  raw(s: string): void {
    const n = <usize>s.length;
    this.grow(n);
    for (let i: usize = 0; i < n; i++) store<u8>(this.buf + this.len + i, <u8>s.charCodeAt(<i32>i));
    this.len += n;
  }

  string(s: string): void {
    const n = s.length;
    this.grow(<usize>n * 3 + 2);
    this.byte(0x22);
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0x80 && c != 0x22 && c != 0x5c) { this.byte(c); continue; }
      if (c < 0x80) {
        this.byte(0x5c);
        if (c == 0x22) this.byte(0x22);
        else if (c == 0x5c) this.byte(0x5c);
        else if (c == 0x0a) this.byte(0x6e);
        else if (c == 0x0d) this.byte(0x72);
        else if (c == 0x09) this.byte(0x74);
        else if (c == 0x08) this.byte(0x62);
        else if (c == 0x0c) this.byte(0x66);
        else { this.raw("u00"); this.byte(HEX.charCodeAt(c >> 4)); this.byte(HEX.charCodeAt(c & 15)); }
        continue;
      }
      if (c < 0x800) { this.byte(0xc0 | (c >> 6)); this.byte(0x80 | (c & 0x3f)); continue; }
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo < 0xe000) {
          const r = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          this.byte(0xf0 | (r >> 18)); this.byte(0x80 | ((r >> 12) & 0x3f));
          this.byte(0x80 | ((r >> 6) & 0x3f)); this.byte(0x80 | (r & 0x3f));
          i++;
          continue;
        }
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate
      this.byte(0xe0 | (c >> 12)); this.byte(0x80 | ((c >> 6) & 0x3f)); this.byte(0x80 | (c & 0x3f));
    }
    this.byte(0x22);
  }

  value(v: Value): void {
    switch (v.kind) {
      case Kind.Null: this.raw("null"); break;
      case Kind.Bool: this.raw(v.bool ? "true" : "false"); break;
      case Kind.Number: this.raw(v.str); break;
      case Kind.String: this.string(v.str); break;
      case Kind.Array: {
        this.byte(0x5b);
        for (let i = 0; i < v.items.length; i++) {
          if (i) this.byte(0x2c);
          this.value(unchecked(v.items[i]));
        }
        this.byte(0x5d);
        break;
      }
      default: this.fields(v.fields);
    }
  }

  fields(fs: Field[]): void {
    this.byte(0x7b);
    for (let i = 0; i < fs.length; i++) {
      const f = unchecked(fs[i]);
      if (i) this.byte(0x2c);
      this.string(f.key);
      this.byte(0x3a);
      this.value(f.value);
    }
    this.byte(0x7d);
  }
}
