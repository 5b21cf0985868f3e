/** Lives in its own file so a failure thrown here crosses a module boundary (WDK's cross-file error case). */
export async function throwFromHelper(message: string): Promise<never> {
  "use step";
  throw new Error(message);
}
