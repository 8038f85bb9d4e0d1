/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time and
 * the packages or source folders that time falls in. Idle time is left out of the percentages.
 *
 * Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds between consecutive samples. Entry i is the gap before sample i. */
  timeDeltas: number[];
}

/** Names the package a script belongs to, or its folder inside the project. */
function areaOf(url: string, root: string): string {
  if (url === "") return "(V8 and native)";
  if (url.startsWith("node:")) return "node: built-ins";
  const file = url.startsWith("file://") ? new URL(url).pathname : url;
  const modules = file.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = file.slice(modules + "/node_modules/".length).split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const relative = path.relative(root, file);
  return relative.startsWith("..") ? file : path.dirname(relative);
}

function shortLocation(url: string, line: number, root: string): string {
  if (url === "") return "";
  const file = url.startsWith("file://") ? new URL(url).pathname : url;
  const modules = file.lastIndexOf("/node_modules/");
  const relativePath = modules >= 0 ? file.slice(modules + "/node_modules/".length) : path.relative(root, file);
  return `${relativePath}:${line + 1}`;
}

function addTo(totals: Map<string, number>, key: string, micros: number): void {
  totals.set(key, (totals.get(key) ?? 0) + micros);
}

function topEntries(totals: Map<string, number>, count: number): Array<[string, number]> {
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

/** Returns the summary as text: sampled time, then the top functions and areas by self time. */
export function summarizeProfile(file: string, top = 25, root = process.cwd()): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  let total = 0;

  for (let i = 0; i < profile.samples.length; i += 1) {
    // A sample covers the time until the next one, so the last sample counts 0.
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const node = nodes.get(profile.samples[i]);
    if (!node) continue;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idle += micros;
      continue;
    }
    const name = functionName === "" ? "(anonymous)" : functionName;
    const location = shortLocation(url, lineNumber, root);
    addTo(byFunction, location === "" ? name : `${name}  ${location}`, micros);
    addTo(byArea, name.startsWith("(") && url === "" ? name : areaOf(url, root), micros);
  }

  const busy = total - idle;
  const percent = (micros: number) => `${((micros / busy) * 100).toFixed(1).padStart(5)}%`;
  const milliseconds = (micros: number) => `${(micros / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [
    `profile ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%)`,
    "",
    `top ${top} functions by self time (share of busy time):`,
    ...topEntries(byFunction, top).map(([name, micros]) => `${percent(micros)} ${milliseconds(micros)}  ${name}`),
    "",
    "self time by package or folder:",
    ...topEntries(byArea, 20).map(([name, micros]) => `${percent(micros)} ${milliseconds(micros)}  ${name}`),
  ];
  return lines.join("\n");
}

if (require.main === module) {
  const [file, topArgument] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]\n");
    process.exit(2);
  }
  const top = topArgument === undefined ? 25 : Number(topArgument);
  if (!Number.isInteger(top) || top < 1) {
    process.stderr.write(`invalid TOP "${topArgument}": expected a positive integer\n`);
    process.exit(2);
  }
  process.stdout.write(`${summarizeProfile(file, top)}\n`);
}
