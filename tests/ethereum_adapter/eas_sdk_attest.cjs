// Makes EAS attestations with the OFFICIAL EAS SDK (@ethereum-attestation-service/eas-sdk 2.10.0, ethers 6, pinned in
// tests/node; run with NODE_PATH=tests/node/node_modules): an independent producer, so vcgate reads what the SDK
// writes rather than what vcgate's own encoder writes. The SDK's ESM build fails on lodash, hence require().
//
// Usage: node eas_sdk_attest.cjs '<JSON request>'; prints a JSON result on stdout.
// Request: {rpcUrl, easAddress, schema (definition), schemaUid, attesterKey, recipient,
//           onchain: [{values: {name: value}, expirationTime}], offchain: [{values, expirationTime, time}]}
// Result:  {attester, onchain: [uid], offchain: [{sig, signer}]}  (bigints as decimal strings)
const { EAS, SchemaEncoder, ZERO_BYTES32 } = require("@ethereum-attestation-service/eas-sdk");
const { ethers } = require("ethers");

function encode(encoder, values) {
  // The SDK's SchemaEncoder takes [{name, type, value}] in schema order.
  return encoder.encodeData(
    encoder.schema.map((field) => {
      const raw = values[field.name];
      const value = field.type.startsWith("uint") ? BigInt(raw) : raw;
      return { name: field.name, type: field.type, value };
    }),
  );
}

async function main() {
  const request = JSON.parse(process.argv[2]);
  const provider = new ethers.JsonRpcProvider(request.rpcUrl, undefined, { staticNetwork: true });
  const signer = new ethers.NonceManager(new ethers.Wallet(request.attesterKey, provider));
  const eas = new EAS(request.easAddress);
  eas.connect(signer);
  const encoder = new SchemaEncoder(request.schema);
  const onchain = [];
  for (const item of request.onchain || []) {
    const tx = await eas.attest({
      schema: request.schemaUid,
      data: {
        recipient: request.recipient,
        expirationTime: BigInt(item.expirationTime),
        revocable: true,
        refUID: ZERO_BYTES32,
        data: encode(encoder, item.values),
      },
    });
    onchain.push(await tx.wait());
  }
  const offchain = [];
  if ((request.offchain || []).length) {
    const signing = await eas.getOffchain();
    const wallet = new ethers.Wallet(request.attesterKey, provider);
    for (const item of request.offchain) {
      const sig = await signing.signOffchainAttestation(
        {
          schema: request.schemaUid,
          recipient: request.recipient,
          time: BigInt(item.time),
          expirationTime: BigInt(item.expirationTime),
          revocable: true,
          refUID: ZERO_BYTES32,
          data: encode(encoder, item.values),
        },
        wallet,
        { verifyOnchain: false },
      );
      offchain.push({ sig, signer: wallet.address });
    }
  }
  const attester = new ethers.Wallet(request.attesterKey).address;
  process.stdout.write(
    JSON.stringify({ attester, onchain, offchain }, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
  },
);
