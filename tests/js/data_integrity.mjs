// Digital Bazaar's Data Integrity stack as an independent peer for osp-node's tests.
// stdin: {"op": "verify", "record": {...}, "context": {...}}
//     or {"op": "sign", "record": {...unsigned, with id}, "seed": "<hex 32 bytes>", "created": "...", "context": {...}}
//     or {"op": "expand", "record": {...}, "context": {...}}: JSON-LD expansion in safe mode
// stdout: {"verified": bool, "error": str|null} or {"signed": {...}} or {"expanded": [...], "error": str|null}
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createSignCryptosuite, createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import jsigs from 'jsonld-signatures';
import jsonld from 'jsonld';
import {JsonLdDocumentLoader} from 'jsonld-document-loader';

const {purposes: {AssertionProofPurpose}} = jsigs;
const OSP_CONTEXT = 'https://w3id.org/osp/v0.1';

function loaderFor (context) {
  const didKey = didKeyDriver();
  didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  const loader = new JsonLdDocumentLoader();
  loader.addStatic(OSP_CONTEXT, context);
  // offline: our pinned context, and did:key documents computed from the key itself
  return async url => {
    if (url.startsWith('did:key:')) {
      const document = await didKey.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    return loader.build()(url);
  };
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const documentLoader = loaderFor(req.context);

if (req.op === 'expand') {
  // safe mode: a term the context does not define (or any other lossy step) is an error
  try {
    const expanded = await jsonld.expand(req.record, {documentLoader, safe: true});
    process.stdout.write(JSON.stringify({expanded, error: null}));
  } catch (e) {
    process.stdout.write(JSON.stringify({expanded: null, error: String(e?.message ?? e) + ' ' + JSON.stringify(e?.details ?? {}).slice(0, 500)}));
  }
} else if (req.op === 'sign') {
  const seed = Uint8Array.from(Buffer.from(req.seed, 'hex'));
  const keyPair = await Ed25519Multikey.generate({seed});
  const did = 'did:key:' + keyPair.publicKeyMultibase;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: createSignCryptosuite(), date: req.created});
  const signed = await jsigs.sign(req.record, {suite, purpose: new AssertionProofPurpose(), documentLoader});
  process.stdout.write(JSON.stringify({signed}));
} else {
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await jsigs.verify(req.record, {suite, purpose: new AssertionProofPurpose(), documentLoader});
  const error = result.verified ? null : String(result.error?.errors?.[0]?.message ?? result.error?.message ?? result.error);
  process.stdout.write(JSON.stringify({verified: result.verified, error}));
}
