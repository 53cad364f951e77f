/**
 * Applies INSTALL_MASK to a built image as Portage's install_mask_dir does:
 * matching files and links go, then matching directories left empty.
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { installMaskMatch } from '../formats/install-mask.js';

/** Returns the image paths removed (relative, `/`-separated). */
export async function applyInstallMask(image: string, mask: string): Promise<string[]> {
  if (mask.trim() === '') return [];
  const removed: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(image, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(image, r));
      if (st.isDirectory()) {
        await walk(r);
        if (installMaskMatch(mask, `${r}/`) && (await readdir(join(image, r))).length === 0) {
          await rmdir(join(image, r));
          removed.push(`${r}/`);
        }
      } else if (installMaskMatch(mask, r)) {
        await rm(join(image, r));
        removed.push(r);
      }
    }
  };
  await walk('');
  return removed;
}
