import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { TeamsManifest } from './build';
import { ManifestValidationError } from './manifestSchema';

// The two icons a Teams app package holds, checked for size and transparency before they are zipped.

/** Icon file name (as written in the template's `icons`) → required size. */
const ICON_SIZES = { color: 192, outline: 32 } as const;

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Colour type with alpha (4, 6) or a tRNS chunk. */
  hasTransparency: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads size and colour type from a PNG's IHDR chunk (and looks for tRNS before the image data). */
export function readPngInfo(png: Buffer): PngInfo {
  if (
    png.length < 33 ||
    !png.subarray(0, 8).equals(PNG_SIGNATURE) ||
    png.toString('ascii', 12, 16) !== 'IHDR'
  ) {
    throw new Error('not a PNG file');
  }
  const info = {
    width: png.readUInt32BE(16),
    height: png.readUInt32BE(20),
    bitDepth: png.readUInt8(24),
    colorType: png.readUInt8(25),
    hasTransparency: false,
  };
  info.hasTransparency = info.colorType === 4 || info.colorType === 6;
  for (let offset = 8; offset + 8 <= png.length && !info.hasTransparency;) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    if (type === 'tRNS') info.hasTransparency = true;
    if (type === 'IDAT' || type === 'IEND') break;
    offset += 12 + length;
  }
  return info;
}

/** Loads the icons the manifest names (from `dir`) and checks their sizes; throws listing problems. */
export function loadIcons(manifest: TeamsManifest, dir: string): Map<string, Buffer> {
  const problems: string[] = [];
  const files = new Map<string, Buffer>();
  for (const [kind, size] of Object.entries(ICON_SIZES) as [keyof typeof ICON_SIZES, number][]) {
    const name = manifest.icons[kind];
    if (path.basename(name) !== name) {
      problems.push(`/icons/${kind} must be a file name at the package root, got "${name}"`);
      continue;
    }
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      problems.push(`/icons/${kind}: ${file} does not exist`);
      continue;
    }
    const png = readFileSync(file);
    let info: PngInfo;
    try {
      info = readPngInfo(png);
    } catch {
      problems.push(`/icons/${kind}: ${name} is not a PNG file`);
      continue;
    }
    if (info.width !== size || info.height !== size) {
      problems.push(
        `/icons/${kind}: ${name} must be ${size}x${size} pixels, is ${info.width}x${info.height}`,
      );
    }
    if (kind === 'outline' && !info.hasTransparency) {
      problems.push(`/icons/outline: ${name} must be white on a transparent background (no alpha channel)`);
    }
    files.set(name, png);
  }
  if (problems.length > 0) throw new ManifestValidationError(problems);
  return files;
}
