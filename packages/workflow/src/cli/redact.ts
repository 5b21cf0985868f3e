/** Error messages may quote a connection string; its password must not reach a terminal or CI log. */
export function redact(message: string, ...urls: (string | undefined)[]): string {
  let out = message;
  for (const url of urls) {
    if (!url) continue;
    try {
      const password = new URL(url).password;
      if (password) out = out.split(password).join("***");
    } catch {
      // not a URL: nothing to hide
    }
  }
  return out;
}
