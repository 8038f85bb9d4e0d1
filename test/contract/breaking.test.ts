/**
 * `npm run lint:breaking` compares the proto module with test/contract/released.binpb. These tests
 * run the same buf breaking command in a scratch copy of the workspace, with and without
 * incompatible edits, so the repository tree is never changed.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { REPOSITORY_ROOT, runBuf } from "./buf-cli";

const RELEASED_IMAGE = path.join(REPOSITORY_ROOT, "test/contract/released.binpb");
const SERVICE_PROTO = "proto/coordinator/v1/coordinator_jobs_service.proto";
const JOB_PROTO = "proto/coordinator/v1/job.proto";

let workspace: string;

/** Copies the buf workspace, vendors the Google protos into it as the npm scripts do, and returns its path. */
function copyWorkspace(): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), "breaking-"));
  for (const entry of ["buf.yaml", "proto", "third_party_proto", "scripts/vendor-protos.sh"]) {
    mkdirSync(path.dirname(path.join(directory, entry)), { recursive: true });
    cpSync(path.join(REPOSITORY_ROOT, entry), path.join(directory, entry), { recursive: true });
  }
  symlinkSync(path.join(REPOSITORY_ROOT, "node_modules"), path.join(directory, "node_modules"));
  execFileSync(path.join(directory, "scripts/vendor-protos.sh"));
  return directory;
}

/** Replaces `from` with `to` in a file of the scratch workspace. Fails the test when `from` is missing. */
function edit(file: string, from: string, to: string): void {
  const target = path.join(workspace, file);
  const text = readFileSync(target, "utf8");
  expect(text).toContain(from);
  writeFileSync(target, text.replace(from, to));
}

const breaking = () => runBuf(["breaking", "proto", "--against", RELEASED_IMAGE], { cwd: workspace });

beforeEach(() => {
  workspace = copyWorkspace();
});

afterEach(() => {
  rmSync(workspace, { recursive: true, force: true });
});

test("current contract matches the released image", async () => {
  const result = await breaking();
  expect(result.stdout).toBe("");
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
});

test("comment change is compatible", async () => {
  edit(JOB_PROTO, "// A unit of agent work and its current state.", "// One unit of agent work.");
  const result = await breaking();
  expect(result.stdout).toBe("");
  expect(result.code).toBe(0);
});

test("renamed field fails with buf's message", async () => {
  edit(SERVICE_PROTO, "  string request_id = 1;\n  // What the runner does", "  string idempotency_key = 1;\n  // What the runner does");
  const result = await breaking();
  expect(result.code).toBe(100);
  expect(result.stdout).toContain(`${SERVICE_PROTO}:`);
  expect(result.stdout).toContain('Field "1" on message "CreateJobRequest" changed name from "request_id" to "idempotency_key".');
});

test("deleted field fails", async () => {
  edit(JOB_PROTO, "  // Forge delivery id of the webhook.\n  string delivery_id = 8;\n", "");
  const result = await breaking();
  expect(result.code).toBe(100);
  expect(result.stdout).toContain('Previously present field "8" with name "delivery_id" on message "JobSource" was deleted.');
});

test("changed field type fails", async () => {
  edit(JOB_PROTO, "  int32 progress_percent = 7;", "  string progress_percent = 7;");
  const result = await breaking();
  expect(result.code).toBe(100);
  expect(result.stdout).toContain('Field "7" with name "progress_percent" on message "Job" changed type from "int32" to "string".');
});

test("released image holds the contract and its imports", () => {
  const image = fromBinary(FileDescriptorSetSchema, readFileSync(RELEASED_IMAGE));
  expect(image.file.map((file) => file.name).sort()).toEqual([
    "coordinator/v1/coordinator_jobs_service.proto",
    "coordinator/v1/job.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
  ]);
  expect(image.file.filter((file) => file.sourceCodeInfo !== undefined)).toEqual([]);
});
