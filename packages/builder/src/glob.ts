/**
 * Glob patterns for `include`/`exclude`, matched against project-relative POSIX paths: `**` (any number of
 * folders), `*` and `?` (within one name), `{a,b}` (alternatives). A pattern without `/` matches a name at
 * any depth (`*.test.ts`, `fixtures`), as in .gitignore; `exact` turns both conveniences off (workspace
 * globs name folders from the root). Hand-written because Node 20 has no glob matcher
 * (`path.matchesGlob` arrived in 22) and these few rules do not justify a dependency plus its typings.
 */
export function globToRegExp(pattern: string, { exact = false }: { exact?: boolean } = {}): RegExp {
  let glob = pattern.startsWith("./") ? pattern.slice(2) : pattern;
  if (!exact && !glob.includes("/")) glob = `**/${glob}`;
  let out = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      const slashAfter = glob[i + 2] === "/";
      out += slashAfter ? "(?:.*/)?" : ".*";
      i += slashAfter ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "{") {
      braces++;
      out += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      out += ")";
    } else if (c === "," && braces > 0) out += "|";
    else out += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  // A pattern naming a folder also matches everything inside it (unless `exact`: the path itself only).
  return new RegExp(exact ? `^${out}$` : `^${out}(?:/.*)?$`);
}

/** A predicate over project-relative paths; `undefined` when no patterns were given. */
export function globMatcher(patterns: string[] | undefined): ((relPath: string) => boolean) | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  const regexps = patterns.map((p) => globToRegExp(p));
  return (relPath) => regexps.some((r) => r.test(relPath));
}
