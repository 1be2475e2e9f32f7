// The provider's own JSON text relayed with only its `model` members set to the public id.
import { expect, test } from "bun:test";
import { withModel } from "../../../src/providers/shared/raw-answer.ts";

test("every model member is rewritten, spacing kept, and nothing else changes", () => {
  const text = '{"id":"x","model":"gpt-4o-2024-08-06","choices":[{"message":{"content":"the \\"model\\":\\"gpt\\" is fine"}}],"usage":{"model" : "inner"}}';
  const out = withModel(text, "my-gpt");
  expect(out).toBe('{"id":"x","model":"my-gpt","choices":[{"message":{"content":"the \\"model\\":\\"gpt\\" is fine"}}],"usage":{"model" : "my-gpt"}}');
  expect(JSON.parse(out).choices[0].message.content).toBe('the "model":"gpt" is fine');
});

test("a public id that needs escaping is encoded; a body already naming it is returned as it is", () => {
  expect(JSON.parse(withModel('{"model":"up"}', 'we"ird\\id')).model).toBe('we"ird\\id');
  const same = '{"model": "pub", "x": 1}';
  expect(withModel(same, "pub")).toBe(same);
});
