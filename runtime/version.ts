// ring3's version: the snapshot format has its own (runtime/snapshot/snapshot.ts SNAPSHOT_VERSION).
export const RING3_VERSION = "0.7.0";
