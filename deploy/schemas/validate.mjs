// Validates Strimzi custom resources against the operator's CRD schemas (Strimzi 0.49.0, compiled
// into validators by @kubernetes-models/strimzi-kafka-operator, pinned in package-lock.json).
// Reads a JSON array of objects on stdin; prints a JSON array of {kind, name, error} for the
// invalid ones (empty when all are valid) and exits 1 when one is invalid or of an unknown kind.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
for (const object of objects) {
  const [group, version] = object.apiVersion.split("/");
  const name = object.metadata?.name ?? "";
  let Model;
  try {
    const module = await import(`@kubernetes-models/strimzi-kafka-operator/${group}/${version}/${object.kind}`);
    Model = module[object.kind];
  } catch (error) {
    problems.push({ kind: object.kind, name, error: `no schema for ${object.apiVersion} ${object.kind}` });
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push({ kind: object.kind, name, error: String(error.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(problems) + "\n");
process.exit(problems.length ? 1 : 0);
