// Native unit tests of the AssemblyScript SDK's JSON reader and writer, run
// under node's test runner against the built modules: the conformance policy
// (whose conf.reason echoes every decoded string back through the writer)
// and test/policy.ts (the SDK's answer checks, values, parse, configure).
//
//   make sdk-as-test      (builds test/policy.ts with asc first)
//
// VERDICT_BUILD_DIR names the build directory (default: the repository's build/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const build = process.env.VERDICT_BUILD_DIR ?? fileURLToPath(new URL("../../../build/", import.meta.url));
const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

// load instantiates a module with the host's log; call gives it bytes the way
// the host does (verdict_alloc, copy, call, copy out) and returns the output
// as text, which must be valid UTF-8.
function load(rel) {
  const logs = [];
  let memory;
  const mod = new WebAssembly.Module(readFileSync(join(build, rel)));
  const inst = new WebAssembly.Instance(mod, {
    "verdict:host/v1": {
      log(level, ptr, len) { logs.push({ level, msg: utf8.decode(new Uint8Array(memory.buffer, ptr, len)) }); },
    },
  });
  const x = inst.exports;
  memory = x.memory;
  const call = (fn, input) => {
    const bytes = typeof input === "string" ? enc.encode(input) : input;
    const ptr = x.verdict_alloc(bytes.length);
    assert.ok(ptr !== 0, "verdict_alloc failed");
    new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
    const packed = fn(ptr, bytes.length);
    x.verdict_free(ptr, bytes.length);
    const optr = Number(packed >> 32n), olen = Number(packed & 0xffffffffn);
    return utf8.decode(new Uint8Array(memory.buffer, optr, olen).slice());
  };
  return {
    logs,
    exports: x,
    evaluate: (input) => call(x.verdict_evaluate, input),
    configure: (input) => call(x.verdict_configure, input),
    reparse: (input) => call(x.reparse, input),
    describe: () => {
      const packed = x.verdict_describe();
      return utf8.decode(new Uint8Array(memory.buffer, Number(packed >> 32n), Number(packed & 0xffffffffn)).slice());
    },
  };
}

const conf = load("sdk/assemblyscript/conformance.wasm");
const pol = load("sdk-test/assemblyscript/policy.wasm");

const USER = `"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["user:default/a","group:default/g"]}`;
const SERVICE = `"principal":{"type":"service","subject":"plugin:catalog"}`;
const item = (id, name) => `{"id":"${id}","permission":{"type":"basic","name":"${name}","attributes":{}}}`;
const ritem = (id, name) => `{"id":"${id}","permission":{"type":"resource","name":"${name}","attributes":{"action":"read"},"resourceType":"t"}}`;
const req = (principal, ...items) => `{"abi":1,${principal},"items":[${items.join(",")}]}`;
const ECHO_USER = "principal=user user=user:default/a subject=- actor=- owners=user:default/a,group:default/g";
const badInput = (out) => out.startsWith(`{"error":{"code":"bad_input"`);

// refEcho decodes a resourceRef written as escaped and returns how the writer
// wrote it back (as raw JSON string content).
function refEcho(escaped) {
  const out = conf.evaluate(req(USER, `{"id":"0","permission":{"type":"basic","name":"conf.reason"},"resourceRef":"${escaped}"}`));
  const prefix = `{"items":[{"id":"0","result":"ALLOW","reason":"name=conf.reason type=basic action=- resourceType=- ref=`;
  const suffix = ` ${ECHO_USER}"}]}`;
  assert.ok(out.startsWith(prefix) && out.endsWith(suffix), `unexpected output ${JSON.stringify(out)}`);
  return out.slice(prefix.length, out.length - suffix.length);
}

test("basic results and an empty batch", () => {
  assert.equal(conf.evaluate(req(USER, item("0", "conf.allow"), item("1", "conf.deny"), item("2", "conf.abstain"),
    item("3", "conf.allow.reason"), item("4", "conf.deny.reason"), item("5", "other"))),
    `{"items":[{"id":"0","result":"ALLOW"},{"id":"1","result":"DENY"},{"id":"2","result":"ABSTAIN"},` +
    `{"id":"3","result":"ALLOW","reason":"allowed by conformance policy"},` +
    `{"id":"4","result":"DENY","reason":"denied by conformance policy"},{"id":"5","result":"ABSTAIN"}]}`);
  assert.equal(conf.evaluate(req(USER)), `{"items":[]}`);
});

test("echo of a user, a service and an actor", () => {
  assert.equal(conf.evaluate(req(USER, item("0", "conf.reason"))),
    `{"items":[{"id":"0","result":"ALLOW","reason":"name=conf.reason type=basic action=- resourceType=- ref=- ${ECHO_USER}"}]}`);
  assert.equal(conf.evaluate(req(SERVICE, ritem("7", "conf.reason"))),
    `{"items":[{"id":"7","result":"ALLOW","reason":"name=conf.reason type=resource action=read resourceType=t ref=- ` +
    `principal=service user=- subject=plugin:catalog actor=- owners="}]}`);
  assert.equal(conf.evaluate(`{"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[],` +
    `"actor":{"type":"service","subject":"plugin:x"}},"items":[{"id":"0","permission":{"type":"basic","name":"conf.reason"},"resourceRef":""}]}`),
    `{"items":[{"id":"0","result":"ALLOW","reason":"name=conf.reason type=basic action=- resourceType=- ref= ` +
    `principal=user user=user:default/a subject=- actor=plugin:x owners="}]}`);
});

test("escapes", () => {
  for (const [input, want] of [
    [String.raw`q\" b\\ s\/ \b\f\n\r\t`, String.raw`q\" b\\ s/ \b\f\n\r\t`],
    [String.raw`\u0000\u0001\u001F\u007f\u0020`, "\\u0000\\u0001\\u001f\x7f "],
    [String.raw`\u0041\u004a\u004A`, "AJJ"],
    [String.raw`a\u003cb\u003e\u0026`, "a<b>&"],
  ]) assert.equal(refEcho(input), want, input);
});

test("unicode, surrogate pairs and lone surrogates", () => {
  for (const [input, want] of [
    [String.raw`\u00e9\u00E9é`, "ééé"],
    [String.raw`\u2028\u2029\uffff`, "\u2028\u2029\uffff"],
    [String.raw`\ud83d\ude00|\uD83D\uDE00|😀`, "😀|😀|😀"],
    // Lone surrogates become U+FFFD, as encoding/json decodes them.
    [String.raw`\ud800|\udc00|\udfff`, "\ufffd|\ufffd|\ufffd"],
    [String.raw`\ud800\u0041|\ud800\ud800|\ud800x|\ude00\ud83d`, "\ufffdA|\ufffd\ufffd|\ufffdx|\ufffd\ufffd"],
    [String.raw`a\ud83d`, "a\ufffd"],
  ]) assert.equal(refEcho(input), want, input);
});

test("invalid UTF-8 in the input never breaks the output", () => {
  const text = req(USER, `{"id":"0","permission":{"type":"basic","name":"conf.reason"},"resourceRef":"XX"}`);
  for (const bad of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x9c], [0xff]]) {
    const bytes = enc.encode(text);
    const at = text.indexOf("XX");
    const input = new Uint8Array([...bytes.slice(0, at), ...bad, ...bytes.slice(at + 2)]);
    const out = conf.evaluate(input); // valid UTF-8, or evaluate throws
    assert.ok(out.startsWith(`{"items":[{"id":"0","result":"ALLOW"`) || badInput(out), out);
  }
});

const LEAF = (rule, params) => `{"rule":"${rule}","resourceType":"t"${params ? `,"params":${params}` : ""}}`;
const OWNER = LEAF("IS_OWNER", `{"claims":["user:default/a","group:default/g"]}`);
const PUBLIC = LEAF("IS_PUBLIC");
const KIND = LEAF("IS_KIND", `{"kinds":["Group","User"]}`);
const cond = (c) => `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"conf","resourceType":"t","conditions":${c}}]}`;

test("every criteria shape", () => {
  for (const [name, want] of [
    ["conf.cond.owner", OWNER],
    ["conf.cond.noparams", PUBLIC],
    ["conf.cond.params", LEAF("HAS_VALUES", `{"s":"text \\"quoted\\" \\\\ ünïcødé ✓","n":42,"f":-1.5,"t":true,"no":false,"z":null,"list":["a",1,true,null]}`)],
    ["conf.cond.not", `{"not":${KIND}}`],
    ["conf.cond.allof", `{"allOf":[${OWNER},${PUBLIC}]}`],
    ["conf.cond.anyof", `{"anyOf":[${OWNER},{"not":${KIND}}]}`],
    ["conf.cond.nested", `{"anyOf":[{"allOf":[${OWNER},{"not":{"anyOf":[${KIND},${PUBLIC}]}}]},{"not":{"not":${PUBLIC}}}]}`],
  ]) assert.equal(conf.evaluate(req(USER, ritem("0", name))), cond(want), name);
  assert.equal(conf.evaluate(req(SERVICE, ritem("0", "conf.cond.owner"))), cond(LEAF("IS_OWNER", `{"claims":[]}`)));
  assert.equal(conf.evaluate(req(USER, item("0", "conf.cond.owner"))),
    `{"items":[{"id":"0","result":"DENY","reason":"conditional needs a resource permission"}]}`);
  assert.equal(conf.evaluate(req(USER, ritem("0", "conf.cond.unknown"))), `{"items":[{"id":"0","result":"ABSTAIN"}]}`);
});

test("unknown fields, key order, repeated and escaped keys, nulls", () => {
  assert.equal(conf.evaluate(`{"x":{"a":[1,{"b":null}],"c":"\\u00e9"},"items":[{"zz":[[]],"permission":{"q":{},` +
    `"attributes":{"action":"read","extra":-0.5e+3},"name":"conf.reason","type":"basic"},"id":"9","y":true}],` +
    `"principal":{"ownershipEntityRefs":["r"],"extra":false,"type":"user","userEntityRef":"u"},"abi":1,"more":null}`),
    `{"items":[{"id":"9","result":"ALLOW","reason":"name=conf.reason type=basic action=read resourceType=- ref=- ` +
    `principal=user user=u subject=- actor=- owners=r"}]}`);
  assert.equal(conf.evaluate(req(USER, `{"id":"0","permission":{"type":"basic","n\\u0061me":"conf.deny"}}`)),
    `{"items":[{"id":"0","result":"DENY"}]}`);
  assert.equal(conf.evaluate(req(USER, `{"id":"0","permission":{"name":"conf.deny","type":"basic","name":"conf.allow"}}`)),
    `{"items":[{"id":"0","result":"ALLOW"}]}`);
  assert.equal(conf.evaluate(req(USER, `{"id":"0","permission":{"type":"basic","Name":"conf.allow"}}`)),
    `{"items":[{"id":"0","result":"ABSTAIN"}]}`);
  assert.equal(conf.evaluate(`{"principal":{"type":"user","userEntityRef":null,"ownershipEntityRefs":null,"actor":null},` +
    `"items":[{"id":null,"permission":{"type":"basic","name":"conf.reason","attributes":null,"resourceType":null},"resourceRef":null}]}`),
    `{"items":[{"id":"","result":"ALLOW","reason":"name=conf.reason type=basic action=- resourceType=- ref=- ` +
    `principal=user user=- subject=- actor=- owners="}]}`);
  assert.equal(conf.evaluate(req(USER, item(String.raw`a\"b\\c\u0000\u00e9`, "conf.allow"))),
    `{"items":[{"id":"a\\"b\\\\c\\u0000é","result":"ALLOW"}]}`);
});

test("whitespace", () => {
  assert.equal(conf.evaluate(` \t\r\n{ \t\r\n"principal" \t\r\n: \t\r\n{ "type" : "none" } , "items"\n:\n[\n{"id"\t:\t"0"\r,` +
    `\r"permission" : { "type" : "basic" , "name" : "conf.allow" , "attributes" : { } } } ] } \n`),
    `{"items":[{"id":"0","result":"ALLOW"}]}`);
  for (const bad of [`\f{"principal":{"type":"none"},"items":[]}`, `{"principal":{"type":"none"},\v"items":[]}`,
    `{"principal":{"type":"none"},"items":[]}\u00a0`]) assert.ok(badInput(conf.evaluate(bad)), JSON.stringify(bad));
});

test("wrong types and malformed input are bad_input", () => {
  for (const bad of [
    "", "[]", `{"items":[]}`, `{"principal":[],"items":[]}`, `{"principal":{"type":"none"}}`,
    `{"principal":{"type":"none"},"items":{}}`, `{"principal":{"type":1},"items":[]}`,
    `{"principal":{"ownershipEntityRefs":"a"},"items":[]}`, `{"principal":{"ownershipEntityRefs":["a",1]},"items":[]}`,
    `{"principal":{"actor":"x"},"items":[]}`, `{"principal":{},"items":[5]}`, `{"principal":{},"items":[{"id":0}]}`,
    `{"principal":{},"items":[{"resourceRef":{}}]}`, `{"principal":{},"items":[{"permission":"p"}]}`,
    `{"principal":{},"items":[{"permission":{"attributes":{"action":true}}}]}`,
    "{", `{"principal"`, `{"principal":{},}`, `{"principal":{},"items":[],}`, `{"principal":{},"items":[,]}`,
    `{"principal":{},"items":[{},]}`, `{"principal":{} "items":[]}`, `{principal:{},"items":[]}`,
    `{"principal":{},"items":[]}}`, `{"principal":{},"items":[]} x`, `{"principal":{},"items":[]}{}`,
    `{"principal":{"type":"a\tb"},"items":[]}`, `{"principal":{"type":"\\x"},"items":[]}`,
    `{"principal":{"type":"\\u12"},"items":[]}`, `{"principal":{"type":"\\u12G4"},"items":[]}`,
    `{"principal":{"type":"\\ud800\\u"},"items":[]}`, `{"principal":{"x":tru},"items":[]}`,
    `{"principal":{"x":True},"items":[]}`, `{"principal":{"x":01},"items":[]}`, `{"principal":{"x":1.},"items":[]}`,
    `{"principal":{"x":-},"items":[]}`, `{"principal":{"x":.5},"items":[]}`, `{"principal":{"x":1e},"items":[]}`,
    `{"principal":{"x":+1},"items":[]}`, `{"principal":{"x":NaN},"items":[]}`, `{"principal":{"x":[1 2]},"items":[]}`,
    `{"principal":{"x":{"a" 1}},"items":[]}`, `{"principal":{"x":{1:1}},"items":[]}`,
    `{"principal":{"type":"a\u0000"},"items":[]}`, `\ufeff{"principal":{},"items":[]}`,
  ]) {
    const out = conf.evaluate(bad);
    assert.ok(badInput(out), `${JSON.stringify(bad)}: ${out}`);
  }
});

test("every prefix of a request is bad_input", () => {
  const full = req(USER, ritem("0", "conf.cond.nested"),
    `{"id":"1","permission":{"type":"basic","name":"conf.reason"},"resourceRef":"\\ud83d\\ude00\\u00e9\\né -1.5e+3"}`);
  assert.ok(conf.evaluate(full).startsWith(`{"items":[`));
  const bytes = enc.encode(full);
  for (let n = 0; n < bytes.length; n++) {
    const out = conf.evaluate(bytes.slice(0, n));
    assert.ok(badInput(out), `prefix of ${n} bytes: ${out}`);
  }
});

test("nesting up to 512 levels", () => {
  for (let depth = 510; depth <= 513; depth++) {
    const out = conf.evaluate(`{"principal":{"type":"none"},"items":[],"x":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`);
    if (depth <= 512) assert.equal(out, `{"items":[]}`, `depth ${depth}`);
    else assert.ok(badInput(out), `depth ${depth}: ${out}`);
  }
});

test("single-byte changes never trap", () => {
  const full = enc.encode(req(USER, ritem("0", "conf.cond.params"), item("1\\u00e9", "conf.reason")));
  const subst = enc.encode(`"\\{}[],: \tu0x`);
  for (let i = 0; i < full.length; i++) {
    for (const b of [...subst, 0x80, 0xff]) {
      const input = full.slice();
      input[i] = b;
      const out = conf.evaluate(input);
      assert.ok(out.startsWith(`{"items":[`) || badInput(out), out);
    }
  }
});

test("describe and configure without settings", () => {
  assert.equal(conf.describe(), `{"abi":"1.0","name":"conformance","version":"0.1.0","sdk":"assemblyscript/0.1.0","claims":["conf.*"]}`);
  assert.equal(conf.configure("{}"), `{"ok":true}`);
  assert.equal(conf.configure(`{"settings":null,"files":null}`), `{"ok":true}`);
  assert.ok(conf.configure(`{"settings":{}}`).startsWith(`{"error":{"code":"invalid_settings"`));
  assert.ok(conf.configure(`{"files":{"a":"b"}}`).startsWith(`{"error":{"code":"invalid_settings"`));
  assert.ok(badInput(conf.configure(`{"files":[]}`)));
  assert.ok(badInput(conf.configure(`{"files":{"a":1}}`)));
  assert.ok(badInput(conf.configure(`{"settings":`)));
});

const preq = (name, rt = true) => `{"principal":{"type":"none"},"items":[{"id":"0","permission":` +
  (rt ? `{"type":"resource","name":"${name}","resourceType":"t"}}]}` : `{"type":"basic","name":"${name}"}}]}`);
const denied = (why) => `{"items":[{"id":"0","result":"DENY","reason":"${why}"}]}`;

test("invalid answers become DENY, with a warning", () => {
  for (const [name, rt, why] of [
    ["cond.ok", false, "conditional needs a resource permission"],
    ["cond.nopluginid", true, "conditional without pluginId"],
    ["cond.otherrt", true, "conditional for another resource type"],
    ["cond.leafrt", true, "a condition for another resource type"],
    ["cond.norule", true, "a condition without rule"],
    ["cond.emptyallof", true, "an empty allOf or anyOf"],
    ["cond.emptyanyof", true, "an empty allOf or anyOf"],
    ["cond.depth33", true, "criteria deeper than 32"],
    ["cond.nodes1001", true, "criteria with more than 1000 nodes"],
    ["allow.withplugin", true, "conditional fields on a non-conditional answer"],
    ["deny.withconditions", true, "conditional fields on a non-conditional answer"],
  ]) {
    pol.logs.length = 0;
    assert.equal(pol.evaluate(preq(name, rt)), denied(why), name);
    assert.equal(pol.logs.length, 1);
    assert.equal(pol.logs[0].level, 2);
    assert.match(pol.logs[0].msg, /became DENY/);
  }
  assert.equal(pol.evaluate(preq("cond.ok")),
    `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"plug","resourceType":"t","conditions":{"rule":"R","resourceType":"t"}}]}`);
  assert.match(pol.evaluate(preq("cond.depth32")), /"result":"CONDITIONAL"/);
  assert.match(pol.evaluate(preq("cond.nodes1000")), /"result":"CONDITIONAL"/);
});

test("value writer", () => {
  assert.equal(pol.evaluate(preq("values")),
    `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"plug","resourceType":"t","conditions":{"rule":"V","resourceType":"t",` +
    `"params":{"min":-9223372036854775808,"max":9223372036854775807,"zero":0,"num":-0.5e+10,` +
    `"ctl":"a\\u0000\\u0001\\u001f\x7f\\"\\\\/<\u2028😀\ufffd","empty":{},"none":[],"nil":null,"arr":[null,false,""]}}}]}`);
});

test("parse and write back", () => {
  for (const [input, want] of [
    [` {"a":[1,-2.5e3,true,false,null,"x\\u0000y",{}],"k":1,"k":2} `, `{"a":[1,-2.5e3,true,false,null,"x\\u0000y",{}],"k":1,"k":2}`],
    [`"\\ud83d\\ude00\\ud800"`, `"😀\ufffd"`],
    [`123456789012345678901234567890`, `123456789012345678901234567890`],
    [`[]`, `[]`],
  ]) assert.equal(pol.reparse(input), want, input);
  for (const bad of ["", "1 2", `"abc`, "01", "1.", ".5", "-", "+1", "1e", "[1,]", `{"a":1,}`, "nul", "[", "{"])
    assert.equal(pol.reparse(bad), "invalid", JSON.stringify(bad));
});

test("configure with settings and files", () => {
  assert.equal(pol.configure(`{"settings":{"ok":true},"files":{"a.yaml":"x: \\u00e9\\n"}}`), `{"ok":true}`);
  assert.equal(pol.configure(`{"settings":{"ok":false}}`),
    `{"error":{"code":"invalid_settings","message":"settings need \\"ok\\": true"}}`);
  assert.equal(pol.configure("{}"), `{"ok":true}`);
});

test("alloc refuses more than 256 MiB", () => {
  assert.equal(pol.exports.verdict_alloc((256 << 20) + 1), 0);
});

// mutate returns a copy of seed with a few random edits (xorshift32, so the
// test is reproducible): byte replacements with JSON's special bytes, UTF-8
// lead and continuation bytes, insertions, deletions and duplications.
function mutator(state) {
  const next = () => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0; };
  const special = enc.encode(`"\\{}[],:0u-.eE \t\n`);
  return (seed) => {
    let b = Array.from(seed);
    for (let k = 1 + (next() % 4); k > 0; k--) {
      const at = b.length ? next() % b.length : 0;
      const pick = next() % 5;
      const byte = next() % 3 === 0 ? [0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff, 0x00][next() % 8] : special[next() % special.length];
      if (pick === 0) b[at] = byte;
      else if (pick === 1) b.splice(at, 0, byte);
      else if (pick === 2) b.splice(at, 1 + (next() % 8));
      else if (pick === 3) b.splice(at, 0, ...b.slice(at, at + 1 + (next() % 16)));
      else b = b.slice(0, at);
    }
    return new Uint8Array(b);
  };
}

test("random mutations of requests: valid JSON out, answers or bad_input, never a trap", () => {
  const seeds = [
    req(USER, ritem("0", "conf.cond.nested"), item("1", "conf.reason")),
    req(SERVICE, ritem("0", "conf.cond.params"), `{"id":"2","permission":{"type":"basic","name":"conf.reason"},"resourceRef":"\\ud83d\\ude00\\u00e9\\n"}`),
    `{"x":[1,-2.5e+3,true,false,null,{"k":"\\ud800\\u0041"}],"items":[{"permission":{"name":"conf.allow","type":"basic"},"id":"\\u0000"}],"principal":{"type":"none"}}`,
  ].map((s) => enc.encode(s));
  const mutate = mutator(0x9e3779b9);
  for (let i = 0; i < 5000; i++) {
    const input = mutate(seeds[i % seeds.length]);
    const out = conf.evaluate(input);
    const v = JSON.parse(out);
    assert.ok(Array.isArray(v.items) || (v.error && v.error.code === "bad_input"), out);
  }
});
