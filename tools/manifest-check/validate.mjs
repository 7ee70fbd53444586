#!/usr/bin/env node
// Validates Kubernetes manifests against the API's OpenAPI schemas, as shipped (compiled to
// JavaScript validators) by the kubernetes-models package.
//
//   kubectl kustomize k8s/base | node tools/manifest-check/validate.mjs [--source NAME]
//
// Reads a multi-document YAML stream on stdin. For every document it
//   1. finds the model for its apiVersion/kind (kubernetes-models/<apiVersion>/<Kind>);
//      an unknown apiVersion/kind is a problem;
//   2. runs the model's validate(): types, enums, required fields, formats;
//   3. runs a strict pass for unknown fields, which the schemas do not reject (they carry
//      no additionalProperties: false, so `replicass: 3` or `readinesProbe:` pass step 2
//      and the API server would drop or refuse them). The compiled validator reads every
//      property its schema declares (`data.x === undefined || validate(data.x)`), and
//      reads every entry of a map whose values it validates (labels, annotations, data).
//      Run over a Proxy that records those reads, it tells for each object which keys the
//      schema knows: a key never read is not in the schema. An object of which the
//      validator read nothing has no declared properties (a free-form object, e.g.
//      x-kubernetes-preserve-unknown-fields) and is not checked.
//   Also refused: API versions that Kubernetes no longer serves (the package still has them).
//
// Prints one line per problem, `SOURCE KIND/NAME: PATH: MESSAGE`, and exits 1 if there is
// any; otherwise prints `manifest-check: N documents valid` and exits 0.

import { readFileSync } from "node:fs";
import yaml from "js-yaml";

function parseArgs(argv) {
  let source = "stdin";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--source" && i + 1 < argv.length) {
      source = argv[++i];
    } else if (argv[i].startsWith("--source=")) {
      source = argv[i].slice("--source=".length);
    } else {
      process.stderr.write(
        `manifest-check: unknown argument ${argv[i]}\n` +
          "usage: kubectl kustomize DIR | node validate.mjs [--source NAME]\n",
      );
      process.exit(2);
    }
  }
  return { source };
}

// JSON pointer (/spec/template/spec/containers/0/name) to .spec.template.spec.containers[0].name
function pointerToPath(pointer) {
  if (!pointer) return ".";
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join("");
}

function childPath(path, key) {
  return typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`;
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// kubernetes-models keeps the schemas of API versions that Kubernetes has since stopped
// serving (apps/v1beta1 Deployment validates fine), so those are refused here. From the
// Kubernetes "Deprecated API Migration Guide": group/version -> [removed in, kinds] (null:
// every kind of that group/version).
const REMOVED_API_VERSIONS = {
  "extensions/v1beta1": ["1.22", null],
  "apps/v1beta1": ["1.16", null],
  "apps/v1beta2": ["1.16", null],
  "admissionregistration.k8s.io/v1beta1": ["1.22", ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]],
  "apiextensions.k8s.io/v1beta1": ["1.22", null],
  "apiregistration.k8s.io/v1beta1": ["1.22", null],
  "authentication.k8s.io/v1beta1": ["1.22", ["TokenReview"]],
  "authorization.k8s.io/v1beta1": ["1.22", null],
  "certificates.k8s.io/v1beta1": ["1.22", ["CertificateSigningRequest"]],
  "coordination.k8s.io/v1beta1": ["1.22", null],
  "networking.k8s.io/v1beta1": ["1.22", ["Ingress", "IngressClass"]],
  "rbac.authorization.k8s.io/v1beta1": ["1.22", null],
  "scheduling.k8s.io/v1beta1": ["1.22", null],
  "storage.k8s.io/v1beta1": ["1.22", ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"]],
  "batch/v1beta1": ["1.25", null],
  "discovery.k8s.io/v1beta1": ["1.25", null],
  "events.k8s.io/v1beta1": ["1.25", null],
  "autoscaling/v2beta1": ["1.25", null],
  "policy/v1beta1": ["1.25", null],
  "node.k8s.io/v1beta1": ["1.25", null],
  "autoscaling/v2beta2": ["1.26", null],
  "flowcontrol.apiserver.k8s.io/v1beta1": ["1.26", null],
  "flowcontrol.apiserver.k8s.io/v1beta2": ["1.29", null],
  "flowcontrol.apiserver.k8s.io/v1beta3": ["1.32", null],
};
const STORAGE_V1BETA1_CSISTORAGECAPACITY_REMOVED = "1.27";

function removedIn(apiVersion, kind) {
  if (apiVersion === "storage.k8s.io/v1beta1" && kind === "CSIStorageCapacity") {
    return STORAGE_V1BETA1_CSISTORAGECAPACITY_REMOVED;
  }
  const entry = REMOVED_API_VERSIONS[apiVersion];
  if (!entry) return null;
  const [release, kinds] = entry;
  return kinds === null || kinds.includes(kind) ? release : null;
}

// Loads the model class for apiVersion/kind, or returns an error message.
async function loadModel(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return { error: "apiVersion and kind must both be set (strings)" };
  }
  // Keep the import specifier to the package's own layout (no "..", no odd characters).
  if (!/^([a-z0-9][a-z0-9.-]*\/)?v[0-9]+[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    return { error: `unknown apiVersion/kind ${apiVersion}/${kind}` };
  }
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch (err) {
    if (err && (err.code === "ERR_MODULE_NOT_FOUND" || err.code === "ERR_PACKAGE_PATH_NOT_EXPORTED")) {
      return { error: `unknown apiVersion/kind ${apiVersion}/${kind} (no schema in kubernetes-models)` };
    }
    throw err;
  }
  const release = removedIn(apiVersion, kind);
  if (release) {
    return { error: `${apiVersion} ${kind} is no longer served since Kubernetes ${release}` };
  }
  const Model = module[kind];
  if (typeof Model !== "function" || Model.apiVersion !== apiVersion || Model.kind !== kind) {
    return { error: `unknown apiVersion/kind ${apiVersion}/${kind}` };
  }
  return { Model };
}

// Step 2: the model's own validation. Returns [{path, message}].
function schemaProblems(Model, doc) {
  try {
    new Model(doc).validate();
    return [];
  } catch (err) {
    if (!err || !Array.isArray(err.errors)) throw err;
    const seen = new Set();
    const problems = [];
    for (const e of err.errors) {
      let message = e.message || e.keyword;
      if (e.keyword === "enum" && e.params && Array.isArray(e.params.allowedValues)) {
        message += `: ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
      }
      const problem = { path: pointerToPath(e.instancePath), message };
      const key = `${problem.path}\0${problem.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(problem);
      }
    }
    return problems;
  }
}

// Step 3: unknown fields. Runs the model's compiled validator over a recording Proxy.
function unknownFieldProblems(Model, doc) {
  const reads = new WeakMap(); // target object -> Set of property names the validator read
  const proxies = new WeakMap(); // target -> its proxy (one per object, so reads add up)

  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    let proxy = proxies.get(value);
    if (proxy) return proxy;
    if (!Array.isArray(value)) reads.set(value, new Set());
    proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string" && !Array.isArray(target)) reads.get(target).add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string" && !Array.isArray(target)) reads.get(target).add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };

  try {
    // validate() runs the compiled schema validator on `this`: here, the recording proxy.
    Model.prototype.validate.call(wrap(doc));
  } catch (err) {
    if (!err || !Array.isArray(err.errors)) throw err;
    // Schema errors were reported by step 2; the validator still visited every property.
  }

  const problems = [];
  const walk = (value, path) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, childPath(path, i)));
      return;
    }
    if (!isPlainObject(value)) return;
    const known = reads.get(value);
    // Never visited (only below an unknown field, reported already), or a free-form object.
    if (!known || known.size === 0) return;
    for (const key of Object.keys(value)) {
      // OpenAPI extensions in a CustomResourceDefinition's schema: kubernetes-models'
      // JSONSchemaProps leaves them out, the API server knows them.
      if (key.startsWith("x-kubernetes-")) continue;
      if (!known.has(key)) {
        problems.push({ path: childPath(path, key), message: "unknown field (not in the schema)" });
      } else {
        walk(value[key], childPath(path, key));
      }
    }
  };
  walk(doc, "");
  return problems;
}

async function main() {
  const { source } = parseArgs(process.argv.slice(2));
  const text = readFileSync(0, "utf8");
  let docs;
  try {
    docs = yaml.loadAll(text).filter((doc) => doc !== null && doc !== undefined);
  } catch (err) {
    console.log(`${source}: YAML: ${err.message.split("\n")[0]}`);
    return 1;
  }
  if (docs.length === 0) {
    console.log(`${source}: no documents on stdin`);
    return 1;
  }

  let problemCount = 0;
  let badDocs = 0;
  for (const [index, doc] of docs.entries()) {
    const kind = isPlainObject(doc) && typeof doc.kind === "string" ? doc.kind : "?";
    const name =
      isPlainObject(doc) && isPlainObject(doc.metadata) && typeof doc.metadata.name === "string"
        ? doc.metadata.name
        : `#${index + 1}`;
    const where = `${source} ${kind}/${name}`;
    let problems;
    if (!isPlainObject(doc)) {
      problems = [{ path: ".", message: "document is not a mapping" }];
    } else {
      const { Model, error } = await loadModel(doc.apiVersion, doc.kind);
      problems = error
        ? [{ path: ".", message: error }]
        : [...schemaProblems(Model, doc), ...unknownFieldProblems(Model, doc)];
    }
    for (const p of problems) console.log(`${where}: ${p.path}: ${p.message}`);
    problemCount += problems.length;
    if (problems.length > 0) badDocs++;
  }

  if (problemCount > 0) {
    console.log(`manifest-check: ${problemCount} problem(s) in ${badDocs} of ${docs.length} documents`);
    return 1;
  }
  console.log(`manifest-check: ${docs.length} documents valid`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`manifest-check: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);
