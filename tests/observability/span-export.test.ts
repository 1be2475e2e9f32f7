// The OTLP/JSON encoder writes the batch as text directly: the same document OTLP's object form would give.
import { expect, test } from "bun:test";
import { encodeBatch, unixNanos, type FinishedSpan } from "../../src/observability/span-export.ts";

const shared = { "gen_ai.system": "openai", "switchboard.deployment": "oa/gpt-4o", weight: 2 };
const spans: FinishedSpan[] = [
  { traceId: "a".repeat(32), spanId: "b".repeat(16), parentSpanId: undefined, name: 'chat "gpt"', kind: 2, startTime: 10.5, endTime: 20.25, attributes: { "http.response.status_code": 200, ratio: 0.5, ok: true, tags: ["x", "y"] }, statusCode: 0 },
  // Its own attribute overrides a shared one of the same key; the rest of the shared ones are kept.
  { traceId: "a".repeat(32), spanId: "c".repeat(16), parentSpanId: "b".repeat(16), name: "chat gpt-4o", kind: 3, startTime: 11, endTime: 19, baseAttributes: shared, attributes: { weight: 3, "gen_ai.operation.name": "chat" }, statusCode: 2 },
  { traceId: "d".repeat(32), spanId: "e".repeat(16), parentSpanId: undefined, name: "x\u0000\n", kind: 3, startTime: 1, endTime: 2, baseAttributes: shared, attributes: {}, statusCode: 0 },
];

test("an encoded batch parses to OTLP's ExportTraceServiceRequest, shared attributes merged under the span's own", () => {
  const doc = JSON.parse(encodeBatch(spans, { resource: { "service.name": "sb" }, scope: { name: "switchboard", version: "1" } }));
  expect(doc).toEqual({
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "sb" } }] },
        scopeSpans: [
          {
            scope: { name: "switchboard", version: "1" },
            spans: [
              {
                traceId: "a".repeat(32), spanId: "b".repeat(16), name: 'chat "gpt"', kind: 2, startTimeUnixNano: unixNanos(10.5), endTimeUnixNano: unixNanos(20.25),
                attributes: [
                  { key: "http.response.status_code", value: { intValue: "200" } },
                  { key: "ratio", value: { doubleValue: 0.5 } },
                  { key: "ok", value: { boolValue: true } },
                  { key: "tags", value: { arrayValue: { values: [{ stringValue: "x" }, { stringValue: "y" }] } } },
                ],
                status: { code: 0 },
              },
              {
                traceId: "a".repeat(32), spanId: "c".repeat(16), parentSpanId: "b".repeat(16), name: "chat gpt-4o", kind: 3, startTimeUnixNano: unixNanos(11), endTimeUnixNano: unixNanos(19),
                attributes: [
                  { key: "gen_ai.system", value: { stringValue: "openai" } },
                  { key: "switchboard.deployment", value: { stringValue: "oa/gpt-4o" } },
                  { key: "weight", value: { intValue: "3" } },
                  { key: "gen_ai.operation.name", value: { stringValue: "chat" } },
                ],
                status: { code: 2 },
              },
              {
                traceId: "d".repeat(32), spanId: "e".repeat(16), name: "x\u0000\n", kind: 3, startTimeUnixNano: unixNanos(1), endTimeUnixNano: unixNanos(2),
                attributes: [
                  { key: "gen_ai.system", value: { stringValue: "openai" } },
                  { key: "switchboard.deployment", value: { stringValue: "oa/gpt-4o" } },
                  { key: "weight", value: { intValue: "2" } },
                ],
                status: { code: 0 },
              },
            ],
          },
        ],
      },
    ],
  });
});

test("unixNanos is the Unix time in nanoseconds as a decimal string", () => {
  const n = BigInt(unixNanos(0));
  // Whole milliseconds agree exactly (a double cannot hold the nanoseconds, which is why the string exists).
  expect(Number(n / 1_000_000n)).toBe(Math.floor(performance.timeOrigin));
  // 1.5 ms later, to within the double's rounding of the fraction (well under a microsecond).
  expect(Math.abs(Number(BigInt(unixNanos(1.5)) - n - 1_500_000n))).toBeLessThan(1000);
});
