// Holds a SQLite file's write lock from a process of its own (as another program on the host would): BEGIN IMMEDIATE, then waits.
// argv[2]: the file; argv[3]: milliseconds to hold it. Prints "locked" once it holds the lock, "released" when it lets go.
import { Database } from "bun:sqlite";

const db = new Database(process.argv[2]!);
db.exec("PRAGMA busy_timeout = 5000");
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\n");
await Bun.sleep(Number(process.argv[3] ?? 5000));
db.exec("ROLLBACK");
db.close();
process.stdout.write("released\n");
