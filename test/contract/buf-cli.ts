/** Runs the buf CLI from node_modules, as `npx buf` would, and collects its output. */
import { execFile } from "node:child_process";
import path from "node:path";

export const BUF = path.resolve(__dirname, "../../node_modules/.bin/buf");
export const REPOSITORY_ROOT = path.resolve(__dirname, "../..");

export interface BufResult {
  /** The exit code; 0 on success. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `buf ARGS...` in `cwd` (the repository root by default); never rejects on a non-zero exit. */
export function runBuf(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<BufResult> {
  return new Promise((resolve, reject) => {
    execFile(
      BUF,
      args,
      { cwd: options.cwd ?? REPOSITORY_ROOT, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs `buf curl` with the given protocol flags against `url`, sending `body` as JSON when given. */
export function bufCurl(url: string, flags: string[], body?: unknown): Promise<BufResult> {
  const args = ["curl", ...flags];
  if (body !== undefined) args.push("--data", JSON.stringify(body));
  args.push(url);
  return runBuf(args);
}
