/** A misspelled directive: every tool must report it (issue 13 item 9). */
export async function typo(n: number) {
  "use workfow";
  return n;
}
