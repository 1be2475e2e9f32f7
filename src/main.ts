// Entry of `npm start` and of the compiled binary: lift Bun's fetch cap (re-executes once), then run the CLI.
import { ensureFetchConcurrency } from "./reexec.ts";

ensureFetchConcurrency();
await import("./cli.ts");
