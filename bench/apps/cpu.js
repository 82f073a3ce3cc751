// A CPU-bound request listener: a fixed amount of synchronous work per request (about 3 ms on
// the 2-core bench machine), so req/s measures how many requests run in parallel. The work is a
// fixed iteration count, not a time budget, so a slower row really does less work per second.
const ITERATIONS = Number(process.env.BENCH_CPU_ITERATIONS ?? 1_500_000);

function burn(iterations) {
  // xorshift32: cheap, cannot be constant-folded, and the result is sent so it is not dead code
  let x = 2463534242;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

export function app(_req, res) {
  const body = `${burn(ITERATIONS)}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}
