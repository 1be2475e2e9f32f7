// Saved Responses API responses (the conversation's items, per key) and the deployment's shared secrets, in SQL.
import type { SqlDriver } from "./driver.ts";

export interface StoredResponse {
  id: string;
  /** The key that made it: only that key may read, continue or delete it. */
  keyId: string;
  /** The public model id it answered as. */
  model: string;
  /** The provider instance holding it (a native passthrough: the provider keeps the items); null when the gateway does. */
  provider: string | null;
  /** The response it continued (previous_response_id), for restoring a whole conversation. */
  previousId: string | null;
  createdAt: number;
  /** The gateway's record of it as JSON (its input and output items, the response object); null for a provider's. */
  body: string | null;
}

/** Responses restored per conversation at most: a chain longer than this is cut (its oldest turns are not restored). */
export const MAX_CHAIN = 10_000;
const PRUNE_CHUNK = 5000;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function fromRow(r: Record<string, unknown>): StoredResponse {
  return {
    id: String(r.id),
    keyId: String(r.key_id),
    model: String(r.model),
    provider: strOrNull(r.provider),
    previousId: strOrNull(r.previous_id),
    createdAt: num(r.created_at),
    body: strOrNull(r.body),
  };
}

export function responseStore(db: SqlDriver) {
  return {
    /** Saves (or replaces) a response. */
    async saveResponse(r: StoredResponse): Promise<void> {
      await db.run(
        `INSERT INTO responses (id, key_id, model, provider, previous_id, created_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, model = excluded.model, provider = excluded.provider,
         previous_id = excluded.previous_id, created_at = excluded.created_at, body = excluded.body`,
        [r.id, r.keyId, r.model, r.provider, r.previousId, r.createdAt, r.body],
      );
    },

    /** The response, when it exists and belongs to `keyId` (another key's is as good as unknown). */
    async getResponse(id: string, keyId: string): Promise<StoredResponse | null> {
      const rows = await db.all(`SELECT * FROM responses WHERE id = $1 AND key_id = $2`, [id, keyId]);
      return rows[0] ? fromRow(rows[0]) : null;
    },

    /**
     * The response and those it continued, oldest first, all of `keyId`'s (a link to another key's response ends the
     * chain). Empty when `id` is unknown or another key's. One query: a recursive walk over previous_id.
     */
    async responseChain(id: string, keyId: string): Promise<StoredResponse[]> {
      const rows = await db.all(
        `WITH RECURSIVE chain (id, key_id, model, provider, previous_id, created_at, body, depth) AS (
           SELECT id, key_id, model, provider, previous_id, created_at, body, 0 FROM responses WHERE id = $1 AND key_id = $2
           UNION ALL
           SELECT r.id, r.key_id, r.model, r.provider, r.previous_id, r.created_at, r.body, c.depth + 1
           FROM responses r JOIN chain c ON r.id = c.previous_id
           WHERE r.key_id = $2 AND c.depth < ${MAX_CHAIN}
         )
         SELECT * FROM chain ORDER BY depth DESC`,
        [id, keyId],
      );
      return rows.map(fromRow);
    },

    /** Deletes `keyId`'s response; false when there was none. */
    async deleteResponse(id: string, keyId: string): Promise<boolean> {
      return (await db.count(`DELETE FROM responses WHERE id = $1 AND key_id = $2`, [id, keyId])) > 0;
    },

    /** Deletes responses created before `before`. Returns how many went. */
    async pruneResponses(before: number): Promise<number> {
      let total = 0;
      for (;;) {
        const rows = await db.all(`DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE created_at < $1 LIMIT ${PRUNE_CHUNK}) RETURNING id`, [before]);
        total += rows.length;
        if (rows.length < PRUNE_CHUNK) return total;
      }
    },

    /**
     * The deployment's secret named `name`: made by `make` and stored by the first instance that asks, read by every
     * other (instances starting together agree: the insert is a no-op for all but one).
     */
    async sharedSecret(name: string, make: () => string): Promise<string> {
      await db.run(`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [name, make(), Date.now()]);
      const rows = await db.all(`SELECT value FROM secrets WHERE name = $1`, [name]);
      if (!rows[0]) throw new Error(`the store lost the secret '${name}'`);
      return String(rows[0].value);
    },
  };
}

export type ResponseStore = ReturnType<typeof responseStore>;
