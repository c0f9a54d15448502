// The committed default guest (guest/images, built by guest/build.sh) and its command line.
import { asset } from "../platform/mod.ts";
const GUEST_IMAGES = asset(new URL("../../guest/images/", import.meta.url), "guest/");
export const DEFAULT_KERNEL = new URL("bzImage", GUEST_IMAGES).pathname;
export const DEFAULT_INITRD = new URL("initramfs.cpio.gz", GUEST_IMAGES).pathname;
// tsc=reliable: ring3's TSC is the host's monotonic clock at a constant 1 GHz, kept in step
// across vCPUs, so Linux need not check it against jiffies, which a vCPU thread the host
// deschedules during boot can make run slow and so get a good TSC declared unstable.
export const DEFAULT_APPEND = "console=ttyS0 tsc=reliable";
