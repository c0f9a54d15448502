// Command-line parsing with the interface and behaviour of Node's util.parseArgs, for the part
// ring3 uses: long and short options, string and boolean types, `multiple`, strict mode, no
// positionals. ring3's own code rather than node:util, because under Deno importing node:util
// costs several ms of every start (a restore in a new process has ~150 ms: README, "Snapshots").
// tests/platform/args_test.ts checks it against node:util's parseArgs on the same arguments.

export interface ArgOption {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[]; // the value when the option is not given
}

export interface ParseArgsConfig {
  args: string[];
  options: Record<string, ArgOption>;
  strict?: boolean; // (only strict parsing is implemented: unknown options are errors)
  allowPositionals?: boolean;
}

type Value<T extends ArgOption> = T["type"] extends "string" ? (T["multiple"] extends true ? string[] : string)
  : (T["multiple"] extends true ? boolean[] : boolean);
type Values<O extends Record<string, ArgOption>> =
  & { [K in keyof O as O[K] extends { default: unknown } ? never : K]?: Value<O[K]> }
  & { [K in keyof O as O[K] extends { default: unknown } ? K : never]: Value<O[K]> };

// The errors carry Node's codes and message shapes (callers shorten them by code).
export class ParseArgsError extends TypeError {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function parseArgs<C extends ParseArgsConfig>(
  config: C,
): { values: Values<C["options"]>; positionals: string[] } {
  const { args, options } = config;
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);

  const positional = (arg: string) => {
    if (!config.allowPositionals) {
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
    positionals.push(arg);
  };
  const unknown = (spelled: string): never => {
    throw new ParseArgsError(
      "ERR_PARSE_ARGS_UNKNOWN_OPTION",
      `Unknown option '${spelled}'` +
        (config.allowPositionals
          ? `. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${
            JSON.stringify(spelled)
          }`
          : ""),
    );
  };
  const store = (name: string, value: string | boolean) => {
    if (options[name].multiple) ((values[name] ??= []) as (string | boolean)[]).push(value);
    else values[name] = value;
  };
  // a string option's value from the next argument (`raw`: the option as spelled)
  const takeNext = (name: string, i: number, raw: string): string => {
    const o = options[name];
    const label = o.short ? `-${o.short}, --${name}` : `--${name}`;
    if (i + 1 >= args.length) {
      throw new ParseArgsError("ERR_PARSE_ARGS_INVALID_OPTION_VALUE", `Option '${label} <value>' argument missing`);
    }
    const v = args[i + 1];
    if (v.length > 1 && v[0] === "-") {
      const example = raw.startsWith("--") ? `'${raw}=-XYZ'` : `'--${name}=-XYZ' or '${raw}-XYZ'`;
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${raw}' argument is ambiguous.\nDid you forget to specify the option argument for '${raw}'?\nTo specify an option argument starting with a dash use ${example}.`,
      );
    }
    return v;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      for (const rest of args.slice(i + 1)) positional(rest);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const o = Object.hasOwn(options, name) ? options[name] : undefined;
      if (!o) unknown(eq < 0 ? arg : arg.slice(0, eq));
      if (eq >= 0) {
        if (o!.type === "boolean") {
          const label = o!.short ? `-${o!.short}, --${name}` : `--${name}`;
          throw new ParseArgsError(
            "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
            `Option '${label}' does not take an argument`,
          );
        }
        store(name, arg.slice(eq + 1));
      } else if (o!.type === "string") {
        store(name, takeNext(name, i, arg));
        i++;
      } else {
        store(name, true);
      }
      continue;
    }
    if (arg.length > 1 && arg[0] === "-") {
      // -x, -xVALUE (x a string option), -abc (booleans a, b, c), -abxVALUE
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j];
        const name = byShort.get(ch);
        if (name === undefined) unknown(`-${ch}`);
        const o = options[name!];
        if (o.type === "boolean") {
          store(name!, true);
          continue;
        }
        if (j + 1 < arg.length) {
          store(name!, arg.slice(j + 1)); // -m256, -hm256: the rest of the argument is the value
          break;
        }
        store(name!, takeNext(name!, i, `-${ch}`));
        i++;
        break;
      }
      continue;
    }
    positional(arg);
  }
  for (const [name, o] of Object.entries(options)) {
    if (o.default !== undefined && !(name in values)) values[name] = o.default;
  }
  return { values: values as Values<C["options"]>, positionals };
}
