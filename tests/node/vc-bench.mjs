#!/usr/bin/env node
// Verification timing for benchmarks/verify_corpus.py: digitalbazaar's @digitalbazaar/vc verifying a corpus of
// signed credentials, in this one Node process, pass after pass.
//
//   node vc-bench.mjs CORPUS.json [--cache tuned|shipped] [--passes N] [--limit N]
//
// CORPUS.json: {"now": "2026-…Z", "corpora": {"<name>": [<signed credential>, ...], ...}}. Prints one JSON object:
// {"cache": ..., "corpora": {"<name>": {"passes": [{"n", "verified", "cpu_s", "wall_s"}], "first_ms"}}}.
// `first_ms` is the first verification of the first pass (cold: nothing of that corpus seen before). Pass 1 is
// cold, later passes warm. `--cache tuned` enlarges jsonld.js's resolved-context cache (offline-loader.mjs explains
// why it thrashes); `shipped` leaves jsonld.js as it is. Both use the same offline loader (pinned contexts with
// `tag: 'static'`, did:key). The process is meant to be pinned to one core by the caller (taskset).
import {readFileSync} from 'node:fs';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

import {documentLoader, enlargeResolvedContextCache} from './offline-loader.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const corpusFile = process.argv[2];
const cache = option('--cache', 'tuned');
const passes = Number(option('--passes', '3'));
const limit = Number(option('--limit', '0'));
if(!corpusFile || !['tuned', 'shipped'].includes(cache) || !(passes >= 1)) {
  console.error('usage: node vc-bench.mjs CORPUS.json [--cache tuned|shipped] [--passes N] [--limit N]');
  process.exit(64);
}
if(cache === 'tuned') {
  enlargeResolvedContextCache();
}

const {now, corpora} = JSON.parse(readFileSync(corpusFile, 'utf8'));
const suite = [eddsaRdfc2022, ecdsaRdfc2019].map(cryptosuite => new DataIntegrityProof({cryptosuite}));

async function verifyOne(credential) {
  const result = await vc.verifyCredential({credential, suite, documentLoader, now: new Date(now)});
  return result.verified === true;
}

const out = {cache, node: process.versions.node, corpora: {}};
for(const [name, all] of Object.entries(corpora)) {
  const credentials = limit > 0 ? all.slice(0, limit) : all;
  const report = {passes: [], first_ms: null};
  for(let p = 0; p < passes; p++) {
    let verified = 0;
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for(const credential of credentials) {
      const t0 = process.hrtime.bigint();
      if(await verifyOne(credential)) {
        verified++;
      }
      if(p === 0 && report.first_ms === null) {
        report.first_ms = Number(process.hrtime.bigint() - t0) / 1e6;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    report.passes.push({
      n: credentials.length,
      verified,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      wall_s: Number(process.hrtime.bigint() - wall0) / 1e9
    });
  }
  out.corpora[name] = report;
}
process.stdout.write(JSON.stringify(out) + '\n');
