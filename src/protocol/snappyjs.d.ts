// Declarations for the two snappyjs modules snappy.ts imports directly (snappyjs ships no types; Deno
// treats untyped npm modules as `any`, tsc does not). Used by the npm build (tsconfig.npm.json).
declare module "snappyjs/snappy_compressor.js" {
  export class SnappyCompressor {
    constructor(uncompressed: Uint8Array);
    maxCompressedLength(): number;
    compressToBuffer(out: Uint8Array): number;
  }
}
declare module "snappyjs/snappy_decompressor.js" {
  export class SnappyDecompressor {
    constructor(compressed: Uint8Array);
    readUncompressedLength(): number;
    uncompressToBuffer(out: Uint8Array): boolean;
  }
}
