import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

it("WDK's documented names and signatures type-check (using, getConflict, wakeUp, errors, streams …)", () => {
  const config = ts.readConfigFile(path.join(here, "..", "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, path.join(here, ".."));
  const program = ts.createProgram([path.join(here, "__tests__", "wdk-types.ts")], {
    ...parsed.options,
    noEmit: true,
    // `using` needs the disposable lib (TypeScript 5.2+), as in a user's project that uses it.
    lib: [...(parsed.options.lib ?? []), "lib.esnext.disposable.d.ts"],
  });
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  expect(diagnostics).toEqual([]);
}, 60_000);
