// ring3's exit statuses (README, "Set up and use"; --help says the same): what a harness can act on.
export const EXIT_OK = 0; // the guest powered off, halted after printing, or reset under --no-reboot
export const EXIT_BOOT_FAILED = 1; // a file could not be used, or the guest halted before printing
export const EXIT_USAGE = 2; // a bad command line
export const EXIT_PANIC = 3; // the guest kernel panicked (pvpanic)
export const EXIT_TRIPLE_FAULT = 4; // under --no-reboot
// ended by a signal: 128 + its number, the terminal restored first
export const EXIT_SIGNAL = { SIGTERM: 143, SIGHUP: 129, SIGINT: 130 } as const;

// Output to a closed pipe (`deno task boot | head`): end quietly, as a Unix filter would.
export class BrokenPipe extends Error {
  override name = "BrokenPipe";
}
export const EXIT_BROKEN_PIPE = 141; // 128 + SIGPIPE, what a shell reports for a filter cut short
