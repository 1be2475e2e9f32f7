// The dashboard's copies of the admin API's shapes (src/ui/types.ts, browser code) must not drift from the server's:
// checked by the type checker (.ci/run and `npm run typecheck` fail on a difference), and here at run time.
import { expect, test } from "bun:test";
import type { KeyObject } from "../../src/control/admin/key-object.ts";
import type { eventObject } from "../../src/control/admin/usage.ts";
import type { Key, UsageEvent } from "../../src/ui/types.ts";

/** True only when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const keyShapes: Same<Key, KeyObject> = true;
const eventShapes: Same<UsageEvent, ReturnType<typeof eventObject>> = true;

test("the dashboard's key and usage-event types are the server's (a difference fails the type check)", () => {
  expect([keyShapes, eventShapes]).toEqual([true, true]);
});
