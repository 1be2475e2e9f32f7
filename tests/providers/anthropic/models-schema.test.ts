// Pure pieces of the Claude translation: model capabilities from ids, the strict-schema transform, thinking budgets.
import { describe, expect, test } from "bun:test";
import { claudeVersion, defaultMaxTokens, supportsNativeStructuredOutput, thinkingMode } from "../../../src/providers/anthropic/models.ts";
import { toAnthropicSchema } from "../../../src/providers/anthropic/structured.ts";
import { toAnthropicRequest } from "../../../src/providers/anthropic/request.ts";
import type { ChatRequest } from "../../../src/openai/schemas.ts";
import type { Deployment } from "../../../src/providers/types.ts";
import { thrown } from "../../support/fixtures.ts";

describe("Claude model ids", () => {
  test("both id styles, date suffixes and provider prefixes", () => {
    expect(claudeVersion("claude-3-5-sonnet-20241022")).toEqual({ family: "sonnet", major: 3, minor: 5 });
    expect(claudeVersion("claude-sonnet-4-5-20250929")).toEqual({ family: "sonnet", major: 4, minor: 5 });
    expect(claudeVersion("claude-opus-4-20250514")).toEqual({ family: "opus", major: 4, minor: 0 });
    expect(claudeVersion("anthropic.claude-opus-4-6-v1")).toEqual({ family: "opus", major: 4, minor: 6 });
    expect(claudeVersion("claude-3-haiku-20240307")).toEqual({ family: "haiku", major: 3, minor: 0 });
    expect(claudeVersion("my-model")).toBeUndefined();
  });

  test("capabilities: native structured outputs from 4.5, adaptive thinking from 4.6, budget from 3.7", () => {
    expect(supportsNativeStructuredOutput("claude-opus-4-1")).toBe(false);
    expect(supportsNativeStructuredOutput("claude-haiku-4-5")).toBe(true);
    expect(thinkingMode("claude-3-5-sonnet-20241022")).toBe("none");
    expect(thinkingMode("claude-3-7-sonnet-20250219")).toBe("budget");
    expect(thinkingMode("claude-sonnet-4-5")).toBe("budget");
    expect(thinkingMode("claude-opus-4-7")).toBe("adaptive");
    expect(defaultMaxTokens("claude-3-7-sonnet-20250219")).toBe(64000);
    expect(defaultMaxTokens("claude-opus-4-7")).toBe(128000);
  });
});

describe("strict schema for output_config.format", () => {
  test("objects closed, oneOf → anyOf, $defs kept, unsupported constraints and formats into the description", () => {
    const out = toAnthropicSchema({
      type: "object",
      properties: {
        when: { type: "string", format: "date" },
        site: { type: "string", format: "hostname-ish", maxLength: 20 },
        pet: { oneOf: [{ $ref: "#/$defs/cat" }, { type: "null" }] },
        tags: { type: "array", items: { type: "string" }, minItems: 2 },
      },
      required: ["when"],
      $defs: { cat: { type: "object", properties: { name: { type: "string" } } } },
    });
    expect(out).toEqual({
      $defs: { cat: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false } },
      type: "object",
      properties: {
        when: { type: "string", format: "date" },
        site: { type: "string", description: '{format: "hostname-ish", maxLength: 20}' },
        pet: { anyOf: [{ $ref: "#/$defs/cat" }, { type: "null" }] },
        tags: { type: "array", items: { type: "string" }, description: "{minItems: 2}" },
      },
      additionalProperties: false,
      required: ["when"],
    });
  });

  test("what cannot be expressed is a 400: no type, a remote $ref, recursion", () => {
    expect(thrown(() => toAnthropicSchema({ type: "object", properties: { x: {} } })).param).toBe("response_format.json_schema.schema");
    expect(thrown(() => toAnthropicSchema({ $ref: "https://example.com/s.json" })).message).toContain("not a local definition");
    expect(thrown(() => toAnthropicSchema({ $ref: "#/$defs/a", $defs: { a: { type: "object", properties: { b: { $ref: "#/$defs/b" } } }, b: { type: "array", items: { $ref: "#/$defs/a" } } } })).message).toContain("recursive");
  });
});

describe("thinking budgets", () => {
  const d: Deployment = { provider: "c", upstreamModel: "claude-3-7-sonnet-20250219", model: { id: "c", provider: "c" } };
  const run = (req: Partial<ChatRequest>) => {
    const warnings: string[] = [];
    const out = toAnthropicRequest({ model: "c", messages: [{ role: "user", content: "x" }], ...req } as ChatRequest, d, (m) => warnings.push(m));
    return { out, warnings };
  };
  test("budget by effort; an ample max_tokens is kept, a small one raised; top_p below 0.95 raised", () => {
    expect(run({ reasoning_effort: "medium", max_tokens: 20000 }).out).toMatchObject({ thinking: { type: "enabled", budget_tokens: 8192 }, max_tokens: 20000 });
    const { out, warnings } = run({ reasoning_effort: "high", max_tokens: 1000, top_p: 0.5 });
    expect(out).toMatchObject({ thinking: { type: "enabled", budget_tokens: 16384 }, max_tokens: 17384, top_p: 0.95 });
    expect(warnings.some((w) => w.includes("top_p 0.5 raised"))).toBe(true);
    expect(run({ reasoning_effort: "none" }).out.thinking).toBeUndefined();
  });
});
