// Offline document loader shared by vc-peer.mjs and vc-bench.mjs: the pinned contexts listed in
// canonical_schema/contexts/index.json (each checked against its sha256) and did:key documents derived from the DID
// itself. Any other URL is refused, so nothing is ever fetched.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const HERE = dirname(fileURLToPath(import.meta.url));
// VCGATE_CONTEXTS_DIR: set by vcgate when the peer runs outside the source tree (`vcgate conformance setup-peer`).
const CONTEXTS_DIR = process.env.VCGATE_CONTEXTS_DIR || join(HERE, '..', '..', 'canonical_schema', 'contexts');
const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

// --- pinned contexts ---------------------------------------------------------------------------------------------

export function loadPinnedContexts() {
  const index = JSON.parse(readFileSync(join(CONTEXTS_DIR, 'index.json'), 'utf8'));
  const contexts = new Map();
  for(const {url, file, sha256} of index.contexts) {
    const bytes = readFileSync(join(CONTEXTS_DIR, file));
    const digest = createHash('sha256').update(bytes).digest('hex');
    if(digest !== sha256) {
      throw new Error(`pinned context ${file} does not match its sha256 in index.json`);
    }
    contexts.set(url, JSON.parse(bytes.toString('utf8')));
  }
  return contexts;
}

export const CONTEXTS = loadPinnedContexts();

// --- did:key (derived locally; the DID is the key) ---------------------------------------------------------------

export async function importPublicKey(publicKeyMultibase) {
  // did:key multicodec prefixes: z6Mk Ed25519 (0xed01); zDn P-256 (0x1200); z82 P-384 (0x1201).
  const multikey = {'@context': MULTIKEY_CONTEXT, type: 'Multikey', publicKeyMultibase};
  if(publicKeyMultibase.startsWith('z6Mk')) {
    return Ed25519Multikey.from(multikey);
  }
  if(publicKeyMultibase.startsWith('zDn') || publicKeyMultibase.startsWith('z82')) {
    return EcdsaMultikey.from(multikey);
  }
  throw new Error(`unsupported did:key key type: ${publicKeyMultibase.slice(0, 6)}…`);
}

export async function didKeyDocument(url) {
  const [did, fragment] = url.split('#', 2);
  const publicKeyMultibase = did.slice('did:key:'.length);
  await importPublicKey(publicKeyMultibase); // validates the key bytes
  const vmId = `${did}#${publicKeyMultibase}`;
  const vm = {id: vmId, type: 'Multikey', controller: did, publicKeyMultibase};
  if(fragment !== undefined) {
    if(fragment !== publicKeyMultibase) {
      throw new Error(`${url}: a did:key has one verification method, #${publicKeyMultibase}`);
    }
    return {'@context': MULTIKEY_CONTEXT, ...vm};
  }
  return {
    '@context': [DID_CONTEXT, MULTIKEY_CONTEXT],
    id: did,
    verificationMethod: [vm],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityInvocation: [vmId],
    capabilityDelegation: [vmId]
  };
}

export async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    // `tag: 'static'` lets jsonld.js keep this URL's resolved context in its shared cache across operations (the
    // pinned bytes never change). It does not stop the thrashing on its own: that cache is one 100-entry LRU which
    // also holds every type-scoped context, keyed by its JSON text, and the Traceability context has hundreds, so
    // under it these entries are evicted all the time - see `enlargeResolvedContextCache`.
    return {contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url)), tag: 'static'};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKeyDocument(url)};
  }
  throw new Error(`vc-peer document loader refuses ${url}: only pinned contexts and did:key are served (offline)`);
}

// jsonld.js 9 keeps resolved contexts in one module-private LRU of 100 entries (RESOLVED_CONTEXT_CACHE_MAX_SIZE),
// keyed by context URL *and* by the JSON text of every object context it meets - including each type-scoped
// context of the Traceability Vocabulary, of which an invoice uses more than 100. The cache then evicts what it
// needs next and every verification re-processes most of the context (~1.5 verifications/s). No option reaches
// that LRU, so this raises its `max` (lru-cache 6 has a setter) the first time jsonld.js reads it; any other
// 100-entry lru-cache@6 instance in the process is raised too (none in these peers). Returns a function undoing it.
export function enlargeResolvedContextCache(size = 10000) {
  const require = createRequire(createRequire(import.meta.url).resolve('jsonld'));
  const LRU = require('lru-cache');
  const original = LRU.prototype.get;
  LRU.prototype.get = function get(key, ...rest) {
    if(this.max === 100) {
      this.max = size;
    }
    return original.call(this, key, ...rest);
  };
  return () => {
    LRU.prototype.get = original;
  };
}
