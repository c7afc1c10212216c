'use strict';
// Starts the real Verdict binary (build/verdict serve) on a free loopback
// port with a config file and a policy directory written for the test, and
// a small recording proxy in front of its Backstage endpoints, so that the
// test sees exactly what went over the wire.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '../../../..');

// startVerdict resolves to { url, proxyUrl, exchanges, output(), stop() }.
// opts: backstageUrl, applyConditionsToken, opsToken (a static token whose
// subject may read /v1/policies), allow (the allow-list's permissions).
async function startVerdict(opts) {
  const bin = process.env.VERDICT_BIN || path.join(repo, 'build/verdict');
  const wasmDir = process.env.VERDICT_EXAMPLES_WASM || path.join(repo, 'build/examples');
  for (const f of [bin, path.join(wasmDir, 'catalog-owner.wasm'), path.join(wasmDir, 'allow-list.wasm')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run make build guests first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-compat-'));
  const policies = path.join(dir, 'policies');
  fs.mkdirSync(policies);
  fs.copyFileSync(path.join(wasmDir, 'catalog-owner.wasm'), path.join(policies, 'catalog-owner.wasm'));
  fs.copyFileSync(path.join(wasmDir, 'allow-list.wasm'), path.join(policies, 'allow-list.wasm'));
  fs.writeFileSync(path.join(policies, 'allow-list.yaml'),
    `allow:\n${opts.allow.map(p => `  - ${p}\n`).join('')}`);
  // JSON is YAML: no quoting surprises for URLs and tokens.
  const config = {
    server: { listen: '127.0.0.1:0', trustedSubjects: ['compat-ops'] },
    policies: { dir: policies },
    backstage: {
      baseUrl: opts.backstageUrl,
      timeout: '5s',
      applyConditions: { token: opts.applyConditionsToken },
      auth: {
        externalAccess: [{ type: 'static', options: { token: opts.opsToken, subject: 'compat-ops' } }],
      },
    },
    decisionLog: { sink: 'off' },
    log: { level: 'info', format: 'json' },
  };
  const configFile = path.join(dir, 'verdict.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  // Verdict reads VERDICT_* variables over the config file: keep the
  // caller's out of the child.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^VERDICT_/i.test(k)));
  const child = spawn(bin, ['serve', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', d => { output += d; });
  const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })));

  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`verdict did not start in 30 s:\n${output}`)), 30000);
    child.stderr.on('data', d => {
      output += d;
      for (const line of output.split('\n')) {
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'listening') { clearTimeout(timer); resolve(rec.addr); }
        } catch { /* not a JSON line (yet) */ }
      }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`verdict exited (${code ?? signal}):\n${output}`)); });
  });
  const url = `http://${addr}`;

  // Wait for the first policy snapshot.
  const deadline = Date.now() + 60000;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`verdict not ready in 60 s:\n${output}`);
    await new Promise(r => setTimeout(r, 100));
  }

  // The recording proxy: the client's discovery points "permission" here.
  const exchanges = [];
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = http.request(`${url}${req.url}`, { method: req.method, headers: req.headers }, upRes => {
        const out = [];
        upRes.on('data', c => out.push(c));
        upRes.on('end', () => {
          const resBody = Buffer.concat(out);
          exchanges.push({
            method: req.method, path: req.url, authorization: req.headers.authorization,
            request: parse(body), status: upRes.statusCode, response: parse(resBody),
            contentType: upRes.headers['content-type'],
          });
          res.writeHead(upRes.statusCode, upRes.headers);
          res.end(resBody);
        });
      });
      up.on('error', err => { res.writeHead(502); res.end(String(err)); });
      up.end(body);
    });
  });
  await new Promise(resolve => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;

  return {
    url,
    proxyUrl,
    exchanges,
    output: () => output,
    async stop() {
      proxy.closeAllConnections?.();
      await new Promise(resolve => proxy.close(resolve));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
      const { code, signal } = await exited;
      clearTimeout(kill);
      fs.rmSync(dir, { recursive: true, force: true });
      return { code, signal };
    },
  };
}

function parse(buf) {
  const s = buf.toString();
  try { return JSON.parse(s); } catch { return s; }
}

module.exports = { startVerdict };
