// Writes a Results object to latest.{json,md,svg} and, for the project's own results folder,
// into README.md between the race markers.
import { ROOT } from "./peers.ts";
import { type Results, toJson, toMarkdown, toSvg } from "./report.ts";

export const RESULTS_DIR = `${ROOT}bench/results`;
export const README_BEGIN = "<!-- race:begin (written by deno task bench:race) -->";
export const README_END = "<!-- race:end -->";

// The README text with the section between the markers replaced (unchanged without markers).
export function withReadmeSection(readme: string, md: string): string {
  const i = readme.indexOf(README_BEGIN), j = readme.indexOf(README_END);
  if (i < 0 || j < i) return readme;
  const body = `${README_BEGIN}\n${md}\n![time ratios](bench/results/latest.svg)\n${README_END}`;
  return readme.slice(0, i) + body + readme.slice(j + README_END.length);
}

export async function writeResults(r: Results, outDir: string, readme: boolean): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const md = toMarkdown(r);
  await Deno.writeTextFile(`${outDir}/latest.json`, toJson(r));
  await Deno.writeTextFile(`${outDir}/latest.md`, md);
  await Deno.writeTextFile(`${outDir}/latest.svg`, toSvg(r));
  if (readme && outDir.replace(/\/$/, "") === RESULTS_DIR) {
    const path = `${ROOT}README.md`;
    const old = await Deno.readTextFile(path);
    const now = withReadmeSection(old, md);
    if (now !== old) await Deno.writeTextFile(path, now);
  }
  return md;
}
