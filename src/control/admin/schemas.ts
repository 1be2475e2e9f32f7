// TypeBox schemas of the admin API's request bodies (checked strictly: no coercion), and the check that names the field.
import { Type as T, type Static, type TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { validationError } from "../../http/validate.ts";
import { readJsonBody } from "../../http/body.ts";

const closed = { additionalProperties: false } as const;
/** A strict JSON integer ≥ 1 (TypeBox's Integer: "5" is refused). */
const Limit = T.Integer({ minimum: 1, maximum: 1_000_000_000 });
const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);

export const BudgetBody = T.Object(
  {
    usd: T.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000 }),
    period: T.Union([T.Literal("day"), T.Literal("week"), T.Literal("month"), T.Literal("total")]),
  },
  closed,
);

const keyFields = {
  models: T.Optional(Nullable(T.Array(T.String({ minLength: 1 }), { maxItems: 1000 }))),
  rpm: T.Optional(Nullable(Limit)),
  tpm: T.Optional(Nullable(Limit)),
  max_concurrent: T.Optional(Nullable(Limit)),
  budget: T.Optional(Nullable(BudgetBody)),
  /** ISO 8601 date-time (`2026-12-31T23:59:59Z`). */
  expires_at: T.Optional(Nullable(T.String({ minLength: 1, maxLength: 64 }))),
  metadata: T.Optional(T.Record(T.String({ maxLength: 200 }), T.Unknown())),
};

// No control characters (NUL cannot be stored in PostgreSQL text; the others only hide things in logs and tables).
const Name = T.String({ minLength: 1, maxLength: 200, pattern: "^[^\\s\\x00-\\x1f\\x7f]([^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f])?$", description: "a name without leading or trailing spaces or control characters" });

export const CreateKeyBody = T.Object({ name: Name, ...keyFields }, closed);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

export const PatchKeyBody = T.Object(
  { name: T.Optional(Name), ...keyFields, status: T.Optional(T.Union([T.Literal("active"), T.Literal("blocked")])) },
  closed,
);
export type PatchKeyBody = Static<typeof PatchKeyBody>;

/** Up to 30 days. */
export const RotateKeyBody = T.Object({ grace_period_s: T.Optional(T.Integer({ minimum: 0, maximum: 30 * 86_400 })) }, closed);
export type RotateKeyBody = Static<typeof RotateKeyBody>;

const compiled = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

/** The JSON body checked against the schema; a 400 naming the first offending field otherwise. */
export async function readBody<S extends TSchema>(request: Request, schema: S, opts: { optional?: boolean } = {}): Promise<Static<S>> {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  const empty = request.headers.get("content-length") === "0" || !request.body;
  const raw = empty && opts.optional ? {} : await readJsonBody(request, 1024 * 1024);
  if (!c.Check(raw)) throw validationError(c.Errors(raw).First());
  return raw as Static<S>;
}
