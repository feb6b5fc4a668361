// Shared benchmark helpers: interleaved rounds so both sides see the same machine state, medians, ratio lines.

/** Runs `fn` (sync or async) `ops` times and returns ops/s. */
export async function opsPerSec(fn, ops, isAsync) {
  const start = process.hrtime.bigint();
  if (isAsync) for (let i = 0; i < ops; i++) await fn();
  else for (let i = 0; i < ops; i++) fn();
  const ns = Number(process.hrtime.bigint() - start);
  return (ops * 1e9) / ns;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Measures `subject` against `baseline` in alternating rounds (after a warm-up) and returns
 * { subject, baseline, ratio } in ops/s, medians over the rounds.
 */
export async function compare({ subject, baseline, ops = 200_000, rounds = 9, isAsync = false }) {
  for (let i = 0; i < 2; i++) {
    await opsPerSec(subject, ops / 4, isAsync);
    await opsPerSec(baseline, ops / 4, isAsync);
  }
  const s = [];
  const b = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      s.push(await opsPerSec(subject, ops, isAsync));
      b.push(await opsPerSec(baseline, ops, isAsync));
    } else {
      b.push(await opsPerSec(baseline, ops, isAsync));
      s.push(await opsPerSec(subject, ops, isAsync));
    }
  }
  const subjectOps = median(s);
  const baselineOps = median(b);
  return { subject: subjectOps, baseline: baselineOps, ratio: subjectOps / baselineOps };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Prints one result row and returns whether it met the target. */
export function report(name, { subject, baseline, ratio }, target) {
  const ok = ratio >= target;
  console.log(
    `${name.padEnd(44)} ${fmt(subject).padStart(12)} ops/s vs baseline ${fmt(baseline).padStart(12)} ops/s  ratio ${ratio.toFixed(3)}  target >= ${target}  ${ok ? 'PASS' : 'FAIL'}`,
  );
  return ok;
}

/** Prints one result row without a target. */
export function info(name, { subject, baseline, ratio }) {
  console.log(`${name.padEnd(44)} ${fmt(subject).padStart(12)} ops/s vs baseline ${fmt(baseline).padStart(12)} ops/s  ratio ${ratio.toFixed(3)}  (information)`);
}
