// Opens the store at argv[2] in a process of its own and prints its schema version (instances starting together).
import { openStore } from "../../src/store/open.ts";

const store = await openStore(process.argv[2]!);
process.stdout.write(String(await store.schemaVersion()));
await store.close();
