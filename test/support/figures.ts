/**
 * Measured figures (a timing, bytes sent, heap growth, a soak tally), several of them quoted in
 * the README. Printed only when asked for, so that a passing run of the suite stays quiet: with
 * TOKENWARD_FIGURES=1, or in the long soak (`pnpm soak` sets SOAK_SECONDS). The assertions on a
 * figure show its value when they fail.
 */
export function figure(line: string): void {
  if (process.env.TOKENWARD_FIGURES !== undefined || process.env.SOAK_SECONDS !== undefined) console.log(line);
}
