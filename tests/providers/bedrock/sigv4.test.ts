// SigV4 as the gateway signs it (aws4fetch) against AWS's own signer (@smithy/signature-v4), and against the fake's check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { signSigV4 } from "../../../src/providers/bedrock/auth.ts";
import { startBedrockUpstream, type BedrockUpstream } from "../../support/bedrock-upstream.ts";

const CREDS = { kind: "sigv4" as const, accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const DATETIME = "20251205T093000Z";
const DATE = new Date(Date.UTC(2025, 11, 5, 9, 30, 0));

/** AWS's signer over the same request: the headers the gateway signed, at the same instant. */
async function smithyAuthorization(url: string, headers: Record<string, string>, body: string, region: string, sessionToken?: string) {
  const u = new URL(url);
  const signer = new SignatureV4({ service: "bedrock", region, credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.secretAccessKey, sessionToken }, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const signed = await signer.sign({ method: "POST", protocol: u.protocol, hostname: u.hostname, port: u.port ? Number(u.port) : undefined, path: u.pathname, query: {}, headers: { ...headers, host: u.host }, body }, { signingDate: DATE });
  return signed.headers.authorization;
}

describe("SigV4 cross-check with @smithy/signature-v4", () => {
  const cases = [
    { name: "a model id with ':' (percent-encoded in the path, escaped again in the canonical request)", model: "anthropic.claude-3-5-sonnet-20241022-v2:0", op: "converse" },
    { name: "a cross-region profile", model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", op: "converse-stream" },
    { name: "an inference profile ARN (':' and '/')", model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-70b-instruct-v1:0", op: "invoke" },
    { name: "a plain id", model: "amazon.titan-embed-text-v2:0", op: "invoke" },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const url = `https://bedrock-runtime.eu-west-1.amazonaws.com/model/${encodeURIComponent(c.model)}/${c.op}`;
      const body = JSON.stringify({ messages: [{ role: "user", content: [{ text: "héllo ✓" }] }] });
      const headers = { "content-type": "application/json", accept: "application/json" };
      const signed = await signSigV4({ url, headers, body }, CREDS, "eu-west-1", { datetime: DATETIME });
      expect(signed["x-amz-date"]).toBe(DATETIME);
      expect(signed.authorization).toContain(`Credential=AKIDEXAMPLE/20251205/eu-west-1/bedrock/aws4_request`);
      // aws4fetch leaves content-type unsigned; AWS's signer signs what it is given, so it gets the signed set.
      const { "content-type": _ct, authorization: _a, ...signedSet } = signed;
      expect(signed.authorization).toBe((await smithyAuthorization(url, signedSet, body, "eu-west-1"))!);
    });
  }

  test("temporary credentials: the session token is sent and signed", async () => {
    const url = `https://bedrock-runtime.us-east-1.amazonaws.com/model/${encodeURIComponent("meta.llama3-1-8b-instruct-v1:0")}/converse`;
    const body = "{}";
    const signed = await signSigV4({ url, headers: { accept: "application/json" }, body }, { ...CREDS, sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN" }, "us-east-1", { datetime: DATETIME });
    expect(signed["x-amz-security-token"]).toBe("FQoGZXIvYXdzEXAMPLETOKEN");
    expect(signed.authorization).toContain("x-amz-security-token");
    const { authorization: _a, ...signedSet } = signed;
    expect(signed.authorization).toBe((await smithyAuthorization(url, signedSet, body, "us-east-1", "FQoGZXIvYXdzEXAMPLETOKEN"))!);
  });

  test("a different secret gives a different signature (the check can fail)", async () => {
    const url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse";
    const a = await signSigV4({ url, headers: {}, body: "{}" }, CREDS, "us-east-1", { datetime: DATETIME });
    const b = await signSigV4({ url, headers: {}, body: "{}" }, { ...CREDS, secretAccessKey: "other" }, "us-east-1", { datetime: DATETIME });
    expect(a.authorization).not.toBe(b.authorization);
  });
});

describe("the fake refuses what AWS refuses", () => {
  let up: BedrockUpstream;
  let temp: BedrockUpstream;
  beforeAll(async () => {
    up = await startBedrockUpstream();
    temp = await startBedrockUpstream({ accessKeyId: "ASIAFAKETEMPORARY001", sessionToken: "session-token-for-the-fake-0123456789" });
  });
  afterAll(async () => {
    await up.stop();
    await temp.stop();
  });
  const body = JSON.stringify({ messages: [{ role: "user", content: [{ text: "hi" }] }] });
  const send = async (u: BedrockUpstream, creds: Parameters<typeof signSigV4>[1], region = u.region) => {
    const url = `${u.url}/model/${encodeURIComponent("anthropic.claude-3-5-haiku-20241022-v1:0")}/converse`;
    const headers = await signSigV4({ url, headers: { "content-type": "application/json", accept: "application/json" }, body }, creds, region);
    return fetch(url, { method: "POST", headers, body });
  };

  test("a correct signature is accepted", async () => {
    const res = await send(up, { kind: "sigv4", accessKeyId: up.accessKeyId, secretAccessKey: up.secretAccessKey });
    expect(res.status).toBe(200);
    expect(up.calls.at(-1)!.auth).toBe("sigv4");
  });
  test("a wrong secret → 403 InvalidSignatureException", async () => {
    const res = await send(up, { kind: "sigv4", accessKeyId: up.accessKeyId, secretAccessKey: "wrong-secret" });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-amzn-errortype")).toStartWith("InvalidSignatureException");
  });
  test("the wrong region → 403", async () => {
    const res = await send(up, { kind: "sigv4", accessKeyId: up.accessKeyId, secretAccessKey: up.secretAccessKey }, "us-west-2");
    expect(res.status).toBe(403);
  });
  test("temporary credentials without their session token → 403 UnrecognizedClientException; with it → 200", async () => {
    const without = await send(temp, { kind: "sigv4", accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey });
    expect(without.status).toBe(403);
    expect(without.headers.get("x-amzn-errortype")).toStartWith("UnrecognizedClientException");
    const withToken = await send(temp, { kind: "sigv4", accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey, sessionToken: temp.sessionToken });
    expect(withToken.status).toBe(200);
  });
});
