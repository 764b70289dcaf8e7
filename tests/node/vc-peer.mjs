#!/usr/bin/env node
// vcgate's interop peer: digitalbazaar's reference VC libraries behind a JSON-lines protocol on stdin/stdout.
//
// One request per line, one response per line, in order:
//   {"op": "versions"}                                     -> {"ok": true, "result": {"node": ..., "packages": {...}}}
//   {"op": "generate", "keyType": "Ed25519"|"P-256"|"P-384"} -> {"ok": true, "result": <Multikey with secretKeyMultibase>}
//   {"op": "sign", "credential": {...}, "key": <Multikey with secretKeyMultibase>,
//    "suite": "eddsa-rdfc-2022"|"ecdsa-rdfc-2019", "created": "2025-…Z"} -> {"ok": true, "result": <signed credential>}
//   {"op": "verify", "credential": {...}, "now": "2025-…Z"[, "checkStatus": false]}
//                                                           -> {"ok": true, "result": {"verified": bool, "errors": [..]}}
//   {"op": "canonize", "document": {...}, "hashAlgorithm": "SHA-256"|"SHA-384"}
//                                                           -> {"ok": true, "result": "<RDFC-1.0 N-Quads>"}
// A request that cannot be carried out answers {"ok": false, "error": {"name": ..., "message": ...}}.
//
// Offline by construction: the document loader serves only the pinned contexts listed in
// canonical_schema/contexts/index.json (each checked against its sha256) and did:key documents derived from the DID
// itself. Any other URL is refused, so nothing is ever fetched.
import {readFileSync} from 'node:fs';
import {createInterface} from 'node:readline';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsonld from 'jsonld';

import {documentLoader, enlargeResolvedContextCache} from './offline-loader.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGES = [
  '@digitalbazaar/vc',
  '@digitalbazaar/data-integrity',
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite',
  '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite',
  '@digitalbazaar/ed25519-multikey',
  '@digitalbazaar/ecdsa-multikey',
  'jsonld-signatures',
  'jsonld',
  'rdf-canonize'
];

// The offline loader (pinned contexts, did:key) lives in offline-loader.mjs, shared with vc-bench.mjs. jsonld.js's
// resolved-context cache is enlarged so the Traceability context's scoped contexts do not thrash it (see there).
enlargeResolvedContextCache();

// --- operations --------------------------------------------------------------------------------------------------

const CRYPTOSUITES = {
  'eddsa-rdfc-2022': {cryptosuite: eddsaRdfc2022, library: Ed25519Multikey},
  'ecdsa-rdfc-2019': {cryptosuite: ecdsaRdfc2019, library: EcdsaMultikey}
};

function packageVersion(name) {
  const file = join(HERE, 'node_modules', ...name.split('/'), 'package.json');
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

async function generate({keyType}) {
  let keyPair;
  if(keyType === 'Ed25519') {
    keyPair = await Ed25519Multikey.generate();
  } else if(keyType === 'P-256' || keyType === 'P-384') {
    keyPair = await EcdsaMultikey.generate({curve: keyType});
  } else {
    throw new Error(`unknown keyType ${keyType}; use Ed25519, P-256 or P-384`);
  }
  const exported = await keyPair.export({publicKey: true, secretKey: true, includeContext: false});
  const did = `did:key:${exported.publicKeyMultibase}`;
  return {
    type: 'Multikey',
    id: `${did}#${exported.publicKeyMultibase}`,
    controller: did,
    publicKeyMultibase: exported.publicKeyMultibase,
    secretKeyMultibase: exported.secretKeyMultibase
  };
}

async function sign({credential, key, suite, created}) {
  const spec = CRYPTOSUITES[suite];
  if(!spec) {
    throw new Error(`unsupported suite ${suite}; use ${Object.keys(CRYPTOSUITES).join(', ')}`);
  }
  const keyPair = await spec.library.from(key);
  const proof = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: spec.cryptosuite, date: created});
  return vc.issue({credential: structuredClone(credential), suite: proof, documentLoader, now: created});
}

function errorMessages(error, out = []) {
  if(!error) {
    return out;
  }
  if(Array.isArray(error)) {
    error.forEach(e => errorMessages(e, out));
    return out;
  }
  if(Array.isArray(error.errors) && error.errors.length > 0) {
    errorMessages(error.errors, out);
  } else {
    out.push(describe(error));
  }
  return out;
}

// "name: message", followed by the chain of causes (jsonld.js wraps a loader's error in details.cause).
function describe(error) {
  const parts = [];
  const seen = new Set();
  for(let e = error; e && !seen.has(e); e = e.details?.cause || e.cause) {
    seen.add(e);
    parts.push(`${e.name || 'Error'}: ${e.message}`);
  }
  return parts.join(' <- caused by: ');
}

async function verify({credential, now, checkStatus = true}) {
  const suite = Object.values(CRYPTOSUITES).map(({cryptosuite}) => new DataIntegrityProof({cryptosuite}));
  const options = {credential, suite, documentLoader, now};
  if(checkStatus === false) {
    // The caller does not want credentialStatus checked (there is no status list offline); @digitalbazaar/vc
    // refuses a credential with credentialStatus unless it is given a checkStatus function, so give one that
    // leaves the status alone and says so in the result.
    options.checkStatus = async () => ({verified: true, notChecked: true});
  } else if(credential && credential.credentialStatus) {
    throw new Error('credentialStatus cannot be checked offline; pass "checkStatus": false to leave it unchecked');
  }
  const result = await vc.verifyCredential(options);
  const errors = errorMessages(result.error);
  for(const r of result.results || []) {
    if(!r.verified) {
      errorMessages(r.error, errors);
    }
  }
  return {verified: result.verified === true, errors: [...new Set(errors)]};
}

async function canonize({document, hashAlgorithm = 'SHA-256'}) {
  // The same call the rdfc cryptosuites make: RDFC-1.0 N-Quads, `safe` mode (refuse to drop undefined terms);
  // ecdsa-rdfc-2019 with P-384 passes SHA-384 as RDFC-1.0's hash algorithm (VC-DI-ECDSA §3, "canon-and-hash").
  if(hashAlgorithm !== 'SHA-256' && hashAlgorithm !== 'SHA-384') {
    throw new Error(`unsupported hashAlgorithm ${hashAlgorithm}; use SHA-256 or SHA-384`);
  }
  return jsonld.canonize(document, {
    documentLoader, safe: true, base: null,
    // jsonld.js 9 passes only `canonizeOptions` on to rdf-canonize.
    canonizeOptions: {algorithm: 'RDFC-1.0', messageDigestAlgorithm: hashAlgorithm}
  });
}

async function versions() {
  const packages = {};
  for(const name of PACKAGES) {
    packages[name] = packageVersion(name);
  }
  return {node: process.versions.node, packages};
}

const OPS = {versions, generate, sign, verify, canonize};

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch(e) {
    return {ok: false, error: {name: 'SyntaxError', message: `request is not JSON: ${e.message}`}};
  }
  const op = OPS[request.op];
  if(!op) {
    return {ok: false, error: {name: 'UnknownOp', message: `unknown op ${request.op}; use ${Object.keys(OPS)}`}};
  }
  try {
    return {ok: true, result: await op(request)};
  } catch(e) {
    return {ok: false, error: {name: e.name || 'Error', message: describe(e), details: errorMessages(e)}};
  }
}

const rl = createInterface({input: process.stdin, crlfDelay: Infinity});
for await (const line of rl) {
  if(line.trim() === '') {
    continue;
  }
  process.stdout.write(JSON.stringify(await handle(line)) + '\n');
}
