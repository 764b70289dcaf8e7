// An independent vp+jwt producer (VC-JOSE-COSE §3.2.1) with Node's built-in crypto only: a did:jwk ES256 issuer
// signs an enveloped vc+jwt, a did:jwk Ed25519 holder signs the presentation. Input (stdin, JSON):
// {credential, nonce, aud}; output (stdout, JSON): {token, holder, issuer}.
import { generateKeyPairSync, sign } from "node:crypto";

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const json = (obj) => b64u(JSON.stringify(obj));

function didJwk(type, options) {
  const { publicKey, privateKey } = generateKeyPairSync(type, options);
  const did = "did:jwk:" + json(publicKey.export({ format: "jwk" }));
  return { did, privateKey };
}

function compact(header, payload, privateKey, alg) {
  const input = json(header) + "." + json(payload);
  // RFC 7518 §3.4: ES256 signatures are r||s (IEEE P1363), not DER; EdDSA takes no digest.
  const sig =
    alg === "ES256"
      ? sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" })
      : sign(null, Buffer.from(input), privateKey);
  return input + "." + b64u(sig);
}

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
}));
const issuer = didJwk("ec", { namedCurve: "P-256" });
const holder = didJwk("ed25519");
const vc = { ...input.credential, issuer: issuer.did };
const vcJwt = compact({ alg: "ES256", kid: issuer.did + "#0", typ: "vc+jwt" }, vc, issuer.privateKey, "ES256");
const vp = {
  "@context": ["https://www.w3.org/ns/credentials/v2"],
  type: ["VerifiablePresentation"],
  holder: holder.did,
  verifiableCredential: [
    {
      "@context": ["https://www.w3.org/ns/credentials/v2"],
      type: "EnvelopedVerifiableCredential",
      id: "data:application/vc+jwt," + vcJwt,
    },
  ],
  nonce: input.nonce,
  aud: input.aud,
};
const token = compact({ alg: "EdDSA", kid: holder.did + "#0", typ: "vp+jwt" }, vp, holder.privateKey, "EdDSA");
process.stdout.write(JSON.stringify({ token, holder: holder.did, issuer: issuer.did }));
