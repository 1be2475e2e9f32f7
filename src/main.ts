// Entry of `npm start` and of the compiled binary: lift Bun's fetch cap (re-executes once), then run the CLI.
import { ensureFetchConcurrency } from "./entry/reexec.ts";

ensureFetchConcurrency();
await import("./entry/cli.ts");
